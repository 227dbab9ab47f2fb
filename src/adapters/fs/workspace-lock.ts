import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ReprodError } from '../../core/errors.js';
import { Flock, FlockUnavailable, type FlockHelper } from './flock.js';
import {
  DEFAULT_LOCK_WAIT_MS,
  WORKSPACE_LOCK_FILE,
  describeHolder,
  formatLockContent,
  parseLockHolder,
  type AcquireOptions,
  type HeldWorkspaceLock,
  type LockHolder,
  type WorkspaceLock,
} from '../../core/ports.js';

/*
 * How the lock is taken: flock(2) through a helper on reprod's own
 * descriptor (see flock.ts), so the lock lives exactly as long as that
 * descriptor and dies with reprod, kill -9 included. It is the very lock
 * zc.lockfile takes (flock, LOCK_EX | LOCK_NB), so DVC and reprod exclude
 * each other, also across PID namespaces.
 */

/** DVC's per-path locks, held while a `dvc repro` runs a stage's command (see {@link liveRwlockHolder}). */
const DVC_RWLOCK_FILE = '.dvc/tmp/rwlock';

export interface FlockWorkspaceLockOptions {
  /** Time between tries while another process holds the lock (default 100 ms; DVC's is 500 ms). */
  pollMs?: number;
  /** The helpers to try, in order (default: util-linux flock, then python3). */
  helpers?: readonly FlockHelper[];
  /** Written into the lock file (default: this process's pid and host name). */
  pid?: number;
  hostname?: string;
}

type Attempt = { kind: 'held' } | { kind: 'busy'; holder: LockHolder };

/** The workspace lock on `.dvc/tmp/lock`, shared with DVC 3 (see the comment above). */
export class FlockWorkspaceLock implements WorkspaceLock {
  private readonly flock: Flock;
  private readonly file: string;

  constructor(
    private readonly root: string,
    private readonly opts: FlockWorkspaceLockOptions = {},
  ) {
    this.file = path.join(root, WORKSPACE_LOCK_FILE);
    this.flock = new Flock(opts.helpers);
  }

  async acquire(opts: AcquireOptions = {}): Promise<HeldWorkspaceLock> {
    const waitMs = opts.waitMs ?? DEFAULT_LOCK_WAIT_MS;
    const deadline = performance.now() + waitMs;
    const fh = await this.open();
    let announced = false;
    try {
      for (;;) {
        opts.signal?.throwIfAborted();
        const attempt = await this.attempt(fh);
        if (attempt.kind === 'held') return held(fh);
        if (!announced) {
          announced = true;
          opts.onWait?.(attempt.holder);
        }
        const left = deadline - performance.now();
        if (left <= 0) throw lockedError(attempt.holder, waitMs);
        await sleep(Math.min(this.opts.pollMs ?? 100, left), opts.signal);
      }
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  private async open(): Promise<FileHandle> {
    try {
      return await openWorkspaceTmpFile(this.root, WORKSPACE_LOCK_FILE);
    } catch (cause) {
      if (cause instanceof ReprodError) throw cause;
      throw new ReprodError('WORKSPACE_LOCK', `cannot open the workspace lock ${WORKSPACE_LOCK_FILE}: ${(cause as Error).message}`, { cause });
    }
  }

  /** One non-blocking try; on success the lock file names this process, as zc.lockfile does. */
  private async attempt(fh: FileHandle): Promise<Attempt> {
    if ((await this.tryLock(fh)) === 'busy') return { kind: 'busy', holder: await readHolder(fh) };
    const dvc = await liveRwlockHolder(this.root);
    if (dvc) {
      // a `dvc repro` drops the lock while a stage's command runs and marks its paths in rwlock instead
      await unlock(fh);
      return { kind: 'busy', holder: dvc };
    }
    const content = Buffer.from(formatLockContent(this.opts.pid ?? process.pid, this.opts.hostname ?? os.hostname()));
    await fh.write(content, 0, content.length, 0);
    await fh.truncate(content.length);
    return { kind: 'held' };
  }

  private async tryLock(fh: FileHandle): Promise<'held' | 'busy'> {
    try {
      return await this.flock.tryLock(fh.fd);
    } catch (cause) {
      if (!(cause instanceof FlockUnavailable)) throw cause;
      throw new ReprodError('WORKSPACE_LOCK', `cannot lock ${WORKSPACE_LOCK_FILE}: ${cause.message}`, { cause });
    }
  }
}

/**
 * Opens (creating) `rel`, a file under `.dvc/tmp` of the workspace at
 * `root`, never through a symlink: each folder on the way is checked to be
 * inside the workspace before anything is created in it. As root (reprod's
 * compose container), what it creates is given to the workspace's owner, so
 * that DVC run by that user can open it (a lock it cannot open makes DVC fail
 * instead of waiting).
 */
export async function openWorkspaceTmpFile(root: string, rel: string): Promise<FileHandle> {
  const realRoot = await fs.realpath(root);
  let created: string | undefined;
  let dir = root;
  for (const part of path.dirname(rel).split('/')) {
    dir = path.join(dir, part);
    try {
      await fs.mkdir(dir);
      created ??= dir;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const real = await fs.realpath(dir);
    if (path.relative(realRoot, real).startsWith('..')) {
      const relDir = path.relative(root, dir);
      throw new ReprodError('WORKSPACE_LOCK', `${relDir} leads outside the workspace (to ${real})`, {
        remedy: `Make ${relDir} a folder of the workspace, not a symlink out of it.`,
      });
    }
  }
  const file = path.join(root, rel);
  const fh = await fs.open(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o666);
  try {
    await giveToOwner(root, file, fh, created);
  } catch (e) {
    await fh.close();
    throw e;
  }
  return fh;
}

async function giveToOwner(root: string, file: string, fh: FileHandle, createdDir: string | undefined): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const [owner, st] = await Promise.all([fs.stat(root), fh.stat()]);
  if (owner.uid === 0) return;
  if (st.uid === 0) await fh.chown(owner.uid, owner.gid);
  if (createdDir === undefined) return;
  // mkdir -p created `createdDir` and everything below it on the way to the file
  for (let d = path.dirname(file); d.length >= createdDir.length; d = path.dirname(d)) await fs.lchown(d, owner.uid, owner.gid);
}

function held(fh: FileHandle): HeldWorkspaceLock {
  let released: Promise<void> | undefined;
  const release = () => (released ??= fh.close());
  return { release, [Symbol.asyncDispose]: release };
}

/** Gives the lock back without closing the descriptor (the next try reuses it). */
async function unlock(fh: FileHandle): Promise<void> {
  if (!(await new Flock().unlock(fh.fd))) throw new ReprodError('WORKSPACE_LOCK', `cannot unlock ${WORKSPACE_LOCK_FILE}`);
}

async function readHolder(fh: FileHandle): Promise<LockHolder> {
  const buf = Buffer.alloc(256);
  const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
  return parseLockHolder(buf.subarray(0, bytesRead).toString('utf8'));
}

/**
 * A live process named in DVC's `.dvc/tmp/rwlock`, if any. DVC releases
 * `.dvc/tmp/lock` while it runs a stage's command and records the stage's
 * deps and outs there instead (with its pid and command line), so a writer
 * that holds `.dvc/tmp/lock` must also find no live entry in rwlock. Entries
 * of dead processes are ignored, as DVC ignores (and drops) them.
 */
export async function liveRwlockHolder(root: string): Promise<LockHolder | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(root, DVC_RWLOCK_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ReprodError('WORKSPACE_LOCK', `cannot read ${DVC_RWLOCK_FILE}: ${(e as Error).message}`, { cause: e });
  }
  if (text.trim() === '') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new ReprodError('WORKSPACE_LOCK', `${DVC_RWLOCK_FILE} is not valid JSON`, {
      cause,
      remedy: `If no DVC command is running, remove ${DVC_RWLOCK_FILE} (DVC refuses it too).`,
    });
  }
  for (const info of rwlockInfos(doc)) {
    if (info.pid !== process.pid && isAlive(info.pid)) {
      return { pid: info.pid, hostname: undefined, raw: String(info.pid), file: DVC_RWLOCK_FILE, cmd: info.cmd };
    }
  }
  return undefined;
}

/** The `{pid, cmd}` records of rwlock's `read` (lists) and `write` (single) maps; malformed records are skipped. */
function rwlockInfos(doc: unknown): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  const add = (v: unknown) => {
    if (typeof v !== 'object' || v === null) return;
    const { pid, cmd } = v as { pid?: unknown; cmd?: unknown };
    if (typeof pid === 'number' && Number.isInteger(pid) && pid > 0) out.push({ pid, cmd: typeof cmd === 'string' ? cmd : '' });
  };
  if (typeof doc !== 'object' || doc === null) return out;
  const { read, write } = doc as { read?: unknown; write?: unknown };
  if (typeof write === 'object' && write !== null) for (const v of Object.values(write)) add(v);
  if (typeof read === 'object' && read !== null) for (const v of Object.values(read)) if (Array.isArray(v)) v.forEach(add);
  return out;
}

/** As psutil.pid_exists, which DVC uses: a process we may not signal still exists. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(holder: LockHolder, waitMs: number): ReprodError {
  const who = describeHolder(holder);
  const waited = waitMs > 0 && Number.isFinite(waitMs) ? `; waited ${Math.round(waitMs / 100) / 10} s` : '';
  return new ReprodError('WORKSPACE_LOCKED', `the workspace is locked by ${who} (${holder.file ?? WORKSPACE_LOCK_FILE}${waited})`, {
    remedy:
      `Let ${who} finish (another reprod, or a DVC command, writing this workspace), then run again, ` +
      'or wait longer with --wait SECONDS (or REPROD_LOCK_WAIT). The lock ends with its process: a killed holder frees it by itself.',
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(t);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
