import { ReprodError } from '../core/errors.js';
import type { RunResult } from '../core/ports.js';
import type { ChangeReason, LockStage, Stage } from '../core/types.js';
import { selectStages, type Dag } from '../pipeline/dag.js';
import { cachedLockReader, guardedDeps } from './stage-effects.js';
import { executeStage, planStage, type StagePlan, type StepDeps } from './stage-steps.js';

/** What happened to one stage in a repro pass. */
export type StageDecision =
  | { stage: string; action: 'skipped' }
  | { stage: string; action: 'frozen' }
  | { stage: string; action: 'would-run'; reasons: ChangeReason[] }
  | { stage: string; action: 'ran' | 'restored'; reasons: ChangeReason[]; runId: string }
  | { stage: string; action: 'failed'; reasons: ChangeReason[]; error: ReprodError; runId?: string }
  | { stage: string; action: 'cancelled'; reasons: ChangeReason[] }
  | { stage: string; action: 'blocked'; upstream: string };

export type ReproEvent =
  | { type: 'stage-starting'; stage: Stage; reasons: ChangeReason[]; runId: string }
  | { type: 'stage-restored'; stage: string };

export interface ReproOptions {
  targets?: string[];
  force?: boolean;
  downstream?: boolean;
  single?: boolean;
  dry?: boolean;
  keepGoing?: boolean;
  /** Use outputs recorded in the run-cache instead of running, as DVC does (default true). */
  runCache?: boolean;
  signal?: AbortSignal;
  /** The image (or `host`) each stage's last successful run used, for `image-changed`. */
  recordedRuntime?(stage: string): Promise<string | undefined>;
  onEvent?(e: ReproEvent): void;
  /** Right before a stage's command runs: extra environment for it (e.g. tracking run ids). */
  beforeRun?(stage: Stage, runId: string, plan: StagePlan): Promise<Record<string, string>>;
  /** Called once per stage with what happened, for status reports. */
  onDecision?(d: StageDecision, detail: DecisionDetail): Promise<void> | void;
}

/** What went with a decision: where the stage ran, its run, and its dvc.lock entry afterwards. */
export interface DecisionDetail {
  runtime?: string;
  run?: RunResult;
  entry?: LockStage;
}

/**
 * Brings the selected stages up to date one at a time, upstream first, exactly
 * as `dvc repro` decides: a stage runs when it has a reason (or `force`), else
 * it is skipped; after a failure the pass stops, or with `keepGoing` skips only
 * what depends on the failed stage.
 */
export async function reproduce(d: StepDeps, dag: Dag, opts: ReproOptions = {}): Promise<StageDecision[]> {
  const stages = selectStages(dag, opts.targets ?? [], {
    ...(opts.downstream ? { downstream: true } : {}),
    ...(opts.single ? { single: true } : {}),
  });
  const signal = opts.signal ?? new AbortController().signal;
  const decisions: StageDecision[] = [];
  const failed = new Set<string>();
  // dvc.lock is parsed again only when it changed (a pass over many stages would otherwise parse it per stage)
  const readLock = cachedLockReader(d);
  const decide = async (dec: StageDecision, detail: DecisionDetail = {}) => {
    decisions.push(dec);
    if (opts.onDecision) {
      const entry = 'entry' in detail ? detail.entry : (await readLock()).stages.get(dec.stage);
      await opts.onDecision(dec, { ...detail, ...(entry ? { entry } : {}) });
    }
  };

  for (const stage of stages) {
    if (signal.aborted) break;
    const blockedBy = (dag.upstream.get(stage.name) ?? []).find((u) => failed.has(u));
    if (blockedBy) {
      failed.add(stage.name);
      await decide({ stage: stage.name, action: 'blocked', upstream: blockedBy });
      continue;
    }
    let reasons: ChangeReason[] = [];
    try {
      const lock = await readLock();
      const entry = lock.stages.get(stage.name);
      const plan = await planStage(d, stage, entry, { recordedRuntime: await opts.recordedRuntime?.(stage.name), signal });
      reasons = plan.reasons;
      const forced = opts.force === true;
      if (stage.frozen && !forced) {
        await decide({ stage: stage.name, action: 'frozen' }, { runtime: plan.runtime });
        continue;
      }
      if (reasons.length === 0 && !forced) {
        await decide({ stage: stage.name, action: 'skipped' }, { runtime: plan.runtime });
        continue;
      }
      if (opts.dry) {
        await decide({ stage: stage.name, action: 'would-run', reasons }, { runtime: plan.runtime });
        continue;
      }
      // an input edited while the command ran makes the run's outputs unrecordable (STALE_RUN)
      const outcome = await executeStage(guardedDeps(d, stage), plan, {
        signal,
        runCache: !forced && opts.runCache !== false,
        onStart: async (runId) => {
          opts.onEvent?.({ type: 'stage-starting', stage, reasons, runId });
          return (await opts.beforeRun?.(stage, runId, plan)) ?? {};
        },
        onRestored: () => opts.onEvent?.({ type: 'stage-restored', stage: stage.name }),
      });
      switch (outcome.kind) {
        case 'ran':
          await decide({ stage: stage.name, action: 'ran', reasons, runId: outcome.runId }, { runtime: plan.runtime, run: outcome.run, entry: outcome.entry });
          break;
        case 'restored':
          await decide({ stage: stage.name, action: 'restored', reasons, runId: outcome.runId }, { runtime: plan.runtime, entry: outcome.entry });
          break;
        case 'cancelled':
          failed.add(stage.name);
          await decide({ stage: stage.name, action: 'cancelled', reasons }, { runtime: plan.runtime, ...(outcome.run ? { run: outcome.run } : {}) });
          break;
        case 'failed':
          failed.add(stage.name);
          await decide({ stage: stage.name, action: 'failed', reasons, error: outcome.error, runId: outcome.runId }, { runtime: plan.runtime, ...(outcome.run ? { run: outcome.run } : {}) });
          if (!opts.keepGoing) return decisions;
          break;
      }
    } catch (e) {
      const error = e instanceof ReprodError ? e : new ReprodError('CMD_FAILED', `failed to reproduce '${stage.name}': ${(e as Error).message}`, { cause: e });
      failed.add(stage.name);
      await decide({ stage: stage.name, action: 'failed', reasons, error });
      if (!opts.keepGoing) return decisions;
    } finally {
      await d.hasher.flush();
    }
  }
  return decisions;
}
