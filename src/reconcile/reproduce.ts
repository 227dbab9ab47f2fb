import { ReprodError } from '../core/errors.js';
import type { Clock, Hasher, Logger, ObjectCache, StageLogSink, StageRuntime, Workspace } from '../core/ports.js';
import type { PyDict } from '../core/pyvalue.js';
import type { ChangeReason, HashInfo, Lockfile, LockStage, Stage } from '../core/types.js';
import { selectStages, type Dag } from '../pipeline/dag.js';
import { stageStatus } from '../pipeline/stage-status.js';
import { observeStage, type Observed } from './observe.js';
import { canUseRunCache, restoreFromRunCache, saveToRunCache } from './run-cache-store.js';
import { lockStageFromRun } from '../lock/lockfile.js';

/** What happened to one stage in a repro pass. */
export type StageDecision =
  | { stage: string; action: 'skipped' }
  | { stage: string; action: 'frozen' }
  | { stage: string; action: 'would-run'; reasons: ChangeReason[] }
  | { stage: string; action: 'ran' | 'restored'; reasons: ChangeReason[]; runId: string; lock: LockStage }
  | { stage: string; action: 'failed'; reasons: ChangeReason[]; error: ReprodError }
  | { stage: string; action: 'blocked'; upstream: string };

export type ReproEvent =
  | { type: 'stage-skipped'; stage: string }
  | { type: 'stage-starting'; stage: Stage; reasons: ChangeReason[]; runId: string }
  | { type: 'stage-restored'; stage: string }
  | { type: 'stage-finished'; stage: string; action: 'ran' | 'restored' }
  | { type: 'lock-written'; path: string };

export interface LockStore {
  read(): Promise<Lockfile>;
  write(lock: Lockfile): Promise<void>;
}

export interface ReproDeps {
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
}

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
  onEvent?(e: ReproEvent): void;
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
 * Brings the selected stages up to date, upstream first, exactly as `dvc repro`
 * decides: a stage runs when `stageStatus` gives a reason (or `force`), else it
 * is skipped; a stage whose upstream failed is blocked. Outputs are removed
 * before a run (unless `persist`) and after a failed one, so a failure never
 * leaves a mix of old and new outputs; dvc.lock is written after each stage.
 */
export async function reproduce(d: ReproDeps, dag: Dag, opts: ReproOptions = {}): Promise<StageDecision[]> {
  const stages = selectStages(dag, opts.targets ?? [], {
    ...(opts.downstream ? { downstream: true } : {}),
    ...(opts.single ? { single: true } : {}),
  });
  let lock = await d.lockStore.read();
  const decisions: StageDecision[] = [];
  const failed = new Set<string>();

  for (const stage of stages) {
    if (opts.signal?.aborted) break;
    const blockedBy = (dag.upstream.get(stage.name) ?? []).find((u) => failed.has(u));
    if (blockedBy) {
      failed.add(stage.name);
      decisions.push({ stage: stage.name, action: 'blocked', upstream: blockedBy });
      continue;
    }
    const log = d.log.child({ stage: stage.name });
    const entry = lock.stages.get(stage.name);
    let reasons: ChangeReason[] = [];
    try {
      const obs = await observeStage(d, stage, entry);
      reasons = stageStatus(stage, entry, obs);
      const forced = opts.force === true;
      if (stage.frozen && !forced) {
        decisions.push({ stage: stage.name, action: 'frozen' });
        continue;
      }
      if (reasons.length === 0 && !forced) {
        log.debug({}, 'up to date');
        opts.onEvent?.({ type: 'stage-skipped', stage: stage.name });
        decisions.push({ stage: stage.name, action: 'skipped' });
        continue;
      }
      if (opts.dry) {
        decisions.push({ stage: stage.name, action: 'would-run', reasons });
        continue;
      }
      // Check every input before touching any output: bad input deletes nothing.
      const inputs = lockEntryFromObserved(stage, obs, false);
      const runId = d.newRunId();

      if (!forced && opts.runCache !== false) {
        const restored = await restoreFromRunCache(d, stage, inputs, entry);
        if (restored) {
          lock = setStage(lock, stage.name, restored);
          await d.lockStore.write(lock);
          opts.onEvent?.({ type: 'stage-restored', stage: stage.name });
          decisions.push({ stage: stage.name, action: 'restored', reasons, runId, lock: restored });
          continue;
        }
      }

      opts.onEvent?.({ type: 'stage-starting', stage, reasons, runId });
      log.info({ runId, reasons: reasons.map((r) => r.kind) }, 'running stage');
      for (const out of stage.outs) if (!out.persist) await d.ws.remove(out.path);
      const result = await d.runtime.run({
        stage,
        workspace: d.ws.root,
        runId,
        env: { ...(d.env ?? {}), DVC_STAGE: stage.name },
        log: d.stageLog(stage),
        signal: opts.signal ?? new AbortController().signal,
      });
      if (result.outcome.kind === 'cancelled' || result.outcome.exitCode !== 0) {
        for (const out of stage.outs) if (!out.persist) await d.ws.remove(out.path);
        const what =
          result.outcome.kind === 'cancelled'
            ? 'was cancelled'
            : `failed with exit code ${result.outcome.exitCode}${result.outcome.oomKilled ? ' (killed: out of memory)' : ''}`;
        throw new ReprodError('CMD_FAILED', `failed to reproduce '${stage.name}': the command ${what}`, {
          source: stage.source,
        });
      }
      const after = await observeStage(d, stage, undefined);
      const committed = lockEntryFromObserved(stage, after, true);
      // Metrics and plots with `cache: false` still go to the cache when DVC records the run in its run-cache.
      const runCached = canUseRunCache(stage, committed);
      for (const out of stage.outs) {
        const r = after.results.get(out.path);
        if (r && (out.cache || runCached)) await d.cache.save(out.path, r);
      }
      lock = setStage(lock, stage.name, committed);
      await d.lockStore.write(lock);
      opts.onEvent?.({ type: 'lock-written', path: 'dvc.lock' });
      if (runCached) await saveToRunCache(d, stage, committed);
      opts.onEvent?.({ type: 'stage-finished', stage: stage.name, action: 'ran' });
      decisions.push({ stage: stage.name, action: 'ran', reasons, runId, lock: committed });
    } catch (e) {
      const error =
        e instanceof ReprodError ? e : new ReprodError('CMD_FAILED', `failed to reproduce '${stage.name}'`, { cause: e });
      failed.add(stage.name);
      decisions.push({ stage: stage.name, action: 'failed', reasons, error });
      if (!opts.keepGoing) break;
    } finally {
      await d.hasher.flush();
    }
  }
  return decisions;
}

/** Replaces a stage's entry in place, or appends it: DVC keeps existing positions. */
function setStage(lock: Lockfile, name: string, entry: LockStage): Lockfile {
  const stages = new Map(lock.stages);
  stages.set(name, entry);
  return { stages };
}
