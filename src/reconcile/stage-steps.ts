import { ReprodError } from '../core/errors.js';
import type { Clock, Hasher, Logger, ObjectCache, RunResult, StageLogSink, StageRuntime, Workspace } from '../core/ports.js';
import type { PyDict } from '../core/pyvalue.js';
import type { ChangeReason, HashInfo, Lockfile, LockStage, Stage } from '../core/types.js';
import { lockStageFromRun } from '../lock/lockfile.js';
import { stageStatus } from '../pipeline/stage-status.js';
import { observeStage, type Observed } from './observe.js';
import { canUseRunCache, restoreFromRunCache, saveToRunCache } from './run-cache-store.js';

/**
 * dvc.lock as a store. `commit` is serialized and re-reads the file each time
 * (level-triggered): concurrent stages never lose each other's entries, and a
 * stage keeps its position in the file as DVC keeps it.
 */
export interface LockStore {
  read(): Promise<Lockfile>;
  commit(stage: string, entry: LockStage): Promise<void>;
}

/** What the stage steps need; the composition root provides it. */
export interface StepDeps {
  ws: Workspace;
  hasher: Hasher;
  cache: ObjectCache;
  runtime: StageRuntime;
  lockStore: LockStore;
  clock: Clock;
  log: Logger;
  newRunId(): string;
  stageLog(stage: Stage): StageLogSink;
  env?: Record<string, string>;
  /**
   * Pull-before-run (`repro --pull`, the daemon's setting): fetches and checks
   * out what these workspace paths are recorded as, from the remote. Best
   * effort: it never throws for data it cannot get.
   */
  pull?(paths: readonly string[]): Promise<void>;
}

/** A stage as observed now: why it is stale (empty = up to date) and what it would run in. */
export interface StagePlan {
  stage: Stage;
  entry: LockStage | undefined;
  obs: Observed;
  reasons: ChangeReason[];
  /** Image ID or `host`. */
  runtime: string;
}

/** dvc.lock's entry for a stage from what is on disk now; without outs, it checks every input exists. */
export function lockEntryFromObserved(stage: Stage, obs: Observed, withOuts: boolean): LockStage {
  const hashes = new Map<string, HashInfo>();
  for (const [p, h] of obs.hashes) if (h) hashes.set(p, h);
  const params = new Map<string, PyDict>();
  for (const [p, v] of obs.params) if (v) params.set(p, v);
  return lockStageFromRun(withOuts ? stage : { ...stage, outs: [] }, { hashes, params });
}

/**
 * Observes one stage and says why it is stale: DVC's reasons, plus
 * `image-changed` when the image it would run in differs from the one its last
 * successful run used (`recordedRuntime`, kept outside dvc.lock).
 */
export async function planStage(
  d: StepDeps,
  stage: Stage,
  entry: LockStage | undefined,
  opts: { recordedRuntime?: string | undefined; signal: AbortSignal },
): Promise<StagePlan> {
  const runtime = await d.runtime.prepare(stage, opts.signal);
  const obs = await observeStage(d, stage, entry);
  const reasons = stageStatus(stage, entry, obs);
  if (entry && opts.recordedRuntime !== undefined && opts.recordedRuntime !== runtime && !stage.frozen) {
    reasons.push({ kind: 'image', from: opts.recordedRuntime, to: runtime });
  }
  return { stage, entry, obs, reasons, runtime };
}

export type StageOutcome =
  | { kind: 'ran'; runId: string; entry: LockStage; run: RunResult }
  | { kind: 'restored'; runId: string; entry: LockStage }
  | { kind: 'failed'; runId: string; error: ReprodError; run?: RunResult }
  | { kind: 'cancelled'; runId: string; run?: RunResult };

export interface ExecuteOptions {
  signal: AbortSignal;
  runId?: string;
  /** Restore outputs from the run-cache when the same inputs ran before (default true). */
  runCache?: boolean;
  /** Called right before the command runs; may return extra environment for it (tracking ids). */
  onStart?(runId: string): Promise<Record<string, string> | void> | Record<string, string> | void;
  onRestored?(runId: string): void;
}

/**
 * With a puller: missing deps are pulled, and so are the outputs when only
 * they are stale (then the run-cache restores them instead of a run, as
 * `dvc repro --pull` does); the stage is observed again afterwards.
 */
async function pullMissing(d: StepDeps, plan: StagePlan): Promise<StagePlan> {
  const { stage } = plan;
  const paths = stage.deps.filter((dep) => !plan.obs.hashes.get(dep.path)).map((dep) => dep.path);
  if (plan.reasons.length > 0 && plan.reasons.every((r) => r.kind === 'out')) paths.push(...stage.outs.filter((o) => o.cache).map((o) => o.path));
  if (paths.length === 0 || !d.pull) return plan;
  await d.pull(paths);
  return { ...plan, obs: await observeStage(d, stage, plan.entry) };
}

async function removeOuts(d: StepDeps, stage: Stage): Promise<void> {
  for (const out of stage.outs) if (!out.persist) await d.ws.remove(out.path);
}

/**
 * Brings one planned stage up to date:
 *
 *   check inputs ─► restore from run-cache? ─► remove outs ─► run ─► hash outs
 *   ─► cache outs ─► commit dvc.lock entry ─► record in run-cache
 *
 * Every input is checked before any output is touched, so bad input deletes
 * nothing; a failed or cancelled run removes what it wrote, so outputs are the
 * committed ones or none, never a mix. Errors of the stage itself come back as
 * `failed`; only infrastructure errors (cache, lock) throw.
 */
export async function executeStage(d: StepDeps, planned: StagePlan, opts: ExecuteOptions): Promise<StageOutcome> {
  const plan = d.pull ? await pullMissing(d, planned) : planned;
  const { stage } = plan;
  const runId = opts.runId ?? d.newRunId();
  let inputs: LockStage;
  try {
    inputs = lockEntryFromObserved(stage, plan.obs, false);
  } catch (e) {
    if (e instanceof ReprodError) return { kind: 'failed', runId, error: e };
    throw e;
  }

  // the run-cache knows nothing of images: a stage whose image changed must really run
  if (opts.runCache !== false && !plan.reasons.some((r) => r.kind === 'image')) {
    const restored = await restoreFromRunCache(d, stage, inputs, plan.entry);
    if (restored) {
      await d.lockStore.commit(stage.name, restored);
      opts.onRestored?.(runId);
      return { kind: 'restored', runId, entry: restored };
    }
  }

  const extraEnv = (await opts.onStart?.(runId)) ?? {};
  d.log.info({ stage: stage.name, runId, runtime: plan.runtime, reasons: plan.reasons.map((r) => r.kind) }, 'running stage');
  await removeOuts(d, stage);
  const run = await d.runtime.run({
    stage,
    workspace: d.ws.root,
    runId,
    env: { ...(d.env ?? {}), ...extraEnv, DVC_STAGE: stage.name },
    log: d.stageLog(stage),
    signal: opts.signal,
  });
  if (run.outcome.kind === 'cancelled') {
    await removeOuts(d, stage);
    return { kind: 'cancelled', runId, run };
  }
  if (run.outcome.exitCode !== 0) {
    await removeOuts(d, stage);
    const oom = run.outcome.oomKilled ? ' (killed: out of memory)' : '';
    const error = new ReprodError('CMD_FAILED', `failed to reproduce '${stage.name}': the command failed with exit code ${run.outcome.exitCode}${oom}`, {
      source: stage.source,
    });
    return { kind: 'failed', runId, error, run };
  }

  try {
    const entry = await commitObserved(d, { ...plan, obs: await observeStage(d, stage, undefined) });
    return { kind: 'ran', runId, entry, run };
  } catch (e) {
    await removeOuts(d, stage);
    if (e instanceof ReprodError) return { kind: 'failed', runId, error: e, run };
    throw e;
  }
}

/**
 * Commits what is on disk for a stage: hashes of deps and outs into its
 * dvc.lock entry, outs into the cache, and an entry in the run-cache. Throws
 * when a dep or an out is missing.
 */
export async function commitObserved(d: StepDeps, plan: Pick<StagePlan, 'stage' | 'obs'>): Promise<LockStage> {
  const { stage, obs } = plan;
  const entry = lockEntryFromObserved(stage, obs, true);
  // Metrics and plots with `cache: false` still go to the cache when DVC records the run in its run-cache.
  const runCached = canUseRunCache(stage, entry);
  for (const out of stage.outs) {
    const r = obs.results.get(out.path);
    if (r && (out.cache || runCached)) await d.cache.save(out.path, r);
  }
  await d.lockStore.commit(stage.name, entry);
  if (runCached) await saveToRunCache(d, stage, entry);
  return entry;
}
