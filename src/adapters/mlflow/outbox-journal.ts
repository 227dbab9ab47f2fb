import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { RunHandle } from './backend.js';
import { blobOf, parseJournalLine, refsOf, type JournalLine, type OutboxOp } from './outbox-ops.js';
import { readOptionalText } from '../fs/read-optional.js';
import { hasErrno, isMissing } from '../../core/errno.js';
import { Flock } from '../fs/flock.js';
import { journalName, journalsIn, newJournalId, WriterLock } from './outbox-writers.js';
import { tempId } from '../../core/temp-id.js';
import { giveTo, workspaceOwner } from '../fs/file-owner.js';
import type { FileOwner } from '../../core/ports.js';

/**
 * The outbox on disk (`.dvc/tmp/reprod/mlflow-outbox/`):
 *
 *   journal-<id>.jsonl    one writer's journal: `{"seq","op"}` lines, then
 *                         `{"ack"[,"ids"]}` / `{"dead","error"}` lines as ops are
 *                         delivered or rejected; fsynced before a call returns
 *   journal-<id>.lock     its writer, flock(2)ed while it lives (outbox-writers.ts)
 *   blobs/<sha256>        artifact bytes as they were when logged
 *   rejected.jsonl        ops the server refused for good, with its answer
 *
 * A journal is rewritten (atomically) to its pending ops when it has drained
 * or grown long, headed by `{"ids","open"}`: the server ids of the runs the
 * pending ops name and of the runs still open (created, not yet finished),
 * which later ops (a stage's end, the pass's end, a nested run's creation)
 * will need, whichever process sends them. A journal whose writer is gone (a
 * crash, kill -9, a restart) is taken over by the next process that opens the
 * outbox: its pending ops are appended to the new journal, in order, its ids
 * and open runs carried over, and the old files removed; the runs it left
 * open are reported as `abandoned`, for the tracker to close. A torn last
 * line (a crash mid-write) is ignored; other unreadable lines are counted and
 * reported, never silently dropped.
 */

export interface JournalRecord {
  seq: number;
  op: OutboxOp;
}

/** A run a writer that is gone left open (created, never finished). */
export interface AbandonedRun {
  ref: string;
  /** Who wrote it (`process 12 on host abc`). */
  writer: string;
}

export interface JournalState {
  pending: JournalRecord[];
  ids: Map<string, RunHandle>;
  /** Runs created and not finished. */
  open: Set<string>;
  /** Lines that could not be read (not counting a torn last line). */
  unreadable: number;
  /** Journals of other processes taken over. */
  adopted: string[];
  /** The open runs of the journals taken over. */
  abandoned: AbandonedRun[];
}

export interface JournalOpenOptions {
  /** This writer, as its lock file names it. */
  pid: number;
  hostname: string;
  /** Whether a pid runs here: only for journals of older reprods, named by pid. */
  isAlive?: (pid: number) => boolean;
  flock?: Flock;
}

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

/** A journal's lines replayed. */
export interface Replayed {
  pending: JournalRecord[];
  ids: Map<string, RunHandle>;
  open: Set<string>;
  /** Ids of the journals this one took over (their files may have outlived a crash). */
  adopted: string[];
  unreadable: number;
}

/** Replays a journal's lines: what is still pending, the ids learnt, the runs left open. */
export function replay(text: string): Replayed {
  const ops = new Map<number, OutboxOp>();
  const ids = new Map<string, RunHandle>();
  const open = new Set<string>();
  const adopted: string[] = [];
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
    if ('op' in line) {
      ops.set(line.seq, line.op);
      trackOpen(open, line.op);
    } else if ('ack' in line) {
      ops.delete(line.ack);
      for (const [k, v] of Object.entries(line.ids ?? {})) ids.set(k, v);
    } else if ('dead' in line) {
      const op = ops.get(line.dead);
      if (op?.kind === 'createRun') open.delete(op.ref);
      ops.delete(line.dead);
    } else {
      for (const [k, v] of Object.entries(line.ids)) ids.set(k, v);
      for (const ref of line.open ?? []) open.add(ref);
      adopted.push(...(line.adopted ?? []));
    }
  });
  const pending = [...ops].sort(([a], [b]) => a - b).map(([seq, op]) => ({ seq, op }));
  return { pending, ids, open, adopted, unreadable };
}

/** A run opens with its createRun and closes with its finishRun, as journalled. */
function trackOpen(open: Set<string>, op: OutboxOp): void {
  if (op.kind === 'createRun') open.add(op.ref);
  else if (op.kind === 'finishRun') open.delete(op.ref);
}

export class OutboxJournal {
  private fh: fs.FileHandle | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private lines = 0;
  private readonly file: string;
  /** Runs created and not finished, as journalled (compaction keeps their ids). */
  private open = new Set<string>();
  /** Ids of the journals taken over (named in every compacted journal: see open). */
  private readonly adopted = new Set<string>();

  /** Whom the journal's files belong to: the outbox folder's owner, when reprod runs as root in another user's workspace. */
  private readonly owner: FileOwner | undefined;

  private constructor(
    readonly dir: string,
    private readonly lock: WriterLock,
  ) {
    this.file = path.join(dir, lock.name.journal);
    this.owner = workspaceOwner(dir);
  }

  /** Opens a new journal for this process, taking over the journals of writers that are gone. */
  static async open(dir: string, o: JournalOpenOptions): Promise<{ journal: OutboxJournal; state: JournalState }> {
    await fs.mkdir(path.join(dir, 'blobs'), { recursive: true });
    const flock = o.flock ?? new Flock();
    const isAlive = o.isAlive ?? isAliveDefault;
    const own = journalName(newJournalId());
    const journal = new OutboxJournal(dir, await WriterLock.create(dir, own, { pid: o.pid, hostname: o.hostname }, flock));
    const state: JournalState = { pending: [], ids: new Map(), open: new Set(), unreadable: 0, adopted: [], abandoned: [] };
    const referenced = new Set<string>();
    const claimed: { claim: WriterLock; text: string | undefined; theirs: Replayed }[] = [];
    // a process that took a journal over and died (or failed) before removing it: its copy counts, the original is dropped
    const superseded = new Set<string>();
    try {
      for (const name of journalsIn(await fs.readdir(dir))) {
        if (name.id === own.id) continue;
        const claim = await WriterLock.claim(dir, name, flock, isAlive);
        // read once claimed: a writer that is gone writes no more
        const text = await readOptionalText(path.join(dir, name.journal));
        const theirs = replay(text ?? '');
        for (const id of theirs.adopted) superseded.add(id);
        if (claim) {
          claimed.push({ claim, text, theirs });
          continue;
        }
        // a live writer's: its blobs stay
        for (const r of theirs.pending) {
          const b = blobOf(r.op);
          if (b) referenced.add(b);
        }
      }
      for (const { claim, text, theirs } of claimed) {
        journal.adopted.add(claim.name.id);
        if (superseded.has(claim.name.id)) continue;
        if (text !== undefined) state.adopted.push(claim.name.journal);
        let seq = state.pending.reduce((m, r) => Math.max(m, r.seq), 0);
        for (const r of theirs.pending) state.pending.push({ seq: ++seq, op: r.op });
        for (const [k, v] of theirs.ids) if (!state.ids.has(k)) state.ids.set(k, v);
        for (const ref of theirs.open) {
          // a run whose creation was neither delivered nor journalled (refused) does not exist to be closed
          if (!theirs.ids.has(ref) && !theirs.pending.some((r) => r.op.kind === 'createRun' && r.op.ref === ref)) continue;
          state.open.add(ref);
          state.abandoned.push({ ref, writer: claim.writer });
        }
        state.unreadable += theirs.unreadable;
      }
      journal.open = new Set(state.open);
      // the new journal holds everything pending (and names the journals it took over) before they go
      await journal.compact(state.pending, state.ids);
    } catch (e) {
      // nothing was removed: the journals claimed stay for the next process
      for (const c of claimed) await c.claim.release({ remove: false });
      await journal.close({ remove: true });
      throw e;
    }
    for (const c of claimed) await c.claim.release({ remove: true });
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
    if (!this.fh) {
      const fh = await fs.open(this.file, 'a', 0o600);
      if (this.owner) await fh.chown(this.owner.uid, this.owner.gid);
      this.fh = fh;
    }
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
    trackOpen(this.open, rec.op);
    return this.write({ seq: rec.seq, op: rec.op }, true);
  }

  /** Runs created and not finished, as journalled. */
  get openRuns(): ReadonlySet<string> {
    return this.open;
  }

  appendAck(seq: number, ids?: Record<string, RunHandle>): Promise<void> {
    return this.write(ids ? { ack: seq, ids } : { ack: seq }, true);
  }

  /** Sets an op aside for good: the journal forgets it, rejected.jsonl keeps it for people. */
  async appendDead(rec: JournalRecord, error: string, at: Date): Promise<void> {
    if (rec.op.kind === 'createRun') this.open.delete(rec.op.ref);
    await fs.appendFile(path.join(this.dir, 'rejected.jsonl'), `${JSON.stringify({ at: at.toISOString(), error, op: rec.op })}\n`, { mode: 0o600 });
    await this.write({ dead: rec.seq, error }, true);
  }

  get needsCompaction(): boolean {
    return this.lines > COMPACT_AFTER_LINES;
  }

  /**
   * Rewrites the journal to `pending`, the ids they and the open runs need,
   * and the open runs (atomic: a crash leaves the old or the new file).
   */
  compact(pending: readonly JournalRecord[], ids: ReadonlyMap<string, RunHandle>): Promise<void> {
    return this.serial(async () => {
      const needed: Record<string, RunHandle> = {};
      for (const ref of [...pending.flatMap((r) => refsOf(r.op)), ...this.open].sort()) {
        const h = ids.get(ref);
        if (h) needed[ref] = h;
      }
      const open = [...this.open].sort();
      const adopted = [...this.adopted].sort();
      const lines: JournalLine[] = [];
      if (Object.keys(needed).length || open.length || adopted.length) {
        lines.push({ ids: needed, ...(open.length ? { open } : {}), ...(adopted.length ? { adopted } : {}) });
      }
      for (const r of pending) lines.push({ seq: r.seq, op: r.op });
      const tmp = `${this.file}.${tempId()}.tmp`;
      const fh = await fs.open(tmp, 'w', 0o600);
      try {
        if (this.owner) await fh.chown(this.owner.uid, this.owner.gid);
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
  putBlob(file: string): Promise<string> {
    return this.storeBlob((tmp) => fs.copyFile(file, tmp));
  }

  /** Keeps `data` in the outbox as a blob (a file reprod derived, such as a logged MLmodel). */
  putBlobData(data: string): Promise<string> {
    return this.storeBlob((tmp) => fs.writeFile(tmp, data));
  }

  private async storeBlob(fill: (tmp: string) => Promise<void>): Promise<string> {
    const tmp = path.join(this.dir, 'blobs', `.${tempId()}.tmp`);
    try {
      await fill(tmp);
      await giveTo(this.owner, tmp);
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

  /**
   * Closes the journal and lets go of its lock: with `remove` (nothing is
   * pending and no run is open) its files go; otherwise they stay, for the
   * next process to take over.
   */
  async close(opts: { remove: boolean }): Promise<void> {
    await this.serial(async () => {
      await this.fh?.close();
      this.fh = undefined;
      await this.lock.release(opts);
    });
  }
}
