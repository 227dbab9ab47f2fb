import type { Clock, RunResult, RuntimeIdentity } from '../core/ports.js';
import type { Stage } from '../core/types.js';
import {
  nextPipelineStatus,
  nextStageStatus,
  type LastRun,
  type PipelineStatusInput,
  type StageStatusDoc,
  type StageStatusInput,
} from './status-docs.js';
import { stageLogPath, type StatusStore } from './status-store.js';

/** What the reconciler says about a stage; the reporter adds the stage and where it runs. */
export type StageReport = Omit<StageStatusInput, 'stage' | 'runtime'>;

/** The `lastRun` of a status manifest from a runtime's result. */
export function lastRunFrom(
  stage: Stage,
  runId: string,
  action: 'ran' | 'restored',
  outcome: LastRun['outcome'],
  runtime: string,
  run?: RunResult,
  error?: string,
): LastRun {
  const r: LastRun = { runId, action, outcome, runtime: run?.runtime ?? runtime };
  if (run) {
    if (run.container) r.container = run.container;
    r.startedAt = run.startedAt.toISOString();
    r.finishedAt = run.finishedAt.toISOString();
    r.durationSeconds = Math.max(0, (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000);
    if (run.outcome.kind === 'exited') {
      r.exitCode = run.outcome.exitCode;
      if (run.outcome.oomKilled) r.oomKilled = true;
    }
    r.log = stageLogPath(stage.name);
  }
  if (error) r.error = error;
  return r;
}

/** Writes status manifests from what the reconciler decided; the only writer of status/. */
export class StatusReporter {
  constructor(
    private readonly store: StatusStore,
    private readonly clock: Clock,
    private readonly runtimeOf: (stage: Stage) => { kind: 'docker' | 'host'; reason: string },
  ) {}

  /**
   * The runtime identity of the stage's last successful run, for
   * `image-changed`: its `runtimeKey`, or (status written before keys were
   * recorded) the image ID it ran in.
   */
  async recordedRuntime(stage: string): Promise<string | undefined> {
    const doc = await this.store.readStage(stage);
    const last = doc?.status.lastRun;
    return last && last.outcome === 'Succeeded' ? (last.runtimeKey ?? last.runtime) : undefined;
  }

  async stage(stage: Stage, runtime: RuntimeIdentity | undefined, report: StageReport): Promise<StageStatusDoc> {
    const prev = await this.store.readStage(stage.name);
    const rt = this.runtimeOf(stage);
    const image = runtime?.kind === 'container' ? runtime.ref : rt.kind === 'docker' ? prev?.spec.runtime.image : undefined;
    const doc = nextStageStatus(
      prev,
      {
        stage,
        runtime: { kind: rt.kind, ...(image ? { image } : {}), reason: rt.reason },
        ...report,
      },
      this.clock.now(),
    );
    await this.store.write(doc);
    return doc;
  }

  async pipeline(input: PipelineStatusInput): Promise<void> {
    const prev = await this.store.readPipeline();
    await this.store.write(nextPipelineStatus(prev, input, this.clock.now()));
  }
}
