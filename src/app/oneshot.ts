import { errorMessage } from '../core/errno.js';
import type { Logger, PreparedRuntime, ProgressOut, StageLogSink } from '../core/ports.js';
import { hashDisplay } from './hash-progress.js';
import { FolderListings, type FolderLister } from '../hashing/folder-listings.js';
import type { ChangeReason, Stage } from '../core/types.js';
import { selectStages } from '../pipeline/dag.js';
import type { StageDecision } from '../reconcile/outcome.js';
import type { StagePlan } from '../reconcile/stage-steps.js';
import { cachedLockReader } from '../reconcile/stage-effects.js';
import { outsEscapeError } from '../reconcile/out-guard.js';
import { commitObserved, planStage } from '../reconcile/stage-steps.js';
import { changedSources, reproSelection, verifySources, type ChangedSource, type SourceDecision } from './data-sources.js';
import { trackingOn } from './tracking-switch.js';
import type { PassRunLabel } from './engine.js';
import { loadSpec, selectRuntime, statusReporter, stepDeps, withProject, type Project, type RuntimeMode, type Spec } from './project.js';

export type { StageDecision } from '../reconcile/outcome.js';
export type { SourceDecision } from './data-sources.js';

export interface OneShotOptions {
  root: string;
  runtime: RuntimeMode;
  log: Logger;
  /** The caller holds the workspace lock (the CLI's writing commands do): orphans of any owner can be removed. */
  lockHeld?: boolean;
  /** Where hashing progress goes (stderr: a bar on a terminal, plain lines elsewhere). */
  progress?: ProgressOut;
  /** The spec this command has already read (status reads it once for data sources and stages); else it is read here. */
  spec?: Spec;
  /** How folders are read (a read-only command lists each once: hashing/folder-listings.ts); default: anew. */
  listings?: FolderLister;
}

type Opened = Awaited<ReturnType<typeof open>>;

async function withOpen<T>(opts: OneShotOptions, fn: (ctx: Opened) => Promise<T>): Promise<T> {
  const hashing = opts.progress ? hashDisplay(opts.progress) : undefined;
  try {
    return await withProject(opts.root, opts.log, async (project) => fn(await open(opts, project)), undefined, hashing, opts.listings);
  } finally {
    hashing?.finish();
  }
}

async function open(opts: OneShotOptions, project: Project) {
  const spec = opts.spec ?? loadSpec(project.root);
  if (spec.files) project.lockStore.usePipelineFiles(spec.files);
  const selected = await selectRuntime(project, spec, opts.runtime, opts.log);
  return { project, spec, selected, reporter: statusReporter(project, selected) };
}

/**
 * Plans the chosen stages in DVC's order, upstream first, reading only: the
 * runtime is identified (a build context hashed, an image inspected), never
 * built or pulled, and nothing is written but the hash state cache.
 */
async function planAll(ctx: Opened, log: Logger, stages: readonly Stage[], force = false): Promise<StagePlan[]> {
  const { project, selected, reporter } = ctx;
  const deps = stepDeps(project, selected.runtime, log);
  const readLock = cachedLockReader(deps);
  const signal = new AbortController().signal;
  const plans: StagePlan[] = [];
  for (const stage of stages) {
    const lock = await readLock();
    plans.push(
      await planStage(deps, stage, lock.stages.get(stage.name), {
        recordedRuntime: await reporter.recordedRuntime(stage.name),
        signal,
        ...(force ? { force: true } : {}),
      }),
    );
  }
  await project.hasher.flush();
  return plans;
}

/**
 * Every stale stage (in dvc.yaml order) with its reasons, and the stages
 * looked at (all, or those the targets name), in dvc.yaml order. Read-only.
 */
export async function pipelineStatus(opts: OneShotOptions, targets: string[]): Promise<{ stale: { stage: Stage; reasons: ChangeReason[] }[]; looked: string[] }> {
  return withOpen(opts, async (ctx) => {
    const chosen = new Set(selectStages(ctx.spec.dag, targets, { single: true }).map((s) => s.name));
    const looked = ctx.spec.pipeline.stages.filter((s) => chosen.has(s.name));
    const plans = await planAll(ctx, opts.log, looked);
    return { stale: plans.filter((p) => p.reasons.length > 0).map((p) => ({ stage: p.stage, reasons: p.reasons })), looked: looked.map((s) => s.name) };
  });
}

/**
 * `status`: the `.dvc` data sources whose outputs changed (see
 * changedSources), then, unless the targets name only data sources, the
 * stale stages as {@link pipelineStatus} finds them. It writes nothing but
 * the hash state, so the spec is read once for both and each folder is
 * listed once for all the walks (dvc.yaml files, `.dvc` files, hashing).
 */
export async function workspaceStatus(
  opts: OneShotOptions,
  targets: string[],
): Promise<{ changed: ChangedSource[]; stale: { stage: Stage; reasons: ChangeReason[] }[]; looked: string[] }> {
  const listings = opts.listings ?? new FolderListings();
  const { changed, stageTargets, spec } = await changedSources(opts.root, targets, opts.log, listings);
  if (stageTargets === undefined) return { changed, stale: [], looked: [] };
  return { changed, ...(await pipelineStatus({ ...opts, listings, ...(spec ? { spec } : {}) }, stageTargets)) };
}

export interface ReproRun {
  targets?: string[];
  force?: boolean;
  downstream?: boolean;
  single?: boolean;
  /** Say what would run, changing nothing (no image built, no status written). */
  dry?: boolean;
  keepGoing?: boolean;
  /** Use outputs recorded in the run-cache instead of running, as DVC does (default true). */
  runCache?: boolean;
  /** `--pull`: missing data comes from the remote before a stage runs (and the run-cache first). */
  pull?: boolean;
  /** Stages running at once (`-j`; default 1: DVC's order, one after another). */
  jobs?: number;
  /** false (`--no-tracking`): no MLflow runs, whatever REPROD_TRACKING says (see trackingOn). */
  tracking?: boolean;
  signal?: AbortSignal;
  /** Where a stage's output also goes (besides status/logs/<stage>.log). */
  tee?: (stage: Stage) => StageLogSink | undefined;
  /** A stage will really run (after its image is ready). */
  onStart?(stage: Stage, reasons: readonly ChangeReason[], prepared: PreparedRuntime): void;
  /** Every decision as it is made. */
  onDecision?(d: StageDecision): void;
  /** What was done with each data source (`.dvc` file) verified before the stages. */
  onSource?(d: SourceDecision): void;
  /**
   * MLflow for this pass: what its run is called (`exp run` names it after the
   * experiment), and where records go when not the workspace's own (see
   * OpenTrackingOptions.storeRoot and outboxDir: two passes at once in one
   * process need an outbox each).
   */
  record?: { run?: PassRunLabel; storeRoot?: string; outboxDir?: string };
}

/**
 * `reprod repro`: one pass of the reconciler over the selected stages (the
 * daemon's engine, stopped after its first pass), writing dvc.lock, the
 * cache, status/*.yaml and MLflow runs as it goes. `dry` only plans.
 */
export async function reproOnce(opts: OneShotOptions, run: ReproRun): Promise<StageDecision[]> {
  return withOpen(opts, async (ctx) => {
    const { project, spec, selected } = ctx;
    const { stages, sources } = await reproSelection(project, spec, run);
    const verify = (dry: boolean, pull?: (paths: readonly string[]) => Promise<void>) =>
      verifySources(project, sources, { ...(run.force ? { force: true } : {}), dry, ...(pull ? { pull } : {}), ...(run.onSource ? { onSource: run.onSource } : {}) });
    if (run.dry) {
      await verify(true);
      return dryDecisions(ctx, opts.log, stages, run);
    }
    // an output under a symlink that leaves the workspace: refused before any stage runs or anything is deleted
    for (const stage of stages) {
      const escaped = await outsEscapeError(project.ws, stage);
      if (escaped) throw escaped;
    }
    let pull;
    if (run.pull) {
      // loaded only here: the S3 SDK costs start-up time that commands without --pull need not pay
      const { pullRunCache, remotePuller } = await import('./remotes.js');
      pull = remotePuller(project, { log: opts.log });
      if (stages.length > 0 && run.runCache !== false) await pullRunCache(project, { log: opts.log });
    }
    // the data sources upstream are recorded first (pulled, with --pull, when only missing): the stages reading them see the new hashes
    await verify(false, pull);
    if (stages.length === 0) return [];
    if (selected.docker) await selected.docker.removeOrphans({ workspaceLockHeld: opts.lockHeld === true });
    // commands a killed reprod left running stop before any stage runs (leftovers.ts, loaded here as below)
    await (await import('./leftovers.js')).stopOrphanCommands(project.root, opts.log);
    // leftovers of killed writers go while the pass runs: only files minutes old are touched, never this run's
    // (loaded here: it reads MLflow's settings, which status and a dry run need not load)
    const cleaning = import('./leftovers.js').then(({ cleanLeftovers }) => cleanLeftovers(project, { log: opts.log })).catch((err: unknown) =>
      opts.log.warn({ err: errorMessage(err) }, 'cannot remove temporary files left by interrupted writes'),
    );
    // MLflow's module is loaded only when runs are tracked
    await using tracking = trackingOn(process.env, run.tracking)
      ? await (await import('./tracking.js')).openTracking({
          root: project.root,
          log: opts.log,
          ...(run.record?.storeRoot ? { storeRoot: run.record.storeRoot } : {}),
          ...(run.record?.outboxDir ? { outboxDir: run.record.outboxDir } : {}),
        })
      : undefined;
    // the reconciler (and xstate) is loaded only to run stages: status and --dry never need it
    const { buildEngine } = await import('./engine.js');
    const { reconciler } = await buildEngine({
      project,
      selected,
      log: opts.log,
      spec: () => spec,
      loadSpec: () => spec,
      tracking,
      ...(run.record?.run ? { trackingRun: run.record.run } : {}),
      flushTrackingMs: 5_000,
      ...(run.tee ? { tee: run.tee } : {}),
      ...(pull ? { pull } : {}),
      effects: { ...(run.force ? { force: true } : {}), ...(run.runCache === false ? { runCache: false } : {}) },
      hooks: {
        stageStarting: async (stage, _runId, plan, prepared) => {
          run.onStart?.(stage, plan.reasons, prepared);
          return {};
        },
        stageDecided: (d) => run.onDecision?.(d),
      },
      reconciler: { maxParallel: Math.max(1, run.jobs ?? 1), resyncMs: 0 },
    });
    // the engine answered (orphans were removed): status says so, as the daemon's does
    if (selected.docker) reconciler.setEngine(true, '');
    const summary = await reconciler.runOnce({ scope: new Set(stages.map((s) => s.name)), ...(run.keepGoing ? { keepGoing: true } : {}) }, run.signal);
    await cleaning;
    return summary.decisions;
  });
}

/** `repro --dry`: what a pass would do, in DVC's order; reads only. */
async function dryDecisions(ctx: Opened, log: Logger, stages: Stage[], run: ReproRun): Promise<StageDecision[]> {
  const out: StageDecision[] = [];
  for (const plan of await planAll(ctx, log, stages, run.force === true)) {
    const name = plan.stage.name;
    const d: StageDecision =
      plan.stage.frozen && !plan.forced
        ? { stage: name, action: 'frozen' }
        : plan.reasons.length === 0 && !plan.forced
          ? { stage: name, action: 'skipped' }
          : { stage: name, action: 'would-run', reasons: plan.reasons };
    out.push(d);
    run.onDecision?.(d);
  }
  return out;
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
    const stages = selectStages(spec.dag, targets, { single: targets.length > 0 }).filter((s) => !s.frozen);
    // an output under a symlink that leaves the workspace: nothing is committed (saving chmods and relinks outputs)
    for (const stage of stages) {
      const escaped = await outsEscapeError(project.ws, stage);
      if (escaped) throw escaped;
    }
    for (const stage of stages) {
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
