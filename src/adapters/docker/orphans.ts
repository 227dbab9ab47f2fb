import type Docker from 'dockerode';
import { engineError, engineStatus } from './engine.js';
import { LABEL, workspaceFilter } from './labels.js';

export interface RemovedContainer {
  id: string;
  stage: string | undefined;
  runId: string | undefined;
  /** The container's state when found (`running`, `exited`, `created`, …). */
  state: string;
}

/**
 * Removes (forcibly) the containers that reprod created for this workspace
 * and that no run of this process knows: those a killed or crashed reprod
 * left behind. Their outputs were never committed (committing happens in
 * reprod after the container exits), so removal is the safe default: the
 * stage is stale and runs again. Adopting a still-running container instead
 * is possible later, by its `reprod.run-id` and `reprod.spec-hash` labels.
 *
 * `hostWorkspace` is the workspace's host path, the value of the
 * `reprod.workspace` label. Call it while holding the workspace (one reprod
 * per workspace), or pass `isKnownRun` so that live runs are spared.
 */
export async function removeOrphans(
  docker: Docker,
  hostWorkspace: string,
  isKnownRun: (runId: string) => boolean = () => false,
): Promise<RemovedContainer[]> {
  let found;
  try {
    found = await docker.listContainers({ all: true, filters: workspaceFilter(hostWorkspace) });
  } catch (err) {
    throw engineError(err, 'listing reprod containers');
  }
  const removed: RemovedContainer[] = [];
  for (const c of found.sort((a, b) => (a.Id < b.Id ? -1 : 1))) {
    const runId = c.Labels[LABEL.runId];
    if (runId !== undefined && isKnownRun(runId)) continue;
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
    } catch (err) {
      // gone already, or being removed by the engine: either way not ours to report
      const status = engineStatus(err);
      if (status !== 404 && status !== 409) throw engineError(err, `removing orphan container ${c.Id.slice(0, 12)}`);
    }
    removed.push({ id: c.Id, stage: c.Labels[LABEL.stage], runId, state: c.State });
  }
  return removed;
}
