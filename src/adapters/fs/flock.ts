/*
 * flock(2) from Node, which has none (and a native addon would need an
 * install script): the caller opens the file itself and hands that
 * descriptor to a short-lived helper that calls flock(2) on it and exits,
 * util-linux `flock -n 3` (in every Debian system and in reprod's images), or
 * python3's fcntl.flock where flock(1) is missing. A flock belongs to the
 * open file description, which the helper shares with the caller, so the
 * lock outlives the helper and lives exactly as long as the caller's
 * descriptor: closing it releases the lock, and so does the kernel when the
 * caller dies in any way (kill -9 included). It works across PID namespaces
 * (a daemon in a container and a CLI on the host lock the same inode), and
 * two descriptors of one process exclude each other as two processes do.
 */

/** The helper's exit code when the lock is held elsewhere. */
const BUSY = 75;

export type FlockHelper = { cmd: string; args: string[] };

export const FLOCK_HELPERS: readonly FlockHelper[] = [
  { cmd: 'flock', args: ['--exclusive', '--nonblock', '--conflict-exit-code', String(BUSY), '3'] },
  {
    cmd: 'python3',
    args: ['-c', `import fcntl, sys\ntry:\n    fcntl.flock(3, fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(${BUSY})`],
  },
];

/** Why a lock could not be tried at all (no helper, or a helper that failed); `message` names no file. */
export class FlockUnavailable extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'FlockUnavailable';
  }
}

/** Exclusive, non-blocking flock(2) on descriptors, through the first helper found on PATH. */
export class Flock {
  private helper: FlockHelper | undefined;

  constructor(private readonly helpers: readonly FlockHelper[] = FLOCK_HELPERS) {}

  /** One try: `held` (this descriptor now holds the lock) or `busy` (another descriptor does). Throws FlockUnavailable. */
  async tryLock(fd: number): Promise<'held' | 'busy'> {
    const candidates = this.helper ? [this.helper] : this.helpers;
    for (const h of candidates) {
      const res = await runHelper(h, fd);
      if (res.kind === 'missing') continue;
      this.helper = h;
      if (res.code === 0) return 'held';
      if (res.code === BUSY) return 'busy';
      throw new FlockUnavailable(`${h.cmd} exited ${res.code}${res.stderr ? `: ${res.stderr.trim()}` : ''}`);
    }
    throw new FlockUnavailable(`found neither ${candidates.map((h) => h.cmd).join(' nor ')} on PATH`);
  }

  /** Gives the lock back without closing the descriptor; false when no helper could. */
  async unlock(fd: number): Promise<boolean> {
    const res = await runHelper({ cmd: 'flock', args: ['--unlock', '3'] }, fd);
    if (res.kind === 'exited' && res.code === 0) return true;
    const py = await runHelper({ cmd: 'python3', args: ['-c', 'import fcntl\nfcntl.flock(3, fcntl.LOCK_UN)'] }, fd);
    return py.kind === 'exited' && py.code === 0;
  }
}

type RunResult = { kind: 'missing' } | { kind: 'exited'; code: number; stderr: string };

function runHelper(h: FlockHelper, fd: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // node:child_process is loaded with the first lock tried, not with every module that may take one
    const child = process.getBuiltinModule('node:child_process').spawn(h.cmd, h.args, { stdio: ['ignore', 'ignore', 'pipe', fd] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => void (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') resolve({ kind: 'missing' });
      else reject(new FlockUnavailable(`cannot run ${h.cmd}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code, signal) => resolve({ kind: 'exited', code: code ?? (signal ? 128 : 1), stderr }));
  });
}
