import type Docker from 'dockerode';
import { engineError, engineStatus } from './engine.js';
import { LABEL, workspaceFilter } from './labels.js';
import { ownerFromLabels, ownerLiveness, processOwner, procfs, type ContainerOwner, type OwnerLiveness, type ProcReader } from './owner.js';

export interface RemovedContainer {
  id: string;
  stage: string | undefined;
  runId: string | undefined;
  /** The container's state when found (`running`, `exited`, `created`, …). */
  state: string;
}

export interface KeptContainer extends RemovedContainer {
  /** Why it stays: its owner runs, or nothing proves it gone while another process may be inside a pass. */
  owner: Extract<OwnerLiveness, 'alive' | 'unknown'>;
}

export interface OrphanOptions {
  /**
   * This process holds the workspace lock. Containers run only inside a pass
   * and a pass holds the lock until its containers are removed, so then no
   * other process is inside a pass: a container whose owner cannot be seen
   * (another PID namespace or kernel) is left over, and removed. Without the
   * lock such a container is kept. Default false.
   */
  workspaceLockHeld?: boolean;
  /** Told of each container spared for its owner. */
  onKept?(c: KeptContainer): void;
  /** This process (default {@link processOwner}) and /proc (tests pass other owners, never another /proc). */
  self?: ContainerOwner;
  proc?: ProcReader;
}

/**
 * Removes (forcibly) the containers that reprod created for this workspace
 * and that no live process uses: those a killed or crashed reprod left
 * behind. Their outputs were never committed (committing happens in reprod
 * after the container exits), so removal is the safe default: the stage is
 * stale and runs again. Adopting a still-running container instead is
 * possible later, by its `reprod.run-id` and `reprod.spec-hash` labels.
 *
 * By owner label (owner.ts):
 * - none (a reprod before owner labels): removed, as always;
 * - this process: removed unless `isKnownRun` says the run is live;
 * - a live process of this PID namespace: kept, it is that process's to remove;
 * - a process that is gone: removed;
 * - a process /proc cannot see (the daemon in its compose container, seen
 *   from the host, or the reverse): removed only under the workspace lock
 *   (see {@link OrphanOptions.workspaceLockHeld}), else kept.
 *
 * `hostWorkspace` is the workspace's host path, the value of the
 * `reprod.workspace` label.
 */
export async function removeOrphans(
  docker: Docker,
  hostWorkspace: string,
  isKnownRun: (runId: string) => boolean = () => false,
  opts: OrphanOptions = {},
): Promise<RemovedContainer[]> {
  let found;
  try {
    found = await docker.listContainers({ all: true, filters: workspaceFilter(hostWorkspace) });
  } catch (err) {
    throw engineError(err, 'listing reprod containers');
  }
  const self = opts.self ?? processOwner();
  const proc = opts.proc ?? procfs;
  const removed: RemovedContainer[] = [];
  for (const c of found.sort((a, b) => (a.Id < b.Id ? -1 : 1))) {
    const runId = c.Labels[LABEL.runId];
    const info = { id: c.Id, stage: c.Labels[LABEL.stage], runId, state: c.State };
    const owner = ownerFromLabels(c.Labels);
    const liveness = owner ? ownerLiveness(owner, self, proc) : 'gone';
    if (liveness === 'self' && runId !== undefined && isKnownRun(runId)) continue;
    if (liveness === 'alive' || (liveness === 'unknown' && opts.workspaceLockHeld !== true)) {
      opts.onKept?.({ ...info, owner: liveness });
      continue;
    }
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
    } catch (err) {
      // gone already, or being removed by the engine: either way not ours to report
      const status = engineStatus(err);
      if (status !== 404 && status !== 409) throw engineError(err, `removing orphan container ${c.Id.slice(0, 12)}`);
    }
    removed.push(info);
  }
  return removed;
}
