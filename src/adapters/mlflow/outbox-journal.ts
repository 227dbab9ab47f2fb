import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { RunHandle } from './backend.js';
import { blobOf, parseJournalLine, refsOf, type JournalLine, type OutboxOp } from './outbox-ops.js';
import { readOptionalText } from '../fs/read-optional.js';
import { hasErrno, isMissing } from '../../core/errno.js';

/**
 * The outbox on disk (`.dvc/tmp/reprod/mlflow-outbox/`):
 *
 *   journal-<pid>.jsonl   one process's journal: `{"seq","op"}` lines, then
 *                         `{"ack"[,"ids"]}` / `{"dead","error"}` lines as ops are
 *                         delivered or rejected; fsynced before a call returns
 *   blobs/<sha256>        artifact bytes as they were when logged
 *   rejected.jsonl        ops the server refused for good, with its answer
 *
 * A journal is rewritten (atomically) to its pending ops when it has drained
 * or grown long. A journal whose process is gone (a crash, a restart) is
 * adopted by the next process that opens the outbox: its pending ops are
 * appended to the new journal, in order, and the old file removed. A torn
 * last line (a crash mid-write) is ignored; other unreadable lines are
 * counted and reported, never silently dropped.
 */

export interface JournalRecord {
  seq: number;
  op: OutboxOp;
}

export interface JournalState {
  pending: JournalRecord[];
  ids: Map<string, RunHandle>;
  /** Lines that could not be read (not counting a torn last line). */
  unreadable: number;
  /** Journals of other processes taken over. */
  adopted: string[];
}

const JOURNAL_RE = /^journal-(\d+)\.jsonl$/;
/** A blob no journal names is removed once it is this old (a live process may be about to name it). */
const BLOB_GRACE_MS = 3_600_000;
const COMPACT_AFTER_LINES = 2_000;

function isAliveDefault(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return hasErrno(e, 'EPERM');
  }
}


/** Replays a journal's lines: what is still pending and the ids learnt. */
export function replay(text: string): JournalState {
  const ops = new Map<number, OutboxOp>();
  const ids = new Map<string, RunHandle>();
  let unreadable = 0;
  const lines = text.split('\n');
  const torn = text !== '' && !text.endsWith('\n');
  lines.forEach((raw, i) => {
    if (raw.trim() === '') return;
    const line = parseJournalLine(raw);
    if (!line) {
      if (!(torn && i === lines.length - 1)) unreadable++;
      return;
    }
    if ('op' in line) ops.set(line.seq, line.op);
    else if ('ack' in line) {
      ops.delete(line.ack);
      for (const [k, v] of Object.entries(line.ids ?? {})) ids.set(k, v);
    } else if ('dead' in line) ops.delete(line.dead);
    else for (const [k, v] of Object.entries(line.ids)) ids.set(k, v);
  });
  const pending = [...ops].sort(([a], [b]) => a - b).map(([seq, op]) => ({ seq, op }));
  return { pending, ids, unreadable, adopted: [] };
}

export class OutboxJournal {
  private fh: fs.FileHandle | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private lines = 0;

  private constructor(
    readonly dir: string,
    private readonly file: string,
  ) {}

  /** Opens this process's journal, taking over the journals of processes that are gone. */
  static async open(dir: string, pid: number, isAlive: (pid: number) => boolean = isAliveDefault): Promise<{ journal: OutboxJournal; state: JournalState }> {
    await fs.mkdir(path.join(dir, 'blobs'), { recursive: true });
    const own = `journal-${pid}.jsonl`;
    const journal = new OutboxJournal(dir, path.join(dir, own));
    const state = replay((await readOptionalText(journal.file)) ?? '');
    const names = (await fs.readdir(dir)).filter((n) => JOURNAL_RE.test(n)).sort();
    const referenced = new Set<string>();
    const toRemove: string[] = [];
    for (const name of names) {
      if (name === own) continue;
      const other = Number(JOURNAL_RE.exec(name)?.[1]);
      const text = (await readOptionalText(path.join(dir, name))) ?? '';
      const theirs = replay(text);
      if (isAlive(other)) {
        for (const r of theirs.pending) {
          const b = blobOf(r.op);
          if (b) referenced.add(b);
        }
        continue;
      }
      let seq = state.pending.reduce((m, r) => Math.max(m, r.seq), 0);
      for (const r of theirs.pending) state.pending.push({ seq: ++seq, op: r.op });
      for (const [k, v] of theirs.ids) if (!state.ids.has(k)) state.ids.set(k, v);
      state.unreadable += theirs.unreadable;
      state.adopted.push(name);
      toRemove.push(name);
    }
    // the new journal holds everything pending before the adopted files go
    await journal.compact(state.pending, state.ids);
    for (const name of toRemove) await fs.rm(path.join(dir, name), { force: true });
    for (const r of state.pending) {
      const b = blobOf(r.op);
      if (b) referenced.add(b);
    }
    await journal.collectBlobs(referenced);
    return { journal, state };
  }

  /** Removes blobs no pending op names (older than the grace period). */
  private async collectBlobs(referenced: ReadonlySet<string>): Promise<void> {
    const dir = path.join(this.dir, 'blobs');
    const now = Date.now();
    for (const name of await fs.readdir(dir)) {
      if (referenced.has(name)) continue;
      const st = await fs.stat(path.join(dir, name)).catch((e: unknown) => {
        if (isMissing(e)) return undefined;
        throw e;
      });
      if (st && now - st.mtimeMs > BLOB_GRACE_MS) await fs.rm(path.join(dir, name), { force: true });
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async handle(): Promise<fs.FileHandle> {
    if (!this.fh) this.fh = await fs.open(this.file, 'a', 0o600);
    return this.fh;
  }

  private write(line: JournalLine, sync: boolean): Promise<void> {
    return this.serial(async () => {
      const fh = await this.handle();
      await fh.write(`${JSON.stringify(line)}\n`);
      if (sync) await fh.datasync();
      this.lines++;
    });
  }

  /** Durable when it returns. */
  appendOp(rec: JournalRecord): Promise<void> {
    return this.write({ seq: rec.seq, op: rec.op }, true);
  }

  appendAck(seq: number, ids?: Record<string, RunHandle>): Promise<void> {
    return this.write(ids ? { ack: seq, ids } : { ack: seq }, true);
  }

  /** Sets an op aside for good: the journal forgets it, rejected.jsonl keeps it for people. */
  async appendDead(rec: JournalRecord, error: string, at: Date): Promise<void> {
    await fs.appendFile(path.join(this.dir, 'rejected.jsonl'), `${JSON.stringify({ at: at.toISOString(), error, op: rec.op })}\n`, { mode: 0o600 });
    await this.write({ dead: rec.seq, error }, true);
  }

  get needsCompaction(): boolean {
    return this.lines > COMPACT_AFTER_LINES;
  }

  /** Rewrites the journal to `pending` and the ids they need (atomic: a crash leaves the old or the new file). */
  compact(pending: readonly JournalRecord[], ids: ReadonlyMap<string, RunHandle>): Promise<void> {
    return this.serial(async () => {
      const needed: Record<string, RunHandle> = {};
      for (const r of pending) {
        for (const ref of refsOf(r.op)) {
          const h = ids.get(ref);
          if (h) needed[ref] = h;
        }
      }
      const lines: JournalLine[] = [];
      if (Object.keys(needed).length) lines.push({ ids: needed });
      for (const r of pending) lines.push({ seq: r.seq, op: r.op });
      const tmp = `${this.file}.${randomUUID()}.tmp`;
      const fh = await fs.open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await this.fh?.close();
      this.fh = undefined;
      await fs.rename(tmp, this.file);
      this.lines = lines.length;
    });
  }

  blobPath(sha: string): string {
    return path.join(this.dir, 'blobs', sha);
  }

  /** Copies a file into the outbox, named by the sha256 of the bytes copied, durably. */
  async putBlob(file: string): Promise<string> {
    const tmp = path.join(this.dir, 'blobs', `.${randomUUID()}.tmp`);
    try {
      await fs.copyFile(file, tmp);
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(tmp)) hash.update(chunk as Buffer);
      const sha = hash.digest('hex');
      const fh = await fs.open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fs.rename(tmp, this.blobPath(sha));
      return sha;
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async removeBlob(sha: string): Promise<void> {
    await fs.rm(this.blobPath(sha), { force: true });
  }

  async close(): Promise<void> {
    await this.serial(async () => {
      await this.fh?.close();
      this.fh = undefined;
    });
  }
}
