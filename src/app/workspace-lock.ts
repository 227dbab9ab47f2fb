import { existsSync } from 'node:fs';
import path from 'node:path';
import { FlockWorkspaceLock } from '../adapters/fs/workspace-lock.js';
import { markWriter } from '../adapters/fs/writer-marks.js';
import { ReprodError } from '../core/errors.js';
import { loadDvcConfig } from './project.js';
import { DEFAULT_LOCK_WAIT_MS, PassLease, parseLockWaitSeconds, type AcquireOptions, type WorkspaceLock } from '../core/ports.js';

/**
 * The lock of the workspace at `root` (`.dvc/tmp/lock`, shared with DVC 3).
 * With `core.hardlink_lock` DVC locks that path with hard links (flufl.lock)
 * instead, which a flock does not exclude, and reprod writing into the file
 * would corrupt DVC's claim: reprod refuses such a workspace.
 */
export function openWorkspaceLock(root: string): WorkspaceLock {
  const abs = path.resolve(root);
  if (loadDvcConfig(abs).get('core')?.get('hardlink_lock')?.trim().toLowerCase() === 'true') {
    throw new ReprodError('CONFIG', '.dvc/config sets core.hardlink_lock: DVC then locks the workspace with hard links, which reprod cannot take', {
      remedy: 'Unset it (`dvc config --unset core.hardlink_lock`) where the file system supports flock, as local disks do.',
    });
  }
  return new FlockWorkspaceLock(abs);
}

/**
 * Runs a writing command while holding the workspace lock: it waits for
 * another holder (reprod or DVC) up to `waitMs`, calling `onWait` once with
 * who holds it, then refuses with `WORKSPACE_LOCKED`. The lock is released
 * when `fn` settles, and by the kernel if the process dies.
 *
 * A folder with neither dvc.yaml nor .dvc is no workspace: nothing is locked
 * (nor created there), and the command reports what is missing itself.
 */
export async function withWorkspaceLock<T>(root: string, opts: AcquireOptions, fn: () => Promise<T>): Promise<T> {
  const abs = path.resolve(root);
  if (!existsSync(path.join(abs, 'dvc.yaml')) && !existsSync(path.join(abs, '.dvc'))) return fn();
  const held = await openWorkspaceLock(abs).acquire(opts);
  try {
    // this process's temporary files can then be told from those of writers that died (adapters/fs/writer-marks.ts)
    await markWriter(abs);
    return await fn();
  } finally {
    await held.release();
  }
}

/**
 * The daemon's lease on the lock: held from the start of a reconcile pass to
 * its end, free while idle. It waits as long as it takes (until `signal`
 * aborts), saying once per wait who holds the lock.
 */
export function daemonPassLease(root: string, opts: Pick<AcquireOptions, 'signal' | 'onWait'> = {}): PassLease {
  return new PassLease(openWorkspaceLock(root), { ...opts, waitMs: Infinity });
}

/** The wait from `REPROD_LOCK_WAIT` (seconds, or inf); DVC's 3 s when unset or empty. */
export function lockWaitFromEnv(env: NodeJS.ProcessEnv): number {
  const text = env.REPROD_LOCK_WAIT;
  if (text === undefined || text.trim() === '') return DEFAULT_LOCK_WAIT_MS;
  const ms = parseLockWaitSeconds(text);
  if (ms === undefined) {
    throw new ReprodError('USAGE', `REPROD_LOCK_WAIT: expected seconds to wait for the workspace lock (a number ≥ 0, or inf), got '${text}'`);
  }
  return ms;
}
