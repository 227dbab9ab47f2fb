import { createActor, fromPromise, type Subscription } from 'xstate';
import { ReprodError, ReprodErrors } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import type { Pipeline, Stage } from '../core/types.js';
import { selectStages, type Dag } from '../pipeline/dag.js';
import type { ParsedManifests } from '../pipeline/manifests.js';
import { lastRunFrom, type StageReport } from '../status/reporter.js';
import type { LastRun, PipelineStatusDoc, PipelineStatusInput, StagePhase } from '../status/status-docs.js';
import { DEFAULT_RETRY, errorMessage, retryDelayMs, retryPolicyFor, type RetryPolicy } from './failure-policy.js';
import { isStaleRun, type StageEffects } from './stage-effects.js';
import { isLooking, stageMachine, topState, type StageActor, type StageEmitted, type StageSnapshot } from './stage-machine.js';
import { projectStage } from './stage-projection.js';
import type { StageOutcome, StagePlan } from './stage-steps.js';
import type { TimerClock, TimerHandle } from './timer-clock.js';
import { WorkQueue } from './work-queue.js';

/** The work-queue key that means "re-read the spec, then look at every stage" (no stage name has a colon). */
export const PIPELINE_KEY = ':pipeline';

/** The desired state as loaded from disk (app/project.ts's Spec satisfies it). */
export interface ReconcileSpec {
  pipeline: Pipeline;
  dag: Dag;
  manifests: ParsedManifests;
  /** The text the spec was made from: its hash is the pipeline's generation. */
  text: string;
}

/** Where status goes (StatusReporter satisfies it). */
export interface StatusSink {
  stage(stage: Stage, runtime: string | undefined, report: StageReport): Promise<unknown>;
  pipeline(input: PipelineStatusInput): Promise<void>;
}

export interface PassSummary {
  startedAt: Date;
  finishedAt: Date;
  ran: number;
  restored: number;
  failed: number;
  cancelled: number;
  /** Every stage's phase when the pass ended. */
  phases: Record<string, StagePhase>;
}

/**
 * Where a tracking integration (MLflow) plugs in. Every hook is optional and
 * may be slow; a hook that throws is logged and otherwise ignored, except
 * `stageStarting`, whose failure only means no extra environment.
 */
export interface ReconcilerHooks {
  passStarted?(passId: string): void | Promise<void>;
  /** Called before a stage's command starts; returns extra environment for its container. */
  stageStarting?(stage: Stage, runId: string, plan: StagePlan): Promise<Record<string, string>>;
  /** May return the tracking run's id, which then goes into the stage's status (`lastRun.trackingRunId`). */
  stageFinished?(stage: Stage, outcome: StageOutcome, plan: StagePlan): void | Promise<void | { trackingRunId?: string }>;
  passFinished?(passId: string, summary: PassSummary): void | Promise<void>;
}

/** What the reconciler reports as it goes (counters and histograms; gauges come from `stats()`). */
export interface ReconcilerMetrics {
  runFinished(stage: string, outcome: StageOutcome['kind'], durationSeconds: number | undefined, transient: boolean): void;
  passFinished(summary: PassSummary): void;
}

export interface ReconcilerOptions {
  /** Reads dvc.yaml and the manifests; throws a ReprodError (with file, key, line) when they are invalid. */
  loadSpec(): ReconcileSpec | Promise<ReconcileSpec>;
  effects: StageEffects;
  status: StatusSink;
  clock: TimerClock;
  log: Logger;
  /** Stages running at once; overrides the `Pipeline` manifest's `maxParallel` (default 2). */
  maxParallel?: number;
  /** Quiet time that ends a burst of file events (default 150 ms). */
  debounceMs?: number;
  /** Keys looked at concurrently: plans in flight (default 4). */
  workers?: number;
  /** Retries of transient failures when a stage's manifest says nothing. */
  retry?: RetryPolicy;
  /** Full passes at this interval even without events (default 10 min; 0 = never). */
  resyncMs?: number;
  /** Backoff of keys whose reconcile threw (default 1 s, doubling, ≤ 5 min). */
  keyBackoffMs?: { base: number; max: number };
  hooks?: ReconcilerHooks;
  metrics?: ReconcilerMetrics;
  newPassId?(): string;
  /** Called after each valid spec is loaded (the watcher follows it). */
  onSpec?(spec: ReconcileSpec): void;
  /** The phases status/pipeline.yaml showed before this process: shown until a stage is looked at again. */
  previousStatus?: PipelineStatusDoc;
}

export interface ReconcilerStats {
  alive: boolean;
  specValid: boolean;
  stages: number;
  running: number;
  queueDepth: number;
  queueWaiting: number;
  passes: number;
  lastPassAt: Date | undefined;
  phases: Record<string, StagePhase>;
}

/** States after which a stage's downstream may look at it: nothing more will happen without new input. */
const SETTLED: ReadonlySet<string> = new Set(['upToDate', 'frozen', 'failed', 'blocked']);
/** States that keep a pass open. */
const BUSY: ReadonlySet<string> = new Set(['planning', 'deciding', 'queued', 'running', 'cancelled']);

const DEFAULT_MAX_PARALLEL = 2;

interface Pass {
  id: string;
  startedAt: Date;
  ran: number;
  restored: number;
  failed: number;
  cancelled: number;
}

interface Entry {
  name: string;
  actor: StageActor;
  subs: Subscription[];
  /** The top-level state last seen (kept in step with the sets below by onSnapshot). */
  lastState: string;
}

/**
 * Keeps the pipeline's outputs true to its inputs, for as long as it runs.
 *
 * Level-triggered: a key in the work queue says only *what* to look at. The
 * `pipeline` key re-reads dvc.yaml and the manifests and then looks at every
 * stage; a stage key re-observes that stage from disk. Each stage is an actor
 * of {@link stageMachine}; this class decides when each may act:
 *
 *   key ─► worker ─► ancestors busy? ─ yes ─► WAIT (looked at again when they settle)
 *                         │ no
 *                         ▼
 *                       CHECK ─► plan ─► queued ─► (slot free, upstream settled,
 *                                                   nothing downstream running) ─► START
 *
 * A stage that settles enqueues its direct downstream. Up to `maxParallel`
 * stages run at once; dvc.lock commits are serialized by the LockStore. An
 * invalid spec keeps the last good one, is shown in status/pipeline.yaml, and
 * starts nothing until it is fixed. Stopping cancels running stages, waits
 * for them (containers removed), and writes status.
 */
export class Reconciler {
  private readonly opts: ReconcilerOptions;
  private readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly machine;
  private spec: ReconcileSpec | undefined;
  private specError: ReprodError | undefined;
  private order: string[] = [];
  private ancestors = new Map<string, string[]>();
  private descendants = new Map<string, Set<string>>();
  private readonly entries = new Map<string, Entry>();
  /** Removed from the spec while running: kept until their run has stopped. */
  private readonly retiring = new Set<Entry>();
  /** Entries by top-level state, kept up to date on every snapshot: scheduling never scans every stage. */
  private readonly inState = new Map<string, Set<Entry>>();
  private orderIndex = new Map<string, number>();
  private readonly runIds = new Map<string, string>();
  private readonly lastRuns = new Map<string, LastRun>();
  private readonly backoffUntil = new Map<string, Date>();
  private readonly phases = new Map<string, StagePhase>();
  /** What was last reported per stage: an unchanged report is not even read back. */
  private readonly reported = new Map<string, string>();
  private readonly statusDirty = new Set<string>();
  private pipelineDirty = false;
  private writer: Promise<void> | undefined;
  private pass: Pass | undefined;
  private passes = 0;
  private passSeq = 0;
  private lastPass: { startedAt: Date; finishedAt: Date; ran: number; failed: number } | undefined;
  private alive = false;
  private stopping = false;
  private resyncTimer: TimerHandle | undefined;
  private readonly changeWaiters = new Set<() => void>();

  constructor(opts: ReconcilerOptions) {
    this.opts = opts;
    this.log = opts.log;
    const base = opts.keyBackoffMs?.base ?? 1000;
    this.queue = new WorkQueue({
      clock: opts.clock,
      debounceMs: opts.debounceMs ?? 150,
      baseBackoffMs: base,
      maxBackoffMs: opts.keyBackoffMs?.max ?? 300_000,
    });
    for (const [name, phase] of Object.entries(opts.previousStatus?.status.stages ?? {})) this.phases.set(name, phase);
    const effects = opts.effects;
    this.machine = stageMachine.provide({
      actors: {
        plan: fromPromise(({ input, signal }) => effects.plan(input.stage, signal)),
        inputs: fromPromise(({ input, signal }) => effects.inputs(input.stage, signal)),
        execute: fromPromise(async ({ input, signal }) => {
          const stage = input.plan.stage;
          const runId = effects.newRunId();
          this.runIds.set(stage.name, runId);
          this.markStatus(stage.name);
          let env: Record<string, string> = {};
          if (this.opts.hooks?.stageStarting) {
            try {
              env = await this.opts.hooks.stageStarting(stage, runId, input.plan);
            } catch (err) {
              this.log.warn({ stage: stage.name, runId, err: errorMessage(err) }, 'the stageStarting hook failed');
            }
          }
          return effects.execute(input.plan, { signal: AbortSignal.any([input.signal, signal]), runId, env });
        }),
      },
    });
  }

  /** Asks for a stage (or PIPELINE_KEY) to be looked at, after the debounce window. */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** The spec in force: the last valid one. */
  get currentSpec(): ReconcileSpec | undefined {
    return this.spec;
  }

  /** True when `path` (workspace-relative) is an output of a stage that is running: its events are the stage's own. */
  isBeingWritten(path: string): boolean {
    for (const e of this.state('running')) {
      const s = e.actor.getSnapshot();
      for (const out of s.context.plan?.stage.outs ?? []) {
        if (path === out.path || path.startsWith(`${out.path}/`)) return true;
      }
    }
    return false;
  }

  stats(): ReconcilerStats {
    const running = this.state('running').size;
    return {
      alive: this.alive,
      specValid: this.spec !== undefined && this.specError === undefined,
      stages: this.entries.size,
      running,
      queueDepth: this.queue.depth,
      queueWaiting: this.queue.waiting,
      passes: this.passes,
      lastPassAt: this.lastPass?.finishedAt,
      phases: this.phaseRecord(),
    };
  }

  /** Runs until `signal` aborts, then stops cleanly (running stages cancelled, status written). */
  async start(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.alive = true;
    this.queue.addNow(PIPELINE_KEY);
    this.armResync();
    const n = Math.max(1, this.opts.workers ?? 4);
    const workers = Array.from({ length: n }, () => this.worker());
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await this.stop(workers);
  }

  // ------------------------------------------------------------------ workers

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.passActivity();
      try {
        await this.reconcile(key);
        this.queue.forget(key);
      } catch (err) {
        const delay = this.queue.addRateLimited(key);
        this.log.error({ key, err: errorMessage(err), retryInMs: delay }, 'reconcile failed');
      } finally {
        this.queue.done(key);
        this.checkPassEnd();
      }
    }
  }

  private async reconcile(key: string): Promise<void> {
    if (key === PIPELINE_KEY) {
      await this.reloadSpec();
      return;
    }
    // while the spec is invalid nothing starts; fixing it looks at every stage again
    if (this.specError || !this.spec || this.stopping) return;
    const entry = this.entries.get(key);
    if (!entry) return;
    const actor = entry.actor;
    if (actor.getSnapshot().matches('running')) {
      actor.send({ type: 'CHECK' });
    } else {
      const busy = this.busyAncestor(key);
      if (busy !== undefined) {
        actor.send({ type: 'WAIT' });
        return;
      }
      actor.send({ type: 'CHECK', upstreamFailed: this.failedUpstream(key) });
    }
    await this.until(actor, (s) => !isLooking(s));
  }

  /**
   * An ancestor that has not settled, or will be looked at again: a stage
   * waits for it. (A key in hand does not count by itself: its worker has
   * already sent CHECK or WAIT, and the state says which.)
   */
  private busyAncestor(name: string): string | undefined {
    for (const a of this.ancestors.get(name) ?? []) {
      if (this.queue.has(a)) return a;
      const e = this.entries.get(a);
      if (e && !SETTLED.has(topState(e.actor.getSnapshot()))) return a;
    }
    return undefined;
  }

  private failedUpstream(name: string): string | undefined {
    for (const u of this.spec?.dag.upstream.get(name) ?? []) {
      const e = this.entries.get(u);
      const st = e ? topState(e.actor.getSnapshot()) : undefined;
      if (st === 'failed' || st === 'blocked') return u;
    }
    return undefined;
  }

  private runningDescendant(name: string): string | undefined {
    const desc = this.descendants.get(name);
    if (!desc) return undefined;
    for (const e of this.state('running')) if (desc.has(e.name)) return e.name;
    return undefined;
  }

  /** The entries whose top-level state is `st` (a live set: copy it before changing states). */
  private state(st: string): Set<Entry> {
    let set = this.inState.get(st);
    if (!set) this.inState.set(st, (set = new Set()));
    return set;
  }

  /** Resolves when the actor's state satisfies `pred`, it stops, or the reconciler stops. */
  private until(actor: StageActor, pred: (s: StageSnapshot) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const s = actor.getSnapshot();
        if (s.status !== 'active' || pred(s)) {
          this.changeWaiters.delete(wake);
          resolve();
          return true;
        }
        return false;
      };
      const wake = (): void => void check();
      if (!check()) this.changeWaiters.add(wake);
    });
  }

  private notifyChange(): void {
    for (const w of [...this.changeWaiters]) w();
  }

  // ------------------------------------------------------------------ spec

  private async reloadSpec(): Promise<void> {
    let spec: ReconcileSpec;
    try {
      spec = await this.opts.loadSpec();
    } catch (err) {
      if (!(err instanceof ReprodError)) throw err;
      const first = err instanceof ReprodErrors ? (err.errors[0] ?? err) : err;
      if (this.specError?.message !== err.message) {
        this.log.warn({ file: first.source?.file, line: first.source?.line, key: first.source?.key, err: first.message }, 'the spec is invalid: keeping the last good one');
      }
      this.specError = err;
      this.markPipeline();
      return;
    }
    if (this.specError) this.log.info({}, 'the spec is valid again');
    this.specError = undefined;
    // a full look rewrites what status files say, should someone have changed them meanwhile
    this.reported.clear();
    this.applySpec(spec);
    this.markPipeline();
    try {
      this.opts.onSpec?.(spec);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'onSpec failed');
    }
    for (const name of this.order) this.queue.addNow(name);
  }

  private applySpec(spec: ReconcileSpec): void {
    const dag = spec.dag;
    this.spec = spec;
    this.order = selectStages(dag).map((s) => s.name);
    this.orderIndex = new Map(this.order.map((n, i) => [n, i]));
    const ancestors = new Map<string, string[]>();
    for (const name of this.order) {
      const set = new Set<string>();
      for (const u of dag.upstream.get(name) ?? []) {
        set.add(u);
        for (const a of ancestors.get(u) ?? []) set.add(a);
      }
      // nearest first, so that a waiting stage names its direct upstream
      ancestors.set(name, [...set]);
    }
    const descendants = new Map<string, Set<string>>(this.order.map((n) => [n, new Set<string>()]));
    for (const [name, anc] of ancestors) for (const a of anc) descendants.get(a)?.add(name);
    this.ancestors = ancestors;
    this.descendants = descendants;

    const keep = new Set(this.order);
    for (const [name, entry] of this.entries) {
      if (keep.has(name)) continue;
      this.entries.delete(name);
      this.phases.delete(name);
      this.reported.delete(name);
      this.lastRuns.delete(name);
      this.backoffUntil.delete(name);
      if (entry.actor.getSnapshot().matches('running')) {
        this.retiring.add(entry);
        entry.actor.send({ type: 'CANCEL', reason: 'the stage was removed from the pipeline' });
      } else {
        this.dispose(entry);
      }
    }
    for (const stage of dag.stages) {
      const retry = retryPolicyFor(stage, spec.manifests.stages, this.opts.retry ?? DEFAULT_RETRY);
      const existing = this.entries.get(stage.name);
      if (existing) existing.actor.send({ type: 'UPDATE', stage, retry });
      else this.entries.set(stage.name, this.spawn(stage, retry));
    }
  }

  private spawn(stage: Stage, retry: RetryPolicy): Entry {
    const actor = createActor(this.machine, { input: { stage, retry }, clock: this.opts.clock });
    const name = stage.name;
    const entry: Entry = { name, actor, subs: [], lastState: 'idle' };
    this.state('idle').add(entry);
    entry.subs.push(
      actor.on('settled', () => this.onSettled(name)),
      actor.on('queued', () => this.onQueued(name)),
      actor.on('requeue', () => {
        if (!this.stopping && this.entries.get(name) === entry) this.queue.addNow(name);
      }),
      actor.on('finished', (e) => this.onFinished(e)),
      actor.subscribe({
        next: (s) => this.onSnapshot(name, entry, s),
        error: (err) => this.log.error({ stage: name, err: errorMessage(err) }, 'stage machine crashed'),
      }),
    );
    actor.start();
    return entry;
  }

  private dispose(entry: Entry): void {
    for (const s of entry.subs) s.unsubscribe();
    entry.actor.stop();
    this.retiring.delete(entry);
    this.state(entry.lastState).delete(entry);
    this.notifyChange();
  }

  private *allEntries(): Iterable<Entry> {
    yield* this.entries.values();
    yield* this.retiring;
  }

  // ------------------------------------------------------------------ machine events

  private onSnapshot(name: string, entry: Entry, s: StageSnapshot): void {
    const st = topState(s);
    const was = entry.lastState;
    if (st !== was) {
      this.state(was).delete(entry);
      this.state(st).add(entry);
      entry.lastState = st;
    }
    if (this.retiring.has(entry)) {
      if (st !== 'running') this.dispose(entry);
      this.schedule();
      return;
    }
    if (st === 'backoff' && was !== 'backoff') {
      this.backoffUntil.set(name, new Date(this.opts.clock.now().getTime() + retryDelayMs(s.context.retry, s.context.retries)));
    }
    if (st !== was || st === 'running') this.markStatus(name);
    // a slot freed, an ancestor settled, a stage queued: any of them may let a queued stage start
    if (st !== was) this.schedule();
    this.notifyChange();
    this.checkPassEnd();
  }

  private onSettled(name: string): void {
    for (const d of this.spec?.dag.downstream.get(name) ?? []) this.queue.addNow(d);
    this.schedule();
  }

  private onQueued(name: string): void {
    // a stage about to rerun removes its outputs: whatever is reading them now reads a stale past
    const desc = this.descendants.get(name);
    for (const e of [...this.state('running')]) {
      if (desc?.has(e.name) && this.entries.get(e.name) === e) e.actor.send({ type: 'CANCEL', reason: `upstream stage '${name}' runs again` });
    }
    this.schedule();
  }

  private onFinished(e: Extract<StageEmitted, { type: 'finished' }>): void {
    const stage = e.plan.stage;
    const runId = this.runIds.get(e.stage) ?? 'unknown';
    const reported: StageOutcome =
      e.result.kind === 'outcome'
        ? e.result.outcome
        : {
            kind: 'failed',
            runId,
            error: e.result.error instanceof ReprodError ? e.result.error : new ReprodError('RUNTIME', errorMessage(e.result.error), { cause: e.result.error }),
          };
    // a run refused at commit because its inputs changed is a cancellation, not a failure
    const outcome: StageOutcome =
      reported.kind === 'failed' && isStaleRun(reported.error) ? { kind: 'cancelled', runId: reported.runId, ...(reported.run ? { run: reported.run } : {}) } : reported;
    const run = 'run' in outcome ? outcome.run : undefined;
    const duration = run ? Math.max(0, (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000) : undefined;
    this.opts.metrics?.runFinished(e.stage, outcome.kind, duration, e.transient);
    if (this.pass) {
      if (outcome.kind === 'ran') this.pass.ran++;
      else if (outcome.kind === 'restored') this.pass.restored++;
      else if (outcome.kind === 'failed') this.pass.failed++;
      else this.pass.cancelled++;
    }
    const runtime = e.plan.runtime;
    switch (outcome.kind) {
      case 'ran':
      case 'restored':
        this.lastRuns.set(e.stage, lastRunFrom(stage, outcome.runId, outcome.kind, 'Succeeded', runtime, 'run' in outcome ? outcome.run : undefined));
        break;
      case 'failed':
        this.lastRuns.set(e.stage, lastRunFrom(stage, outcome.runId, 'ran', 'Failed', runtime, outcome.run, outcome.error.message));
        break;
      case 'cancelled':
        this.lastRuns.set(e.stage, lastRunFrom(stage, outcome.runId, 'ran', 'Cancelled', runtime, outcome.run));
        break;
    }
    this.log.info({ stage: e.stage, runId: outcome.runId, outcome: outcome.kind, durationSeconds: duration, transient: e.transient || undefined }, 'stage finished');
    const hook = this.opts.hooks?.stageFinished;
    if (hook) {
      Promise.resolve()
        .then(() => hook(stage, outcome, e.plan))
        .then((r) => {
          const last = this.lastRuns.get(e.stage);
          if (r && r.trackingRunId && last && last.runId === outcome.runId) {
            last.trackingRunId = r.trackingRunId;
            this.markStatus(e.stage);
          }
        })
        .catch((err: unknown) => this.log.warn({ stage: e.stage, err: errorMessage(err) }, 'the stageFinished hook failed'));
    }
  }

  /** Starts queued stages, upstream first, while slots are free. */
  private schedule(): void {
    if (this.stopping || this.specError || !this.spec) return;
    const queued = this.state('queued');
    if (queued.size === 0) return;
    let running = this.state('running').size;
    const limit = Math.max(1, this.opts.maxParallel ?? this.spec.manifests.pipeline.maxParallel ?? DEFAULT_MAX_PARALLEL);
    if (running >= limit) return;
    const candidates = [...queued]
      .filter((e) => this.entries.get(e.name) === e)
      .sort((a, b) => (this.orderIndex.get(a.name) ?? 0) - (this.orderIndex.get(b.name) ?? 0));
    for (const e of candidates) {
      if (running >= limit) return;
      if (!e.actor.getSnapshot().matches('queued')) continue;
      if (this.busyAncestor(e.name) !== undefined || this.runningDescendant(e.name) !== undefined) continue;
      e.actor.send({ type: 'START' });
      running++;
    }
  }

  // ------------------------------------------------------------------ passes

  private passActivity(): void {
    if (this.pass) return;
    const id = this.opts.newPassId?.() ?? `pass-${++this.passSeq}`;
    this.pass = { id, startedAt: this.opts.clock.now(), ran: 0, restored: 0, failed: 0, cancelled: 0 };
    const hook = this.opts.hooks?.passStarted;
    if (hook) {
      Promise.resolve()
        .then(() => hook(id))
        .catch((err: unknown) => this.log.warn({ passId: id, err: errorMessage(err) }, 'the passStarted hook failed'));
    }
  }

  /** A pass ends when no key is ready or in hand and no stage is planning, queued or running. */
  private checkPassEnd(): void {
    const pass = this.pass;
    if (!pass || !this.queue.idle) return;
    for (const st of BUSY) {
      // a queued stage cannot start while the spec is invalid: it does not hold the pass open
      if (st === 'queued' && this.specError) continue;
      if (this.state(st).size > 0) return;
    }
    // a waiting stage whose ancestors all settled missed its wake-up: look at it rather than end the pass
    if (!this.specError && !this.stopping) {
      let woke = false;
      for (const e of this.state('waiting')) {
        if (this.entries.get(e.name) === e && !this.queue.has(e.name) && this.busyAncestor(e.name) === undefined) {
          this.log.warn({ stage: e.name }, 'a waiting stage was not woken: looking at it');
          this.queue.addNow(e.name);
          woke = true;
        }
      }
      if (woke) return;
    }
    this.pass = undefined;
    this.passes++;
    const summary: PassSummary = {
      startedAt: pass.startedAt,
      finishedAt: this.opts.clock.now(),
      ran: pass.ran,
      restored: pass.restored,
      failed: pass.failed,
      cancelled: pass.cancelled,
      phases: this.phaseRecord(),
    };
    this.lastPass = { startedAt: summary.startedAt, finishedAt: summary.finishedAt, ran: pass.ran + pass.restored, failed: pass.failed };
    this.markPipeline();
    this.opts.metrics?.passFinished(summary);
    this.log.info({ passId: pass.id, ran: pass.ran, restored: pass.restored, failed: pass.failed, cancelled: pass.cancelled }, 'pass finished');
    this.opts.effects.flush().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'could not persist the hash state'));
    const hook = this.opts.hooks?.passFinished;
    if (hook) {
      Promise.resolve()
        .then(() => hook(pass.id, summary))
        .catch((err: unknown) => this.log.warn({ passId: pass.id, err: errorMessage(err) }, 'the passFinished hook failed'));
    }
  }

  private armResync(): void {
    const every = this.opts.resyncMs ?? 600_000;
    if (every <= 0 || this.stopping) return;
    this.resyncTimer = this.opts.clock.setTimeout(() => {
      this.queue.addNow(PIPELINE_KEY);
      this.armResync();
    }, every);
  }

  // ------------------------------------------------------------------ status

  private phaseRecord(): Record<string, StagePhase> {
    const out: Record<string, StagePhase> = {};
    for (const name of this.spec?.pipeline.stages.map((s) => s.name) ?? []) out[name] = this.phases.get(name) ?? 'Stale';
    return out;
  }

  private markStatus(name: string): void {
    this.statusDirty.add(name);
    this.kickWriter();
  }

  private markPipeline(): void {
    this.pipelineDirty = true;
    this.kickWriter();
  }

  private kickWriter(): void {
    this.writer ??= this.writeStatus().finally(() => {
      this.writer = undefined;
      if (this.statusDirty.size > 0 || this.pipelineDirty) this.kickWriter();
    });
  }

  /** Writes what changed, a batch at a time; status is a report, so a failed write is logged, not fatal. */
  private async writeStatus(): Promise<void> {
    while (this.statusDirty.size > 0 || this.pipelineDirty) {
      const names = [...this.statusDirty];
      this.statusDirty.clear();
      if (names.length > 0) {
        let lock;
        try {
          lock = await this.opts.effects.readLock();
        } catch (err) {
          this.log.warn({ err: errorMessage(err) }, 'cannot read dvc.lock for status');
        }
        for (const name of names) {
          const e = this.entries.get(name);
          if (!e) continue;
          const s = e.actor.getSnapshot();
          const p = projectStage(s, this.runIds.get(name));
          if (!p) continue;
          const lastRun = this.lastRuns.get(name);
          const nextRetryAt = p.phase === 'Backoff' ? this.backoffUntil.get(name) : undefined;
          if (this.phases.get(name) !== p.phase) {
            this.phases.set(name, p.phase);
            this.pipelineDirty = true;
          }
          const report: StageReport = {
            phase: p.phase,
            reasons: p.reasons,
            entry: lock?.stages.get(name),
            ...(lastRun ? { lastRun } : {}),
            ...(p.message !== undefined ? { message: p.message } : {}),
            ...(p.retries !== undefined ? { retries: p.retries } : {}),
            ...(nextRetryAt ? { nextRetryAt } : {}),
          };
          const key = JSON.stringify([s.context.stage, p.runtime, { ...report, entry: report.entry?.outs }]);
          if (this.reported.get(name) === key) continue;
          try {
            await this.opts.status.stage(s.context.stage, p.runtime, report);
            this.reported.set(name, key);
          } catch (err) {
            this.log.warn({ stage: name, err: errorMessage(err) }, 'cannot write the stage status');
          }
        }
      }
      if (this.pipelineDirty) {
        this.pipelineDirty = false;
        try {
          await this.opts.status.pipeline(this.pipelineInput());
        } catch (err) {
          this.log.warn({ err: errorMessage(err) }, 'cannot write the pipeline status');
        }
      }
    }
  }

  private pipelineInput(): PipelineStatusInput {
    const err = this.specError;
    const first = err instanceof ReprodErrors ? (err.errors[0] ?? err) : err;
    const more = err instanceof ReprodErrors && err.errors.length > 1 ? ` (and ${err.errors.length - 1} more)` : '';
    return {
      file: this.spec?.pipeline.file ?? 'dvc.yaml',
      specText: this.spec?.text ?? '',
      stages: this.phaseRecord(),
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
      ...(this.lastPass
        ? {
            lastPass: {
              startedAt: this.lastPass.startedAt.toISOString(),
              finishedAt: this.lastPass.finishedAt.toISOString(),
              ran: this.lastPass.ran,
              failed: this.lastPass.failed,
            },
          }
        : {}),
    };
  }

  // ------------------------------------------------------------------ stopping

  private async stop(workers: Promise<void>[]): Promise<void> {
    this.stopping = true;
    if (this.resyncTimer !== undefined) this.opts.clock.clearTimeout(this.resyncTimer);
    this.queue.shutDown();
    const running: StageActor[] = [];
    for (const e of this.allEntries()) {
      const s = e.actor.getSnapshot();
      if (s.matches('running')) {
        running.push(e.actor);
        e.actor.send({ type: 'CANCEL', reason: 'reprod is stopping' });
      } else if (isLooking(s)) {
        // a plan may be building an image: stop it (its stage is looked at again at the next start)
        this.dispose(e);
      }
    }
    this.log.info({ cancelling: running.length }, 'stopping');
    await Promise.all(workers);
    await Promise.all(running.map((a) => this.until(a, (s) => !s.matches('running'))));
    this.markPipeline();
    while (this.writer) await this.writer;
    try {
      await this.opts.effects.flush();
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'could not persist the hash state');
    }
    for (const e of [...this.allEntries()]) this.dispose(e);
    this.alive = false;
  }
}
