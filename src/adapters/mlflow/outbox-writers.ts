import { randomUUID } from 'node:crypto';
import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { hasErrno, isMissing } from '../../core/errno.js';
import { ReprodError } from '../../core/errors.js';
import { Flock, FlockUnavailable } from '../fs/flock.js';
import { tempId } from '../../core/temp-id.js';
import { workspaceOwner } from '../fs/file-owner.js';

/**
 * Who writes which outbox journal, and who may take one over.
 *
 *   journal-<32 hex>.jsonl   a writer's journal (the name is random: pids repeat
 *   journal-<32 hex>.lock    across containers and restarts); the lock file names
 *                            the writer (`{"pid","hostname"}`) and is flock(2)ed by it
 *                            for as long as it lives (see fs/flock.ts)
 *   journal-<pid>.jsonl      a journal of an older reprod, named by pid, without a lock
 *                            (until a process takes it over: then it gets one)
 *
 * A journal whose lock is free belongs to a writer that is gone (the kernel
 * drops a flock with its process, kill -9 included, whatever its pid
 * namespace). Taking it over means holding its lock: only one process can,
 * so no two processes deliver the same journal. A writer creates and locks
 * its lock file under a temporary name and links it into place, so that no
 * one ever finds it unlocked; a journal that has no lock file (an older
 * reprod's) gets one the same way, and `link` refuses a second. Whoever holds
 * a lock checks that its path still names the file it locked: a claimant
 * that finished removes the journal, then the lock file.
 */

const NEW_RE = /^journal-([0-9a-f]{32})\.jsonl$/;
const LOCK_RE = /^journal-([0-9a-f]{32})\.lock$/;
const LEGACY_RE = /^journal-(\d+)\.(?:jsonl|lock)$/;

/** A journal found in the outbox folder: its file names, and the pid an older reprod named it by. */
export interface JournalName {
  id: string;
  journal: string;
  lock: string;
  legacyPid?: number;
}

export function newJournalId(): string {
  return randomUUID().replace(/-/g, '');
}

export function journalName(id: string): JournalName {
  return { id, journal: `journal-${id}.jsonl`, lock: `journal-${id}.lock` };
}

/** The journals of a folder listing (a lock without its journal counts: its claimant may have been cut short), sorted. */
export function journalsIn(names: readonly string[]): JournalName[] {
  const out = new Map<string, JournalName>();
  for (const n of names) {
    const m = NEW_RE.exec(n) ?? LOCK_RE.exec(n);
    if (m?.[1]) out.set(m[1], journalName(m[1]));
    const legacy = LEGACY_RE.exec(n);
    if (legacy?.[1]) out.set(legacy[1], { ...journalName(legacy[1]), legacyPid: Number(legacy[1]) });
  }
  return [...out.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** A journal's lock, held by this process. */
export class WriterLock {
  private constructor(
    private readonly dir: string,
    readonly name: JournalName,
    private readonly fh: FileHandle,
    /** Who wrote the journal, in words (`process 12 on host abc`). */
    readonly writer: string,
  ) {}

  /** Creates and locks this process's journal lock. */
  static async create(dir: string, name: JournalName, who: { pid: number; hostname: string }, flock: Flock): Promise<WriterLock> {
    const fh = await lockedNew(dir, name.lock, `${JSON.stringify(who)}\n`, flock);
    if (!fh) throw new ReprodError('TRACKING', `the outbox lock ${name.lock} exists already`);
    return new WriterLock(dir, name, fh, describeWriter(who));
  }

  /**
   * Takes over the journal of a writer that is gone; undefined while its
   * writer lives (or another process took it first). An older reprod's
   * journal counts as gone when no process has its pid here (`isAlive`).
   */
  static async claim(dir: string, name: JournalName, flock: Flock, isAlive: (pid: number) => boolean): Promise<WriterLock | undefined> {
    const file = path.join(dir, name.lock);
    let fh = await openExisting(file);
    if (!fh) {
      // no lock file: an older reprod's journal (or one whose lock was removed by hand)
      if (name.legacyPid !== undefined && isAlive(name.legacyPid)) return undefined;
      fh = await lockedNew(dir, name.lock, `${JSON.stringify({ pid: name.legacyPid ?? null })}\n`, flock);
      if (fh) return new WriterLock(dir, name, fh, describeWriter({ pid: name.legacyPid }));
      fh = await openExisting(file);
      if (!fh) return undefined;
    }
    try {
      if ((await tryLock(flock, fh, name.lock)) === 'busy') return await closed(fh);
      // the lock is ours; is it still the one its path names (a claimant that finished removed it)?
      const [mine, there] = await Promise.all([fh.stat(), fs.stat(file).catch((e: unknown) => (isMissing(e) ? undefined : Promise.reject(e)))]);
      if (!there || there.ino !== mine.ino || there.dev !== mine.dev) return await closed(fh);
      const text = (await fh.readFile('utf8')).trim();
      return new WriterLock(dir, name, fh, describeWriter(parseWho(text) ?? { pid: name.legacyPid }));
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Lets go of the journal: with `remove`, its files go first (the journal, then the lock). */
  async release(opts: { remove: boolean }): Promise<void> {
    try {
      if (opts.remove) {
        await fs.rm(path.join(this.dir, this.name.journal), { force: true });
        await fs.rm(path.join(this.dir, this.name.lock), { force: true });
      }
    } finally {
      await this.fh.close();
    }
  }
}

/** `process 12 on host abc`, `process 12` (an older reprod's), `an earlier process`. */
function describeWriter(who: { pid?: number | null | undefined; hostname?: string | undefined }): string {
  if (typeof who.pid !== 'number') return 'an earlier process';
  return who.hostname ? `process ${who.pid} on host ${who.hostname}` : `process ${who.pid}`;
}

function parseWho(text: string): { pid?: number; hostname?: string } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    // a lock file cut short by a crash names no one; the journal is still taken over
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { pid, hostname } = v as { pid?: unknown; hostname?: unknown };
  return { ...(typeof pid === 'number' ? { pid } : {}), ...(typeof hostname === 'string' ? { hostname: hostname.slice(0, 128) } : {}) };
}

async function openExisting(file: string): Promise<FileHandle | undefined> {
  try {
    return await fs.open(file, constants.O_RDWR | constants.O_NOFOLLOW);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

async function closed(fh: FileHandle): Promise<undefined> {
  await fh.close();
  return undefined;
}

async function tryLock(flock: Flock, fh: FileHandle, what: string): Promise<'held' | 'busy'> {
  try {
    return await flock.tryLock(fh.fd);
  } catch (cause) {
    if (!(cause instanceof FlockUnavailable)) throw cause;
    throw new ReprodError('TRACKING', `cannot lock the outbox journal ${what}: ${cause.message}`, {
      cause,
      remedy: "Install util-linux's flock (or python3): the MLflow outbox locks its journals with it.",
    });
  }
}

/** A lock file created, written and locked under a temporary name, then linked to `lockName`; undefined when that exists. */
async function lockedNew(dir: string, lockName: string, content: string, flock: Flock): Promise<FileHandle | undefined> {
  const tmp = path.join(dir, `.${lockName}.${tempId()}.tmp`);
  const fh = await fs.open(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    // the outbox folder's owner's, as reprod's other files in a workspace it runs in as root
    const owner = workspaceOwner(dir);
    if (owner) await fh.chown(owner.uid, owner.gid);
    await fh.writeFile(content);
    await fh.sync();
    if ((await tryLock(flock, fh, lockName)) !== 'held') throw new ReprodError('TRACKING', `a new outbox lock ${lockName} was locked by another process`);
    try {
      await fs.link(tmp, path.join(dir, lockName));
    } catch (e) {
      if (!hasErrno(e, 'EEXIST')) throw e;
      await fh.close();
      return undefined;
    }
    return fh;
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  } finally {
    await fs.rm(tmp, { force: true });
  }
}
