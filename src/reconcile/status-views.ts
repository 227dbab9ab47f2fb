import { ReprodErrors, type ReprodError } from '../core/errors.js';
import type { LastRun, PipelineStatusInput, StagePhase } from '../status/status-docs.js';
import type { ExternalCondition, ReconcileSpec } from './reconciler-api.js';
import type { StageSnapshot } from './stage-machine.js';
import { projectStage } from './stage-projection.js';
import type { StageView } from './status-writer.js';

/** What status remembers of each stage's runs beyond its machine state: the run in hand, the last run, the next retry. */
export class RunRecords {
  private readonly runIds = new Map<string, string>();
  private readonly lastRuns = new Map<string, LastRun>();
  private readonly retryAt = new Map<string, Date>();

  started(stage: string, runId: string): void {
    this.runIds.set(stage, runId);
  }

  finished(stage: string, last: LastRun): void {
    this.lastRuns.set(stage, last);
  }

  /** Adds the tracking run's id to the stage's last run, when it is still run `runId`; true when it did. */
  tracked(stage: string, runId: string, trackingRunId: string): boolean {
    const last = this.lastRuns.get(stage);
    if (!last || last.runId !== runId) return false;
    last.trackingRunId = trackingRunId;
    return true;
  }

  backoff(stage: string, until: Date): void {
    this.retryAt.set(stage, until);
  }

  forget(stage: string): void {
    this.runIds.delete(stage);
    this.lastRuns.delete(stage);
    this.retryAt.delete(stage);
  }

  view(s: StageSnapshot, queuedIsStale: boolean): StageView | undefined {
    const name = s.context.stage.name;
    return stageView(s, { runId: this.runIds.get(name), lastRun: this.lastRuns.get(name), nextRetryAt: this.retryAt.get(name), queuedIsStale });
  }
}

/**
 * What status/<stage>.yaml says for a machine state (undefined while the
 * stage is on its way to a verdict). `queuedIsStale`: a one-shot pass that
 * ended leaves the stages it did not start stale, not queued.
 */
export function stageView(
  s: StageSnapshot,
  o: { runId?: string | undefined; lastRun?: LastRun | undefined; nextRetryAt?: Date | undefined; queuedIsStale: boolean },
): StageView | undefined {
  let p = projectStage(s, o.runId);
  if (!p) return undefined;
  if (p.phase === 'Queued' && o.queuedIsStale) p = { ...p, phase: 'Stale' };
  return {
    stage: s.context.stage,
    runtime: p.runtime,
    report: {
      phase: p.phase,
      reasons: p.reasons,
      ...(o.lastRun ? { lastRun: o.lastRun } : {}),
      ...(p.message !== undefined ? { message: p.message } : {}),
      ...(p.retries !== undefined ? { retries: p.retries } : {}),
      ...(p.held ? { held: true } : {}),
      ...(p.phase === 'Backoff' && o.nextRetryAt ? { nextRetryAt: o.nextRetryAt } : {}),
    },
  };
}

/** status/pipeline.yaml's input: the spec in force, its error if the newest is invalid, phases, the last pass. */
export function pipelineView(o: {
  spec: ReconcileSpec | undefined;
  specError: ReprodError | undefined;
  phases: Record<string, StagePhase>;
  lastPass: { startedAt: Date; finishedAt: Date; ran: number; failed: number } | undefined;
  tracking: ExternalCondition | undefined;
  engine?: ExternalCondition | undefined;
}): PipelineStatusInput {
  const err = o.specError;
  const first = err instanceof ReprodErrors ? (err.errors[0] ?? err) : err;
  const more = err instanceof ReprodErrors && err.errors.length > 1 ? ` (and ${err.errors.length - 1} more)` : '';
  const last = o.lastPass;
  return {
    file: o.spec?.pipeline.file ?? 'dvc.yaml',
    specText: o.spec?.text ?? '',
    stages: o.phases,
    ...(o.tracking ? { tracking: o.tracking } : {}),
    ...(o.engine ? { engine: o.engine } : {}),
    ...(first
      ? {
          error: {
            code: first.code,
            message: `${first.message}${more}`,
            file: first.source?.file ?? 'dvc.yaml',
            ...(first.source?.key ? { key: first.source.key } : {}),
            ...(first.source?.line !== undefined ? { line: first.source.line } : {}),
          },
        }
      : {}),
    ...(last ? { lastPass: { startedAt: last.startedAt.toISOString(), finishedAt: last.finishedAt.toISOString(), ran: last.ran, failed: last.failed } } : {}),
  };
}
