import { ReprodError } from '../core/errors.js';
import type { Clock, Hasher, HashProgress, LockStore, Logger, ObjectCache, PreparedRuntime, RunResult, RuntimeIdentity, StageLogSink, StageRuntime, Workspace } from '../core/ports.js';
import type { PyDict } from '../core/pyvalue.js';
import type { ChangeReason, HashInfo, LockStage, Stage } from '../core/types.js';
import { lockStageFromRun } from '../lock/lockfile.js';
import { describeReason, stageStatus } from '../pipeline/stage-status.js';
import { staleReasons } from '../status/status-docs.js';
import { staleDetail, staleWords } from '../status/stale-detail.js';
import { observeStage, type Observed } from './observe.js';
import { outsEscapeError } from './out-guard.js';
import { canUseRunCache, restoreFromRunCache, saveToRunCache } from './run-cache-store.js';


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
  /**
   * In a git repository, `.gitignore` entries for cached outputs, as DVC
   * writes them when it commits a stage. Best effort: a stage whose outputs
   * are committed is not failed for a `.gitignore` that cannot be written.
   */
  ignoreOuts?(paths: readonly string[]): Promise<void>;
}

/** A stage as observed now: why it is stale (empty = up to date) and what it would run in. */
export interface StagePlan {
  stage: Stage;
  entry: LockStage | undefined;
  obs: Observed;
  reasons: ChangeReason[];
  /** What it would run in, known without building or pulling. */
  runtime: RuntimeIdentity;
  /** `repro --force`: it runs whatever the reasons (frozen or not), and never from the run-cache. */
  forced?: boolean;
}

/**
 * Whether a runtime changed since the last successful run: identities of the
 * same family differ. A run recorded by image ID (`sha256:…`, before build
 * contexts were recorded) is not compared with a context hash: it would read
 * as a change that did not happen.
 */
export function runtimeChange(recorded: string | undefined, now: RuntimeIdentity): ChangeReason | undefined {
  const key = now.key;
  if (recorded === undefined || key === undefined || recorded === key) return undefined;
  if (key.startsWith('ctx:') && recorded.startsWith('sha256:')) return undefined;
  return { kind: 'image', from: recorded, to: key, what: key.startsWith('ctx:') && recorded.startsWith('ctx:') ? 'context' : 'image' };
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
 * `image-changed` when what it would run in differs from what its last
 * successful run used (`recordedRuntime`, an identity key kept outside
 * dvc.lock). Read-only: nothing is built, pulled or written.
 */
export async function planStage(
  d: Pick<StepDeps, 'ws' | 'hasher' | 'cache' | 'runtime'>,
  stage: Stage,
  entry: LockStage | undefined,
  opts: { recordedRuntime?: string | undefined; signal: AbortSignal; force?: boolean; progress?: HashProgress },
): Promise<StagePlan> {
  const runtime = await d.runtime.identify(stage, opts.signal);
  const obs = await observeStage(d, stage, entry, opts.progress);
  const reasons = stageStatus(stage, entry, obs);
  const changed = entry && !stage.frozen ? runtimeChange(opts.recordedRuntime, runtime) : undefined;
  if (changed) reasons.push(changed);
  return { stage, entry, obs, reasons, runtime, ...(opts.force ? { forced: true } : {}) };
}

/**
 * What executeStage returns: a stage's own failures come back as `failed`
 * (not yet classified: see outcome.ts, where every outcome is settled once).
 */
export type ExecuteResult =
  | { kind: 'ran'; runId: string; entry: LockStage; run: RunResult; prepared: PreparedRuntime }
  | { kind: 'restored'; runId: string; entry: LockStage }
  | { kind: 'failed'; runId: string; error: ReprodError; run?: RunResult; prepared?: PreparedRuntime }
  | { kind: 'cancelled'; runId: string; run?: RunResult; prepared?: PreparedRuntime };

/**
 * What a stage is busy with on its way (status phases `Hashing`, `Building`):
 * a plan reading inputs whose recorded hashes no longer hold, a run building
 * its image; `running` once its command starts.
 */
export interface StageStep {
  step: 'hashing' | 'building' | 'running';
  /** What it is hashing or building, for people (`data/big.bin (100.0 MiB)`, an image's tag). */
  detail?: string;
}

export interface ExecuteOptions {
  signal: AbortSignal;
  /** Hears what the run is busy with: building its image, then running its command. */
  step?(s: StageStep): void;
  runId?: string;
  /** Restore outputs from the run-cache when the same inputs ran before (default true). */
  runCache?: boolean;
  /**
   * Called when the stage will really run, with its image ready and before
   * its outputs are removed; may return extra environment for it (tracking ids).
   */
  onStart?(runId: string, prepared: PreparedRuntime): Promise<Record<string, string> | void> | Record<string, string> | void;
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
 *   check inputs ─► restore from run-cache? ─► prepare the image ─► remove outs
 *   ─► run ─► hash outs ─► cache outs ─► commit dvc.lock entry ─► record in run-cache
 *
 * Every input is checked, and the image built, before any output is touched,
 * so bad input or a broken Dockerfile deletes nothing; a failed or cancelled
 * run removes what it wrote, so outputs are the committed ones or none, never
 * a mix. Errors of the stage itself come back as `failed`; infrastructure
 * errors (engine, cache, lock) throw.
 */
export async function executeStage(d: StepDeps, planned: StagePlan, opts: ExecuteOptions): Promise<ExecuteResult> {
  // outputs under a symlink that leaves the workspace: fail before anything is pulled, removed or restored
  const escaped = await outsEscapeError(d.ws, planned.stage);
  if (escaped) return { kind: 'failed', runId: opts.runId ?? d.newRunId(), error: escaped };
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
  if (opts.runCache !== false && !plan.forced && !plan.reasons.some((r) => r.kind === 'image')) {
    const restored = await restoreFromRunCache(d, stage, inputs, plan.entry);
    if (restored) {
      await d.lockStore.commit(stage.name, restored);
      await d.ignoreOuts?.(stage.outs.filter((o) => o.cache).map((o) => o.path));
      return { kind: 'restored', runId, entry: restored };
    }
  }

  const log = d.stageLog(stage);
  let prepared: PreparedRuntime;
  try {
    prepared = await d.runtime.prepare(stage, opts.signal, log, (image) => opts.step?.({ step: 'building', detail: image }));
  } catch (e) {
    if (opts.signal.aborted) return { kind: 'cancelled', runId };
    throw e;
  }
  if (opts.signal.aborted) return { kind: 'cancelled', runId, prepared };
  opts.step?.({ step: 'running' });
  const extraEnv = (await opts.onStart?.(runId, prepared)) ?? {};
  d.log.info({ stage: stage.name, runId, runtime: prepared.kind === 'host' ? 'host' : prepared.ref, reasons: plan.reasons.map(describeReason), why: whyWords(plan) }, 'running stage');
  await removeOuts(d, stage);
  let run: RunResult;
  try {
    run = await d.runtime.run({
      stage,
      prepared,
      workspace: d.ws.root,
      runId,
      env: { ...(d.env ?? {}), ...extraEnv, DVC_STAGE: stage.name },
      log,
      signal: opts.signal,
    });
  } catch (e) {
    // the engine went away mid-run (or worse): what the command wrote is not an output
    await removeOuts(d, stage);
    throw e;
  } finally {
    // the output is complete: what the log's redactor held back is written now
    log.end?.();
  }
  if (run.outcome.kind === 'cancelled') {
    await removeOuts(d, stage);
    return { kind: 'cancelled', runId, run, prepared };
  }
  if (run.outcome.exitCode !== 0) {
    await removeOuts(d, stage);
    const oom = run.outcome.oomKilled ? ' (killed: out of memory)' : '';
    const error = new ReprodError('CMD_FAILED', `failed to reproduce '${stage.name}': the command failed with exit code ${run.outcome.exitCode}${oom}`, {
      source: stage.source,
    });
    return { kind: 'failed', runId, error, run, prepared };
  }

  try {
    const entry = await commitObserved(d, { ...plan, obs: await observeStage(d, stage, undefined) });
    return { kind: 'ran', runId, entry, run, prepared };
  } catch (e) {
    await removeOuts(d, stage);
    if (e instanceof ReprodError) return { kind: 'failed', runId, error: e, run, prepared };
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
  await d.ignoreOuts?.(stage.outs.filter((o) => o.cache).map((o) => o.path));
  return entry;
}

/** Why a stage runs, in words with the values behind each reason (`params.yaml:train.C changed 1.0 → 0.5`); `forced` when nothing changed. */
export function whyWords(plan: Pick<StagePlan, 'reasons' | 'entry' | 'obs' | 'forced'>): string[] {
  if (plan.reasons.length === 0) return [plan.forced ? 'forced' : 'asked for'];
  const { obs } = plan;
  return staleWords(staleDetail(staleReasons(plan.reasons), plan.entry, { params: (f) => obs.params.get(f) ?? undefined, md5: (p) => obs.hashes.get(p)?.md5 }));
}
