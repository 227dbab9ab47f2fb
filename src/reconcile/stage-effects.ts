import { ReprodError } from '../core/errors.js';
import { humanBytes } from '../core/bytes.js';
import type { HashProgress, Logger, StageRuntime } from '../core/ports.js';
import type { Lockfile, LockStage, Stage } from '../core/types.js';
import { lockStageData } from '../lock/lockfile.js';
import { pyJsonDumpsSorted } from '../lock/py-json.js';
import { observeStage } from './observe.js';
import { inputsFingerprint } from './stage-fingerprint.js';
import { settleOutcome, type StageOutcome } from './outcome.js';
import { executeStage, lockEntryFromObserved, planStage, type StagePlan, type StageStep, type StepDeps } from './stage-steps.js';
import type { LockStore } from '../core/ports.js';
import type { PreparedRuntime } from '../core/ports.js';

/**
 * What the reconciler does to the world, one stage at a time. The default
 * implementation ({@link stepEffects}) is the stage steps that `repro` uses;
 * tests of the reconciler's logic supply fakes.
 */
export interface StageEffects {
  /** Observes the stage: why it is stale (empty = up to date), what it runs in. */
  /** `step` hears when the plan has much to read (Hashing). */
  plan(stage: Stage, signal: AbortSignal, step?: (s: StageStep) => void): Promise<StagePlan>;
  /** The fingerprint of the stage's inputs as they are now (see inputsFingerprint). */
  inputs(stage: Stage, signal: AbortSignal): Promise<string>;
  /**
   * Runs a planned stage and commits it; a cancelled signal stops it. Never
   * throws: what it gave or threw comes back settled (outcome.ts). `onStart`
   * is called when the stage really runs (not when restored from the
   * run-cache), with its image ready; it may return extra environment.
   */
  execute(
    plan: StagePlan,
    opts: { signal: AbortSignal; runId: string; onStart?(runId: string, prepared: PreparedRuntime): Promise<Record<string, string>>; step?(s: StageStep): void },
  ): Promise<StageOutcome>;
  newRunId(): string;
  /** dvc.lock as committed (status shows each stage's committed outputs). */
  readLock(): Promise<Lockfile>;
  /** Persists what a pass learnt (the hash state); called when a pass ends. */
  flush(): Promise<void>;
}

/** The inputs part of a lock entry (cmd, deps, params), as comparable text. */
function inputsText(entry: LockStage): string {
  return pyJsonDumpsSorted(lockStageData({ ...entry, outs: [] }));
}

/** The inputs of `stage` on disk now, as comparable text; undefined when some are missing. */
async function inputsNow(d: StepDeps, stage: Stage): Promise<string | undefined> {
  const bare = { ...stage, outs: [] };
  try {
    return inputsText(lockEntryFromObserved(bare, await observeStage(d, bare, undefined), false));
  } catch (e) {
    if (e instanceof ReprodError) return undefined;
    throw e;
  }
}

/**
 * The stage steps' ports for one run of `stage`, refusing to record the run
 * when its inputs changed while it ran. executeStage hashes deps again after
 * the command, so an edit during the run would otherwise be locked next to
 * outputs made from the old content: the stage would look up to date, and the
 * run-cache would map the new inputs to the old outputs. The inputs are read
 * when the command starts (after any pull) and compared at commit; refused,
 * the outputs are removed uncommitted and the stage runs again.
 */
export function guardedDeps(d: StepDeps, stage: Stage): StepDeps {
  let atStart: string | undefined;
  const runtime: StageRuntime = {
    name: d.runtime.name,
    identify: (s, signal) => d.runtime.identify(s, signal),
    prepare: (s, signal, log, onBuilding) => d.runtime.prepare(s, signal, log, onBuilding),
    run: async (req) => {
      atStart = await inputsNow(d, stage);
      return d.runtime.run(req);
    },
  };
  const lockStore: LockStore = {
    read: () => d.lockStore.read(),
    commit: async (name, entry) => {
      if (name === stage.name && atStart !== undefined && inputsText(entry) !== atStart) {
        throw new ReprodError('STALE_RUN', `the inputs of stage '${name}' changed while it ran: its outputs are not recorded`, { source: stage.source });
      }
      await d.lockStore.commit(name, entry);
    },
  };
  return { ...d, runtime, lockStore };
}

/** dvc.lock's file, hashed to tell whether the parsed copy is still current (when the store names no others). */
const LOCK_FILES: readonly string[] = ['dvc.lock'];

/**
 * Reads dvc.lock (every lock file the store names) through the LockStore,
 * parsing it again only when their content changed (by the hasher, whose state cache makes an unchanged file a
 * stat): planning a stage needs its entry, and parsing a lock of a thousand
 * stages for each of them would cost more than all the rest of planning.
 */
export function cachedLockReader(d: Pick<StepDeps, 'hasher' | 'lockStore'>): () => Promise<Lockfile> {
  let seen: string | undefined;
  let lock: Lockfile | undefined;
  return async () => {
    let now = '';
    for (const f of d.lockStore.lockFiles?.() ?? LOCK_FILES) now += `${(await d.hasher.hash(f))?.info.md5 ?? ''}:`;
    if (lock && now === seen) return lock;
    const fresh = await d.lockStore.read();
    // if the file changed between the hash and the read, `seen` is older than `fresh`: the next call parses again
    seen = now;
    lock = fresh;
    return fresh;
  };
}

/** How a pass treats every stage: `repro --force`, `repro --no-run-cache`. */
export interface EffectOptions {
  force?: boolean;
  runCache?: boolean;
  /**
   * Whether this plan of `stage` is forced, asked at each plan (the daemon's
   * rerun action: true once, for the next plan of the stage it was asked for).
   */
  forceOnce?: (stage: string) => boolean;
}

/**
 * The effects of the stage steps. `recordedRuntime` gives the runtime
 * identity a stage's last successful run used (for `image-changed`); it is
 * asked once per stage, and afterwards the runs made here say it.
 */
export function stepEffects(d: StepDeps, recordedRuntime: (stage: string) => Promise<string | undefined>, o: EffectOptions = {}): StageEffects {
  const readLock = cachedLockReader(d);
  const recorded = new Map<string, string | undefined>();
  const runtimeOf = async (stage: string): Promise<string | undefined> => {
    if (!recorded.has(stage)) recorded.set(stage, await recordedRuntime(stage));
    return recorded.get(stage);
  };
  return {
    async plan(stage, signal, step) {
      const entry = (await readLock()).stages.get(stage.name);
      const force = o.force === true || o.forceOnce?.(stage.name) === true;
      const progress = step ? hashingStep(d.log.child({ stage: stage.name }), step) : undefined;
      return planStage(d, stage, entry, { recordedRuntime: await runtimeOf(stage.name), signal, ...(force ? { force: true } : {}), ...(progress ? { progress } : {}) });
    },
    async inputs(stage, signal) {
      // outputs are not inputs, and a running stage is writing them: leave them unhashed
      return inputsFingerprint(await planStage(d, { ...stage, outs: [] }, undefined, { signal }));
    },
    async execute(plan, { signal, runId, onStart, step }) {
      let outcome: StageOutcome;
      try {
        const done = await executeStage(guardedDeps(d, plan.stage), plan, {
          signal,
          runId,
          ...(o.runCache === false ? { runCache: false } : {}),
          ...(onStart ? { onStart } : {}),
          ...(step ? { step } : {}),
        });
        outcome = settleOutcome(runId, { done });
      } catch (thrown) {
        outcome = settleOutcome(runId, { thrown });
      }
      if (outcome.kind === 'ran') recorded.set(plan.stage.name, outcome.prepared.identity.key);
      else if (outcome.kind === 'restored') recorded.set(plan.stage.name, plan.runtime.key);
      return outcome;
    },
    newRunId: () => d.newRunId(),
    readLock,
    flush: () => d.hasher.flush(),
  };
}

/** Reads at least this much, or this many files, and a plan shows as Hashing. */
export const HASHING_SHOWN = { bytes: 8 * 1024 * 1024, files: 500 };

/** A plan's hash listener: a read big enough to take a while makes the stage `Hashing`, and the log says what it reads. */
function hashingStep(log: Logger, step: (s: StageStep) => void): HashProgress {
  return {
    reading(path, files, bytes) {
      if (bytes < HASHING_SHOWN.bytes && files < HASHING_SHOWN.files) return;
      const detail = `${path} (${humanBytes(bytes)}${files > 1 ? ` in ${files} files` : ''})`;
      log.info({ path, files, bytes }, 'hashing');
      step({ step: 'hashing', detail });
    },
    read: () => undefined,
  };
}
