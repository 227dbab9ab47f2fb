import { spawn } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ReprodError } from '../../core/errors.js';
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
 * How the lock is taken. Node has no flock(2), and a native addon would need
 * an install script. Instead reprod opens `.dvc/tmp/lock` itself and hands
 * that descriptor to a short-lived helper that calls flock(2) on it and exits:
 * util-linux `flock -n 3` (in every Debian system and in reprod's images), or
 * python3's fcntl.flock where flock(1) is missing. A flock belongs to the open
 * file description, which the helper shares with reprod, so the lock outlives
 * the helper and lives exactly as long as reprod's descriptor: closing it
 * releases the lock, and so does the kernel when reprod dies in any way
 * (kill -9 included), with no child process to outlive or to be killed with
 * it. It is the very lock zc.lockfile takes (flock, LOCK_EX | LOCK_NB), so
 * DVC and reprod exclude each other, also across PID namespaces (a daemon in
 * a container and a CLI on the host lock the same inode).
 */

/** The helper's exit code when the lock is held elsewhere. */
const BUSY = 75;

type Helper = { cmd: string; args: string[] };

const HELPERS: readonly Helper[] = [
  { cmd: 'flock', args: ['--exclusive', '--nonblock', '--conflict-exit-code', String(BUSY), '3'] },
  {
    cmd: 'python3',
    args: ['-c', `import fcntl, sys\ntry:\n    fcntl.flock(3, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(${BUSY})`],
  },
];

/** DVC's per-path locks, held while a `dvc repro` runs a stage's command (see {@link liveRwlockHolder}). */
const DVC_RWLOCK_FILE = '.dvc/tmp/rwlock';

export interface FlockWorkspaceLockOptions {
  /** Time between tries while another process holds the lock (default 100 ms; DVC's is 500 ms). */
  pollMs?: number;
  /** The helpers to try, in order (default: util-linux flock, then python3). */
  helpers?: readonly Helper[];
  /** Written into the lock file (default: this process's pid and host name). */
  pid?: number;
  hostname?: string;
}

type Attempt = { kind: 'held' } | { kind: 'busy'; holder: LockHolder };

/** The workspace lock on `.dvc/tmp/lock`, shared with DVC 3 (see the comment above). */
export class FlockWorkspaceLock implements WorkspaceLock {
  private helper: Helper | undefined;
  private readonly file: string;

  constructor(
    private readonly root: string,
    private readonly opts: FlockWorkspaceLockOptions = {},
  ) {
    this.file = path.join(root, WORKSPACE_LOCK_FILE);
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

  /** Opens (creating) the lock file, never through a symlink: its content is written, and only inside the workspace. */
  private async open(): Promise<FileHandle> {
    try {
      // each folder on the way is checked before anything is created in it
      const realRoot = await fs.realpath(this.root);
      let created: string | undefined;
      let dir = this.root;
      for (const part of path.dirname(WORKSPACE_LOCK_FILE).split('/')) {
        dir = path.join(dir, part);
        try {
          await fs.mkdir(dir);
          created ??= dir;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        const real = await fs.realpath(dir);
        if (path.relative(realRoot, real).startsWith('..')) {
          const rel = path.relative(this.root, dir);
          throw new ReprodError('WORKSPACE_LOCK', `${rel} leads outside the workspace (to ${real})`, {
            remedy: `Make ${rel} a folder of the workspace, not a symlink out of it.`,
          });
        }
      }
      const fh = await fs.open(this.file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o666);
      await this.giveToOwner(fh, created);
      return fh;
    } catch (cause) {
      if (cause instanceof ReprodError) throw cause;
      throw new ReprodError('WORKSPACE_LOCK', `cannot open the workspace lock ${WORKSPACE_LOCK_FILE}: ${(cause as Error).message}`, { cause });
    }
  }

  /**
   * As root (reprod's compose container), what it creates here is given to
   * the workspace's owner: DVC run by that user must be able to open the
   * lock file, or it fails instead of waiting.
   */
  private async giveToOwner(fh: FileHandle, createdDir: string | undefined): Promise<void> {
    if (process.getuid?.() !== 0) return;
    const [owner, file] = await Promise.all([fs.stat(this.root), fh.stat()]);
    if (owner.uid === 0) return;
    if (file.uid === 0) await fh.chown(owner.uid, owner.gid);
    if (createdDir === undefined) return;
    // mkdir -p created `createdDir` and everything below it on the way to .dvc/tmp
    for (let d = path.dirname(this.file); d.length >= createdDir.length; d = path.dirname(d)) await fs.lchown(d, owner.uid, owner.gid);
  }

  /** One non-blocking try; on success the lock file names this process, as zc.lockfile does. */
  private async attempt(fh: FileHandle): Promise<Attempt> {
    const code = await this.runHelper(fh);
    if (code === BUSY) return { kind: 'busy', holder: await readHolder(fh) };
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

  /** Runs the first helper found on PATH on the lock file's descriptor; its exit code. */
  private async runHelper(fh: FileHandle): Promise<number> {
    const candidates = this.helper ? [this.helper] : (this.opts.helpers ?? HELPERS);
    for (const h of candidates) {
      const res = await run(h, fh.fd);
      if (res.kind === 'missing') continue;
      this.helper = h;
      if (res.code === 0 || res.code === BUSY) return res.code;
      throw new ReprodError('WORKSPACE_LOCK', `cannot lock ${WORKSPACE_LOCK_FILE}: ${h.cmd} exited ${res.code}${res.stderr ? `: ${res.stderr.trim()}` : ''}`);
    }
    throw new ReprodError('WORKSPACE_LOCK', `cannot lock ${WORKSPACE_LOCK_FILE}: found neither ${candidates.map((h) => h.cmd).join(' nor ')} on PATH`);
  }
}

function held(fh: FileHandle): HeldWorkspaceLock {
  let released: Promise<void> | undefined;
  const release = () => (released ??= fh.close());
  return { release, [Symbol.asyncDispose]: release };
}

/** Gives the lock back without closing the descriptor (the next try reuses it). */
async function unlock(fh: FileHandle): Promise<void> {
  // flock(1) -u on the shared description; python3 where flock(1) is missing
  const res = await run({ cmd: 'flock', args: ['--unlock', '3'] }, fh.fd);
  if (res.kind === 'exited' && res.code === 0) return;
  const py = await run({ cmd: 'python3', args: ['-c', 'import fcntl\nfcntl.flock(3, fcntl.LOCK_UN)'] }, fh.fd);
  if (py.kind === 'exited' && py.code === 0) return;
  throw new ReprodError('WORKSPACE_LOCK', `cannot unlock ${WORKSPACE_LOCK_FILE}`);
}

async function readHolder(fh: FileHandle): Promise<LockHolder> {
  const buf = Buffer.alloc(256);
  const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
  return parseLockHolder(buf.subarray(0, bytesRead).toString('utf8'));
}

type RunResult = { kind: 'missing' } | { kind: 'exited'; code: number; stderr: string };

function run(h: Helper, fd: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(h.cmd, h.args, { stdio: ['ignore', 'ignore', 'pipe', fd] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') resolve({ kind: 'missing' });
      else reject(new ReprodError('WORKSPACE_LOCK', `cannot run ${h.cmd} to lock ${WORKSPACE_LOCK_FILE}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => resolve({ kind: 'exited', code: code ?? (signal ? 128 : 1), stderr }));
  });
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
