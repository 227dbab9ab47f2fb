/**
 * The workspace lock: one writer at a time per workspace, real DVC included.
 *
 * DVC 3 takes an exclusive, non-blocking `flock` on `.dvc/tmp/lock` (through
 * zc.lockfile) for every command that writes (repro, checkout, commit, fetch,
 * pull, push, gc, ...), retrying every 0.5 s for 3 s before it gives up. The
 * adapter takes the same lock on the same file, so `dvc repro` and reprod
 * exclude each other. Read-only commands (status, dag, validate) take none.
 *
 * A lock dies with its process (the kernel drops a `flock` when the last
 * descriptor closes), so a killed holder never leaves the workspace locked.
 */

/** The path DVC locks, relative to the workspace root. */
export const WORKSPACE_LOCK_FILE = '.dvc/tmp/lock';

/** DVC's wait: 1 try + 6 retries 0.5 s apart. */
export const DEFAULT_LOCK_WAIT_MS = 3_000;

/**
 * Who holds the lock, as its file says. zc.lockfile writes ` <content>\n`
 * after locking: DVC's content is the pid alone; reprod writes
 * `<pid>;<hostname>` (zc.lockfile's documented `{pid};{hostname}` template),
 * since a pid alone names no process once containers are involved.
 */
export interface LockHolder {
  pid: number | undefined;
  hostname: string | undefined;
  /** The file's content, trimmed (at most 200 characters). */
  raw: string;
  /** The file that names the holder (default {@link WORKSPACE_LOCK_FILE}). */
  file?: string;
  /** What the holder runs, where the file says (DVC's rwlock does). */
  cmd?: string;
}

/** Parses what zc.lockfile (or reprod) wrote into the lock file; anything else gives no pid. */
export function parseLockHolder(text: string): LockHolder {
  const raw = text.trim().slice(0, 200);
  const m = /^(\d{1,10})(?:;(\S{1,128}))?$/.exec(raw);
  if (!m) return { pid: undefined, hostname: undefined, raw };
  return { pid: Number(m[1]), hostname: m[2], raw };
}

/** What reprod writes into the lock file once it holds it. */
export function formatLockContent(pid: number, hostname: string): string {
  return ` ${pid};${hostname}\n`;
}

/** The holder in words: `process 123 on host abc`, `process 123 (no host recorded: DVC writes none)`. */
export function describeHolder(h: LockHolder | undefined): string {
  if (!h || (h.pid === undefined && h.raw === '')) return 'another process (the lock file names none)';
  if (h.pid === undefined) return `another process (the lock file says '${h.raw}')`;
  if (h.cmd !== undefined) return `process ${h.pid}, running \`${h.cmd}\``;
  return h.hostname === undefined ? `process ${h.pid} (a DVC command, or one that records no host)` : `process ${h.pid} on host ${h.hostname}`;
}

/**
 * A wait in seconds (`--wait`, `REPROD_LOCK_WAIT`) as milliseconds: a number
 * ≥ 0, or `inf` to wait until the holder is done. Undefined when malformed.
 */
export function parseLockWaitSeconds(text: string): number | undefined {
  const t = text.trim().toLowerCase();
  if (t === 'inf' || t === 'infinity') return Infinity;
  return /^\d{1,9}(\.\d+)?$/.test(t) ? Math.round(Number(t) * 1000) : undefined;
}

/** What a waiting command prints, once. */
export function waitingMessage(h: LockHolder): string {
  return `Waiting for the workspace lock: held by ${describeHolder(h)} (${h.file ?? WORKSPACE_LOCK_FILE})`;
}

export interface AcquireOptions {
  /**
   * How long to wait while another process holds the lock; 0 tries once,
   * Infinity waits until `signal` aborts. Default {@link DEFAULT_LOCK_WAIT_MS}.
   */
  waitMs?: number;
  /** Aborting stops the wait (the acquire rejects with the signal's reason). */
  signal?: AbortSignal;
  /** Called once, when the lock is found held by another process, before waiting. */
  onWait?(holder: LockHolder): void;
}

/** A held lock; releasing twice is harmless. */
export interface HeldWorkspaceLock extends AsyncDisposable {
  release(): Promise<void>;
}

/** The port. Not re-entrant: a process that holds the lock and asks again waits for itself. */
export interface WorkspaceLock {
  /** Resolves once held; rejects with a `WORKSPACE_LOCKED` ReprodError naming the holder when the wait runs out. */
  acquire(opts?: AcquireOptions): Promise<HeldWorkspaceLock>;
}

/**
 * One lock held across overlapping users, for the daemon's pass: the first
 * `enter()` of a pass acquires it, concurrent ones share that acquisition,
 * and `leave()` at the pass's end releases it. Between passes it is free, so
 * `dvc` and a manual `reprod repro` can run while the daemon is idle.
 */
export class PassLease {
  private held: Promise<HeldWorkspaceLock> | undefined;

  constructor(
    private readonly lock: WorkspaceLock,
    private readonly opts: AcquireOptions = {},
  ) {}

  /** Resolves once the lock is held for the current pass (acquiring it on the first call). */
  async enter(): Promise<void> {
    if (!this.held) {
      const p = this.lock.acquire({ waitMs: Infinity, ...this.opts });
      this.held = p;
      // a failed acquisition is not kept: the next enter() tries again
      p.catch(() => {
        if (this.held === p) this.held = undefined;
      });
    }
    await this.held;
  }

  /** True while a pass holds (or is acquiring) the lock. */
  get active(): boolean {
    return this.held !== undefined;
  }

  /** Releases the lock at the end of a pass; a no-op when not held. */
  async leave(): Promise<void> {
    const p = this.held;
    this.held = undefined;
    if (!p) return;
    let held: HeldWorkspaceLock;
    try {
      held = await p;
    } catch {
      // the acquisition failed (enter() reported it): there is nothing to release
      return;
    }
    await held.release();
  }
}
