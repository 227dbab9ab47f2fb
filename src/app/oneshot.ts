import { systemClock, type Logger, type StageLogSink } from '../core/ports.js';
import type { ChangeReason, Stage } from '../core/types.js';
import { selectStages } from '../pipeline/dag.js';
import { reproduce, type ReproOptions, type StageDecision } from '../reconcile/reproduce.js';
import { cachedLockReader } from '../reconcile/stage-effects.js';
import { commitObserved, planStage } from '../reconcile/stage-steps.js';
import { StatusReporter, lastRunFrom } from '../status/reporter.js';
import type { StagePhase } from '../status/status-docs.js';
import { loadSpec, selectRuntime, stepDeps, withProject, type Project, type RuntimeMode } from './project.js';
import type { StageTracking } from '../tracking/stage-run-recorder.js';

export interface OneShotOptions {
  root: string;
  runtime: RuntimeMode;
  log: Logger;
}

type Opened = Awaited<ReturnType<typeof open>>;

function withOpen<T>(opts: OneShotOptions, fn: (ctx: Opened) => Promise<T>): Promise<T> {
  return withProject(opts.root, opts.log, async (project) => fn(await open(opts, project)));
}

async function open(opts: OneShotOptions, project: Project) {
  const spec = loadSpec(project.root);
  const selected = await selectRuntime(project, spec, opts.runtime, opts.log);
  const reporter = new StatusReporter(project.statusStore, systemClock, (stage) => {
    const r = selected.resolve(stage);
    return { kind: r.kind === 'container' ? 'docker' : 'host', reason: r.reason };
  });
  return { project, spec, selected, reporter };
}

/** Every stale stage (in dvc.yaml order) with its reasons; targets limit the stages looked at. */
export async function pipelineStatus(opts: OneShotOptions, targets: string[]): Promise<{ stage: Stage; reasons: ChangeReason[] }[]> {
  return withOpen(opts, async ({ project, spec, selected, reporter }) => {
    const chosen = new Set(selectStages(spec.dag, targets, { single: true }).map((s) => s.name));
    const deps = stepDeps(project, selected.runtime, opts.log);
    const lock = await project.lockStore.read();
    const out: { stage: Stage; reasons: ChangeReason[] }[] = [];
    const signal = new AbortController().signal;
    for (const stage of spec.pipeline.stages) {
      if (!chosen.has(stage.name)) continue;
      const plan = await planStage(deps, stage, lock.stages.get(stage.name), {
        recordedRuntime: await reporter.recordedRuntime(stage.name),
        signal,
      });
      if (plan.reasons.length) out.push({ stage, reasons: plan.reasons });
    }
    await project.hasher.flush();
    return out;
  });
}

function phaseOf(d: StageDecision): StagePhase {
  switch (d.action) {
    case 'skipped':
    case 'ran':
    case 'restored':
      return 'UpToDate';
    case 'frozen':
      return 'Frozen';
    case 'would-run':
      return 'Stale';
    case 'failed':
      return 'Failed';
    case 'cancelled':
      return 'Cancelled';
    case 'blocked':
      return 'Blocked';
  }
}

export interface ReproRun extends Omit<ReproOptions, 'recordedRuntime'> {
  /** Where a stage's output also goes (besides status/logs/<stage>.log). */
  tee?: (stage: Stage) => StageLogSink | undefined;
  /** `--pull`: missing data comes from the remote before a stage runs (and the run-cache first). */
  pull?: boolean;
}

/**
 * `reprod repro`: one pass over the selected stages, writing dvc.lock, the
 * cache, and status/<stage>.yaml + status/pipeline.yaml as it goes.
 */
export async function reproOnce(opts: OneShotOptions, run: ReproRun): Promise<StageDecision[]> {
  return withOpen(opts, async ({ project, spec, selected, reporter }) => {
    if (selected.docker) await selected.docker.removeOrphans();
    const deps = stepDeps(project, selected.runtime, opts.log, run.tee);
    if (run.pull && !run.dry) {
      // loaded only here: the S3 SDK costs start-up time that commands without --pull need not pay
      const { pullRunCache, remotePuller } = await import('./remotes.js');
      deps.pull = remotePuller(project, { log: opts.log });
      if (run.runCache !== false) await pullRunCache(project, { log: opts.log });
    }
    const phases: Record<string, StagePhase> = {};
    const prev = await project.statusStore.readPipeline();
    for (const s of spec.pipeline.stages) phases[s.name] = prev?.status.stages[s.name] ?? 'Stale';
    const startedAt = systemClock.now();
    const { openTracking, pipelineModels, trackingCondition } = await import('./tracking.js');
    await using tracking = run.dry ? undefined : await openTracking({ root: project.root, log: opts.log });
    const recorder = tracking?.recorder({ ws: project.ws, pipelineFile: spec.pipeline.file, models: pipelineModels(spec.pipeline.stages, selected.resolve) });
    const pass = recorder?.beginPass({ startedAt });
    const tracked = new Map<string, StageTracking>();
    const decisions = await reproduce(deps, spec.dag, {
      ...run,
      recordedRuntime: (name) => reporter.recordedRuntime(name),
      beforeRun: async (stage, runId, plan) => {
        if (!recorder || !pass) return {};
        const t = await recorder.startStage(pass, { stage, reprodRunId: runId, runtime: plan.runtime, reasons: plan.reasons });
        tracked.set(stage.name, t);
        return { ...t.env };
      },
      onDecision: async (d, detail) => {
        await run.onDecision?.(d, detail);
        const stage = spec.dag.byName.get(d.stage);
        if (!stage) return;
        phases[d.stage] = phaseOf(d);
        const { entry } = detail;
        const reasons = 'reasons' in d ? d.reasons : [];
        const t = tracked.get(d.stage);
        const { trackingRunId } =
          t && recorder
            ? await recorder.finishStage(t, {
                outcome: d.action === 'ran' ? 'succeeded' : d.action === 'cancelled' ? 'cancelled' : 'failed',
                action: 'ran',
                ...(entry && d.action === 'ran' ? { entry } : {}),
                ...(d.action === 'failed' ? { error: d.error.message } : {}),
              })
            : { trackingRunId: undefined };
        const lastRun =
          d.action === 'ran' || d.action === 'restored'
            ? lastRunFrom(stage, d.runId, d.action, 'Succeeded', detail.runtime ?? 'host', detail.run)
            : d.action === 'failed' && detail.run
              ? lastRunFrom(stage, d.runId ?? 'unknown', 'ran', 'Failed', detail.runtime ?? 'host', detail.run, d.error.message)
              : undefined;
        if (lastRun && trackingRunId) lastRun.trackingRunId = trackingRunId;
        await reporter.stage(stage, detail.runtime, {
          phase: phases[d.stage] as StagePhase,
          reasons: d.action === 'ran' || d.action === 'restored' || d.action === 'skipped' ? [] : reasons,
          entry,
          ...(lastRun ? { lastRun } : {}),
          ...(d.action === 'failed' ? { message: d.error.message } : {}),
          ...(d.action === 'blocked' ? { message: `upstream stage '${d.upstream}' failed` } : {}),
        });
      },
    });
    if (recorder && pass) {
      const failed = decisions.some((d) => d.action === 'failed');
      await recorder.endPass(pass, decisions.some((d) => d.action === 'cancelled') ? 'cancelled' : failed ? 'failed' : 'succeeded');
    }
    // a one-shot command gives tracking a moment to deliver; what is left waits in the outbox for the next run
    const health = tracking ? await tracking.flush(5_000) : undefined;
    if (!run.dry) {
      await reporter.pipeline({
        ...(health ? { tracking: trackingCondition(health) } : {}),
        file: spec.pipeline.file,
        specText: spec.text,
        stages: phases,
        lastPass: {
          startedAt: startedAt.toISOString(),
          finishedAt: systemClock.now().toISOString(),
          ran: decisions.filter((d) => d.action === 'ran' || d.action === 'restored').length,
          failed: decisions.filter((d) => d.action === 'failed').length,
        },
      });
    }
    return decisions;
  });
}

/**
 * `reprod commit`: records the workspace as it is in dvc.lock and the cache,
 * for stages whose commands ran elsewhere (by hand, or as Airflow tasks), as
 * `dvc commit` does. Every dep and out must exist; nothing runs.
 */
export async function commitStages(opts: OneShotOptions, targets: string[]): Promise<string[]> {
  return withOpen(opts, async ({ project, spec, selected }) => {
    const deps = stepDeps(project, selected.runtime, opts.log);
    const committed: string[] = [];
    const readLock = cachedLockReader(deps);
    for (const stage of selectStages(spec.dag, targets, { single: targets.length > 0 })) {
      if (stage.frozen) continue;
      const lock = await readLock();
      const plan = await planStage(deps, stage, lock.stages.get(stage.name), { signal: new AbortController().signal });
      if (plan.reasons.length === 0) continue;
      await commitObserved(deps, plan);
      committed.push(stage.name);
    }
    await project.hasher.flush();
    return committed;
  });
}
