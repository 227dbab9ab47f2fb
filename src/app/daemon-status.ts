import path from 'node:path';
import { runningDaemon, type DaemonInfo } from '../adapters/fs/daemon-presence.js';
import { LocalWorkspace } from '../adapters/fs/local-workspace.js';
import type { StagePhase } from '../status/status-docs.js';
import { StatusStore } from '../status/status-store.js';

/** A stage the running daemon reports as more than up to date or stale: what it is doing, or why it stopped. */
export interface DaemonStagePhase {
  stage: string;
  phase: StagePhase;
  /** Why, in the daemon's words (the error of a failed run, what blocks it); '' when it said none. */
  message: string;
}

export interface DaemonView {
  daemon: DaemonInfo | undefined;
  phases: DaemonStagePhase[];
}

/** What `status` adds from a daemon: phases that staleness alone cannot show. */
const SHOWN: ReadonlySet<StagePhase> = new Set(['Hashing', 'Queued', 'Building', 'Running', 'Failed', 'Blocked', 'Cancelled', 'Backoff', 'EngineUnavailable']);

/**
 * The phases of a daemon running on the workspace at `root`, read from its
 * status files (status/pipeline.yaml, then status/<stage>.yaml for the
 * message), for the stages named; undefined when no daemon runs there.
 * Only reads.
 */
export async function daemonView(root: string, stages: readonly string[]): Promise<DaemonView | undefined> {
  const look = await runningDaemon(path.resolve(root));
  if (!look.running) return undefined;
  const store = new StatusStore(new LocalWorkspace(path.resolve(root)));
  const pipeline = await store.readPipeline();
  const phases: DaemonStagePhase[] = [];
  for (const stage of stages) {
    const phase = pipeline?.status.stages[stage];
    if (phase === undefined || !SHOWN.has(phase)) continue;
    const doc = await store.readStage(stage);
    const ready = doc?.status.conditions.find((c) => c.type === 'Ready');
    phases.push({ stage, phase, message: ready?.message || doc?.status.lastRun?.error || '' });
  }
  return { daemon: look.info, phases };
}
