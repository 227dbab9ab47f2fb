import { systemClock, type Logger, type StageLogSink } from '../core/ports.js';
import type { Stage } from '../core/types.js';
import type { ResolvedRuntime } from '../pipeline/stage-runtime.js';
import { trackingResultOf } from '../reconcile/outcome.js';
import { Reconciler, type ReconcilerHooks, type ReconcilerOptions, type ReconcileSpec } from '../reconcile/reconciler.js';
import type { StatusSink } from '../reconcile/reconciler-api.js';
import { stepEffects, type EffectOptions } from '../reconcile/stage-effects.js';
import type { StepDeps } from '../reconcile/stage-steps.js';
import { systemTimerClock } from '../core/ports.js';
import { StatusReporter } from '../status/reporter.js';
import type { PassTracking, StageTracking } from '../tracking/stage-run-recorder.js';
import { stepDeps, type Project, type SelectedRuntime } from './project.js';
import { pipelineModels, trackingCondition, type TrackingService } from './tracking.js';

/**
 * The one engine, composed: `reprod repro` and `reprod daemon` build their
 * Reconciler here, with the same effects, status reporter and tracking hooks.
 * They differ only in how they drive it (one pass, or passes until stopped)
 * and in what they add around it (the CLI's printing; the watcher and the
 * HTTP endpoint).
 */

/** What status/<stage>.yaml says about where a stage runs. */
export function statusReporter(project: Project, selected: SelectedRuntime): StatusReporter {
  return new StatusReporter(project.statusStore, systemClock, (stage) => {
    const r = selected.resolve(stage);
    return { kind: r.kind === 'container' ? 'docker' : 'host', reason: r.reason };
  });
}

export interface EngineOptions {
  project: Project;
  selected: SelectedRuntime;
  log: Logger;
  /** The spec in force (the daemon's changes as files change). */
  spec(): ReconcileSpec;
  loadSpec: ReconcilerOptions['loadSpec'];
  tracking?: TrackingService | undefined;
  /** One-shot runs give tracking a moment to deliver at the end of the pass. */
  flushTrackingMs?: number;
  /** Where a stage's output also goes (besides status/logs/<stage>.log). */
  tee?: (stage: Stage) => StageLogSink | undefined;
  pull?: StepDeps['pull'];
  effects?: EffectOptions;
  hooks?: ReconcilerHooks;
  /** Where status goes instead of the reporter itself (the daemon's web view sees each document on its way). */
  statusSink?: (reporter: StatusReporter) => StatusSink;
  reconciler?: Partial<Omit<ReconcilerOptions, 'loadSpec' | 'effects' | 'status' | 'log' | 'hooks' | 'tracking'>>;
}

export async function buildEngine(o: EngineOptions): Promise<{ reconciler: Reconciler; reporter: StatusReporter }> {
  const { project, selected, log } = o;
  const reporter = statusReporter(project, selected);
  const deps = stepDeps(project, selected.runtime, log, o.tee);
  if (o.pull) deps.pull = o.pull;
  const tracking = o.tracking;
  // background delivery (the daemon): TrackingAvailable says `Delivered` once a pass's records have arrived
  const delivered: ReconcilerHooks | undefined =
    tracking && o.flushTrackingMs === undefined ? { passFinished: () => void tracking.whenIdle().then(() => reconciler.refreshPipelineStatus()) } : undefined;
  const hooks = composeHooks(composeHooks(tracking ? trackingHooks(tracking, project, o.spec, selected.resolve, o.flushTrackingMs) : undefined, delivered), o.hooks);
  const reconciler: Reconciler = new Reconciler({
    loadSpec: o.loadSpec,
    effects: stepEffects(deps, (name) => reporter.recordedRuntime(name), o.effects),
    status: o.statusSink ? o.statusSink(reporter) : reporter,
    clock: systemTimerClock,
    log,
    ...(hooks ? { hooks } : {}),
    ...(tracking ? { tracking: () => trackingCondition(tracking.health()) } : {}),
    previousStatus: await project.statusStore.readPipeline(),
    ...o.reconciler,
  });
  return { reconciler, reporter };
}

/** Calls `a`'s hook, then `b`'s; stageStarting merges their environments (b's win). */
export function composeHooks(a: ReconcilerHooks | undefined, b: ReconcilerHooks | undefined): ReconcilerHooks | undefined {
  if (!a || !b) return a ?? b;
  return {
    passStarted: async (id) => {
      await a.passStarted?.(id);
      await b.passStarted?.(id);
    },
    stageStarting: async (stage, runId, plan, prepared) => ({
      ...((await a.stageStarting?.(stage, runId, plan, prepared)) ?? {}),
      ...((await b.stageStarting?.(stage, runId, plan, prepared)) ?? {}),
    }),
    stageFinished: async (stage, outcome, plan) => {
      const r = await a.stageFinished?.(stage, outcome, plan);
      const r2 = await b.stageFinished?.(stage, outcome, plan);
      return { ...(r ?? {}), ...(r2 ?? {}) };
    },
    stageDecided: (d, stage) => {
      a.stageDecided?.(d, stage);
      b.stageDecided?.(d, stage);
    },
    passFinished: async (id, summary) => {
      await a.passFinished?.(id, summary);
      await b.passFinished?.(id, summary);
    },
  };
}

/**
 * The hooks that record stage runs in MLflow: a parent run per pass (created
 * when its first stage starts), a nested run per stage run, the run's ids in
 * the stage's environment and its id in status. A pass's run ends FAILED when
 * a stage's last decision was a failure, KILLED when it was a cancellation.
 */
export function trackingHooks(
  tracking: TrackingService,
  project: Project,
  spec: () => ReconcileSpec,
  resolve: (stage: Stage) => ResolvedRuntime,
  flushMs?: number,
): ReconcilerHooks {
  let pass: PassTracking | undefined;
  const started = new Map<string, StageTracking>();
  const recorder = () => {
    const s = spec();
    return tracking.recorder({ ws: project.ws, pipelineFile: s.pipeline.file, models: pipelineModels(s.pipeline.stages, resolve) });
  };
  let rec = recorder();
  return {
    passStarted: () => {
      rec = recorder();
      pass = rec.beginPass();
    },
    stageStarting: async (stage, runId, plan, prepared) => {
      pass ??= rec.beginPass();
      const runtime = prepared.kind === 'host' ? 'host' : prepared.imageId;
      const t = await rec.startStage(pass, { stage, reprodRunId: runId, runtime, reasons: plan.reasons });
      started.set(runId, t);
      return { ...t.env };
    },
    stageFinished: async (_stage, outcome) => {
      const t = started.get(outcome.runId);
      if (!t) return;
      started.delete(outcome.runId);
      return rec.finishStage(t, trackingResultOf(outcome));
    },
    passFinished: async (_id, summary) => {
      const last = summary.decisions;
      const outcome = last.some((d) => d.action === 'failed') ? 'failed' : last.some((d) => d.action === 'cancelled') ? 'cancelled' : 'succeeded';
      if (pass) await rec.endPass(pass, outcome);
      pass = undefined;
      // a one-shot command gives tracking a moment to deliver; what is left waits in the outbox for the next run
      if (flushMs !== undefined) await tracking.flush(flushMs);
    },
  };
}
