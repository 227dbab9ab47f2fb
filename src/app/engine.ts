import { ReprodError } from '../core/errors.js';
import type { Logger, StageLogSink } from '../core/ports.js';
import type { Stage } from '../core/types.js';
import type { ResolvedRuntime } from '../pipeline/stage-runtime.js';
import { trackingResultOf } from '../reconcile/outcome.js';
import { Reconciler, type ReconcilerHooks, type ReconcilerOptions, type ReconcileSpec } from '../reconcile/reconciler.js';
import type { StatusSink } from '../reconcile/reconciler-api.js';
import { stepEffects, type EffectOptions } from '../reconcile/stage-effects.js';
import type { StepDeps } from '../reconcile/stage-steps.js';
import { systemTimerClock } from '../core/ports.js';
import type { StatusReporter } from '../status/reporter.js';
import type { PassTracking, StageTracking } from '../tracking/stage-run-recorder.js';
import { statusReporter, stepDeps, type Project, type SelectedRuntime } from './project.js';
import { askedCredentials, credentialHooks, stageTrackingEnv } from './stage-credentials.js';
import { pipelineModels, trackingCondition, type TrackingService } from './tracking.js';

/**
 * The one engine, composed: `reprod repro` and `reprod daemon` build their
 * Reconciler here, with the same effects, status reporter and tracking hooks.
 * They differ only in how they drive it (one pass, or passes until stopped)
 * and in what they add around it (the CLI's printing; the watcher and the
 * HTTP endpoint).
 */

export interface EngineOptions {
  project: Project;
  selected: SelectedRuntime;
  log: Logger;
  /** The spec in force (the daemon's changes as files change). */
  spec(): ReconcileSpec;
  loadSpec: ReconcilerOptions['loadSpec'];
  tracking?: TrackingService | undefined;
  /** What each pass's MLflow run is called and tagged (default: `pipeline`); see {@link PassRunLabel}. */
  trackingRun?: PassRunLabel;
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
  /** Where the credentials stages ask for come from (default: process.env). */
  env?: Readonly<Record<string, string | undefined>>;
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
  const recorded = tracking ? trackingHooks(tracking, project, o.spec, selected.resolve, o.flushTrackingMs, o.trackingRun) : undefined;
  // credentials reach a stage only when its manifest asks (stage-credentials.ts)
  const credentials = credentialHooks(selected.resolve, o.env ?? process.env);
  const hooks = composeHooks(composeHooks(composeHooks(recorded, credentials), delivered), o.hooks);
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
 * How a pass's MLflow run is labelled: `reprod exp run` names each
 * experiment's run after the experiment (and tags it with its baseline), so
 * that MLflow lists experiments by name; the daemon and `repro` keep
 * `pipeline`. A function is asked once per pass, at its start.
 */
export type PassRunLabel =
  | { name?: string; tags?: Record<string, string> }
  | ((passId: string) => { name?: string; tags?: Record<string, string> } | undefined);

function labelOf(label: PassRunLabel | undefined, passId: string): { name?: string; tags?: Record<string, string> } {
  return (typeof label === 'function' ? label(passId) : label) ?? {};
}

/**
 * The hooks that record stage runs in MLflow: a parent run per pass (created
 * when its first stage starts or is restored), a nested run per stage run,
 * the run's ids in the stage's environment and its id in status. When the
 * pass ends, its run gets every param of the pipeline and every metric its
 * stages produced (src/tracking/pass-record.ts), then ends FAILED when a
 * stage's last decision was a failure, KILLED when it was a cancellation.
 */
export function trackingHooks(
  tracking: TrackingService,
  project: Project,
  spec: () => ReconcileSpec,
  resolve: (stage: Stage) => ResolvedRuntime,
  flushMs?: number,
  label?: PassRunLabel,
): ReconcilerHooks {
  let pass: PassTracking | undefined;
  let passId = '';
  const started = new Map<string, StageTracking>();
  // stage records still being written: the pass's run waits for them (its metrics come from them)
  const finishing = new Set<Promise<unknown>>();
  const recorder = () => {
    const s = spec();
    return tracking.recorder({ ws: project.ws, pipelineFile: s.pipeline.file, models: pipelineModels(s.pipeline.stages, s.manifests.stages), stages: s.pipeline.stages });
  };
  let rec = recorder();
  const currentStages = (): readonly Stage[] | undefined => {
    try {
      return spec().pipeline.stages;
    } catch (e) {
      // no valid spec now: the stages the pass's results name stand in
      if (e instanceof ReprodError) return undefined;
      throw e;
    }
  };
  const begin = (): PassTracking => {
    const l = labelOf(label, passId);
    return rec.beginPass({ ...(l.name ? { name: l.name } : {}), ...(l.tags ? { tags: l.tags } : {}) });
  };
  const during = <T>(p: Promise<T>): Promise<T> => {
    finishing.add(p);
    void p.finally(() => finishing.delete(p)).catch(() => undefined);
    return p;
  };
  return {
    passStarted: (id) => {
      passId = id;
      rec = recorder();
      pass = begin();
    },
    stageStarting: async (stage, runId, plan, prepared) => {
      pass ??= begin();
      const runtime = prepared.kind === 'host' ? 'host' : prepared.imageId;
      const t = await rec.startStage(pass, { stage, reprodRunId: runId, runtime, reasons: plan.reasons });
      started.set(runId, t);
      return stageTrackingEnv(t.env, askedCredentials(resolve, stage));
    },
    stageFinished: async (stage, outcome) => {
      const t = started.get(outcome.runId);
      if (!t) {
        // restored from the run-cache: no run of its own, but its metrics belong to the pass
        if (outcome.kind === 'restored') {
          pass ??= begin();
          await during(rec.stageRestored(pass, stage));
        }
        return;
      }
      started.delete(outcome.runId);
      return during(rec.finishStage(t, trackingResultOf(outcome)));
    },
    passFinished: async (_id, summary) => {
      while (finishing.size > 0) await Promise.allSettled([...finishing]);
      const last = summary.decisions;
      const outcome = last.some((d) => d.action === 'failed') ? 'failed' : last.some((d) => d.action === 'cancelled') ? 'cancelled' : 'succeeded';
      // the spec as the pass ends (a daemon's first pass starts before its spec is loaded)
      if (pass) await rec.endPass(pass, outcome, undefined, currentStages());
      pass = undefined;
      // a one-shot command gives tracking a moment to deliver; what is left waits in the outbox for the next run
      if (flushMs !== undefined) await tracking.flush(flushMs);
    },
  };
}
