import { ReprodError } from '../core/errors.js';
import { errorMessage } from '../core/errno.js';
import type { Logger, TimerHandle } from '../core/ports.js';
import { DEFAULT_RETRY, retryDelayMs, retryPolicyFor } from './failure-policy.js';
import { HookCalls } from './hook-calls.js';
import { ONCE_RETRY, OncePass } from './once-pass.js';
import { PassLedger } from './pass-ledger.js';
import { PassReports } from './pass-reports.js';
import { PIPELINE_KEY, type ExternalCondition, type OnceOptions, type PassSummary, type ReconcileSpec, type ReconcilerOptions, type ReconcilerStats } from './reconciler-api.js';
import { Scheduling } from './scheduling.js';
import { provideStageMachine, StageActors, type Entry } from './stage-actors.js';
import type { StageEmitted } from './stage-context.js';
import { isLooking, topState, type StageSnapshot } from './stage-machine.js';
import { shutDown } from './shutdown.js';
import { SpecInForce } from './spec-in-force.js';
import { StatusBook } from './status-book.js';
import type { StatusWriter } from './status-writer.js';
import { WorkQueue } from './work-queue.js';

export * from './reconciler-api.js';

const DEFAULT_MAX_PARALLEL = 2;
/** Stages of a one-shot pass whose status may wait to be written before the next is looked at. */
const ONCE_STATUS_BACKLOG = 32;

/**
 * Keeps the pipeline's outputs true to its inputs: for as long as it runs
 * (the daemon), or for one pass (`reprod repro`).
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
 * starts nothing until it is fixed (a one-shot pass fails with it instead).
 * Stopping cancels running stages, waits for them (containers removed), and
 * writes status.
 */
export class Reconciler {
  private readonly opts: ReconcilerOptions;
  private readonly queue: WorkQueue;
  private readonly log: Logger;
  private readonly actors: StageActors;
  private readonly rules: Scheduling;
  private readonly book: StatusBook;
  private readonly status: StatusWriter;
  private readonly ledger: PassLedger;
  private readonly reports: PassReports;
  private readonly specs: SpecInForce;
  private readonly hooks: HookCalls;
  private once: OncePass | undefined;
  private alive = false;
  private stopping = false;
  private resyncTimer: TimerHandle | undefined;
  private engine: ExternalCondition | undefined;

  constructor(opts: ReconcilerOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.specs = new SpecInForce(opts.log);
    this.queue = new WorkQueue({
      clock: opts.clock,
      debounceMs: opts.debounceMs ?? 150,
      baseBackoffMs: opts.keyBackoffMs?.base ?? 1000,
      maxBackoffMs: opts.keyBackoffMs?.max ?? 300_000,
    });
    this.ledger = new PassLedger(opts.newPassId);
    this.hooks = new HookCalls(opts.hooks, opts.log);
    const machine = provideStageMachine(opts.effects, {
      log: opts.log,
      runStarting: (stage, runId) => this.book.runStarted(stage, runId),
      ...(opts.hooks?.stageStarting ? { stageStarting: opts.hooks.stageStarting } : {}),
    });
    this.actors = new StageActors(machine, opts.clock, opts.log, {
      settled: (name, entry) => this.onSettled(name, entry),
      queued: (name) => this.onQueued(name),
      requeue: (name, entry) => {
        if (!this.stopping && this.actors.isCurrent(entry)) this.queue.addNow(name);
      },
      finished: (e) => this.onFinished(e),
      snapshot: (name, entry, s, was) => this.onSnapshot(name, entry, s, was),
    });
    this.book = new StatusBook(
      { sink: opts.status, readLock: () => opts.effects.readLock(), log: opts.log, clock: opts.clock, previous: opts.previousStatus?.status.stages },
      {
        actors: this.actors,
        specs: this.specs,
        engine: () => this.engine,
        tracking: () => opts.tracking?.(),
        lastPass: () => this.ledger.lastPass,
        queuedIsStale: () => this.once !== undefined && (this.once.halted || this.stopping),
      },
    );
    this.status = this.book.writer;
    this.reports = new PassReports({ ledger: this.ledger, hooks: this.hooks, book: this.book, log: opts.log, metrics: opts.metrics });
    this.rules = new Scheduling(this.actors, this.specs, (key) => this.queue.has(key));
  }

  /** Asks for a stage (or PIPELINE_KEY) to be looked at, after the debounce window. */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /**
   * Cancels a stage's run for a person (its container stopped and removed,
   * what it wrote gone): the stage shows `Cancelled` with `reason`, blocks
   * what is downstream, and stays so until its inputs change or a rerun is
   * asked. False when it is not running (or building its image).
   */
  cancel(stage: string, reason: string): boolean {
    return this.actors.cancelForPerson(stage, reason);
  }

  /** The spec in force: the last valid one. */
  get currentSpec(): ReconcileSpec | undefined {
    return this.specs.spec;
  }

  /** Writes status/pipeline.yaml again (a condition it does not own, such as TrackingAvailable, changed); resolves once written. */
  refreshPipelineStatus(): Promise<void> {
    this.status.markPipeline();
    return this.status.idle();
  }

  /**
   * What the container engine's watcher says. Losing it is a condition of
   * the pipeline (EngineAvailable), never a stage failure; when it answers
   * again, every stage waiting for it is looked at again, with no edit needed.
   */
  setEngine(available: boolean, message: string): void {
    const was = this.engine?.status;
    this.engine = available ? { status: 'True', reason: 'Available', message } : { status: 'False', reason: 'EngineUnavailable', message };
    if (was === this.engine.status) return;
    this.log[available ? 'info' : 'warn']({ engine: available ? 'available' : 'unavailable', err: available ? undefined : message }, available ? 'the container engine answers' : 'the container engine is unavailable');
    this.status.markPipeline();
    if (available) for (const e of this.actors.state('engineUnavailable')) if (this.actors.isCurrent(e)) this.queue.addNow(e.name);
  }

  /** Whether the engine answered at the last look (true while nothing said otherwise). */
  get engineAvailable(): boolean {
    return this.engine?.status !== 'False';
  }

  /** True when `path` (workspace-relative) is an output of a stage that is running: its events are the stage's own. */
  isBeingWritten(path: string): boolean {
    return this.actors.isBeingWritten(path);
  }

  stats(): ReconcilerStats {
    return {
      alive: this.alive,
      engineUp: this.engineAvailable,
      specValid: this.specs.valid,
      stages: this.actors.size,
      actors: this.actors.entries.size + this.actors.retiring.size,
      running: this.actors.state('running').size,
      queueDepth: this.queue.depth,
      queueWaiting: this.queue.waiting,
      passes: this.ledger.passes,
      lastPassAt: this.ledger.lastPass?.finishedAt,
      phases: this.book.phases(),
    };
  }

  /** Runs until `signal` aborts, then stops cleanly (running stages cancelled, status written). */
  async start(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    this.alive = true;
    this.queue.addNow(PIPELINE_KEY);
    this.armResync();
    const workers = this.startWorkers(this.opts.workers ?? 4);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await this.stop(workers);
  }

  /**
   * One pass over the stages in scope, as `reprod repro` makes it: the same
   * machines, status and hooks as the daemon's passes. With maxParallel 1 the
   * stages are looked at one after another in DVC's order. An invalid spec
   * throws. `signal` cancels what runs (Ctrl-C).
   */
  async runOnce(opts: OnceOptions, signal?: AbortSignal): Promise<PassSummary> {
    const once = new OncePass(opts, this.maxParallel() === 1);
    this.once = once;
    this.alive = true;
    this.queue.addNow(PIPELINE_KEY);
    const workers = this.startWorkers(once.sequential ? 1 : (this.opts.workers ?? 4));
    const onAbort = (): void => {
      once.halted = true;
      for (const e of this.actors.state('running')) e.actor.send({ type: 'CANCEL', reason: 'interrupted' });
      this.checkPassEnd();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await once.result;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      await this.stop(workers);
    }
  }

  private maxParallel(): number {
    return Math.max(1, this.opts.maxParallel ?? this.specs.spec?.manifests.pipeline.maxParallel ?? DEFAULT_MAX_PARALLEL);
  }

  // ------------------------------------------------------------------ workers

  private startWorkers(n: number): Promise<void>[] {
    return Array.from({ length: Math.max(1, n) }, () => this.worker());
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.passActivity();
      try {
        await this.opts.lease?.enter();
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
    if (!this.specs.valid || this.stopping || this.once?.halted) return;
    // a one-shot pass looks at stages no faster than their status is written: what waits to be written stays in memory
    if (this.once) await this.status.drained(ONCE_STATUS_BACKLOG);
    if (this.stopping || this.once?.halted) return;
    const entry = this.actors.wake(key);
    if (!entry) return;
    const actor = entry.actor;
    if (actor.getSnapshot().matches('running')) {
      actor.send({ type: 'CHECK' });
    } else {
      const busy = this.rules.busyAncestor(key);
      if (busy !== undefined) {
        actor.send({ type: 'WAIT' });
        return;
      }
      const up = this.rules.failedUpstream(key);
      actor.send({ type: 'CHECK', upstreamFailed: up?.stage, upstreamCancelled: up?.cancelled === true });
    }
    // one stage after another: the next key waits until this stage has settled (or will never start)
    await this.actors.until(actor, (s) => !isLooking(s) && !(this.once?.holdsSequence(s, this.stopping) ?? false));
  }

  // ------------------------------------------------------------------ spec

  private async reloadSpec(): Promise<void> {
    let spec: ReconcileSpec;
    try {
      spec = await this.opts.loadSpec();
    } catch (err) {
      if (!(err instanceof ReprodError)) throw err;
      if (this.once) {
        this.once.failSpec(err);
        return;
      }
      this.specs.rejected(err);
      this.status.markPipeline();
      return;
    }
    this.specs.accepted(spec, this.once?.scope);
    // a full look rewrites what status files say, should someone have changed them meanwhile
    this.status.rewriteAll();
    const defaults = this.opts.retry ?? (this.once ? ONCE_RETRY : DEFAULT_RETRY);
    this.actors.sync(spec.dag.stages, new Set(this.specs.index.order), (stage) => retryPolicyFor(stage, spec.manifests.stages, defaults), {
      defer: this.once !== undefined,
      left: (name) => this.book.forget(name),
    });
    this.status.markPipeline();
    try {
      this.opts.onSpec?.(spec);
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'onSpec failed');
    }
    for (const name of this.specs.index.order) this.queue.addNow(name);
  }

  /**
   * A one-shot pass lets go of a stage's actor as soon as the stage settled
   * up to date (or frozen) without running: nothing more happens to it in the
   * pass. What its status file is to say is kept until it is written. A
   * stage that ran keeps its actor (its MLflow run may still add to its
   * status).
   */
  private releaseSettled(entry: Entry): void {
    if (!this.once || this.stopping || !this.actors.isCurrent(entry) || this.ledger.ranInPass(entry.name)) return;
    if (entry.lastState !== 'upToDate' && entry.lastState !== 'frozen') return;
    this.book.release(entry);
  }

  // ------------------------------------------------------------------ machine events

  private onSnapshot(name: string, entry: Entry, s: StageSnapshot, was: string): void {
    const st = topState(s);
    if (this.actors.retiring.has(entry)) {
      if (st !== 'running') this.actors.dispose(entry);
      this.schedule();
      return;
    }
    if (st === 'backoff' && was !== 'backoff') {
      this.book.runs.backoff(name, new Date(this.opts.clock.now().getTime() + retryDelayMs(s.context.retry, s.context.retries)));
    }
    // a running stage's or a plan's step (Hashing, Building) changes within its state
    if (st !== was || st === 'running' || st === 'planning') this.status.markStage(name);
    // a slot freed, an ancestor settled, a stage queued: any of them may let a queued stage start
    if (st !== was) this.schedule();
    this.checkPassEnd();
  }

  private onSettled(name: string, entry: Entry): void {
    const s = entry.actor.getSnapshot();
    const st = topState(s);
    this.reports.settled(name, s);
    if (st === 'failed') this.once?.stageFailed();
    // after this transition, once its snapshot is seen (status marked, state indexed)
    if (this.once && (st === 'upToDate' || st === 'frozen')) queueMicrotask(() => this.releaseSettled(entry));
    for (const d of this.specs.spec?.dag.downstream.get(name) ?? []) this.queue.addNow(d);
    this.schedule();
  }

  private onQueued(name: string): void {
    this.rules.cancelRunningBelow(name);
    this.schedule();
  }

  private onFinished(e: Extract<StageEmitted, { type: 'finished' }>): void {
    const { outcome } = e;
    // a run that lost the engine says so at once; the engine's watcher says when it answers again
    if (outcome.kind === 'failed' && outcome.error.code === 'ENGINE_UNAVAILABLE' && !this.once) this.setEngine(false, errorMessage(outcome.error));
    this.reports.finished(e);
  }

  /** Starts queued stages, upstream first, while slots are free. */
  private schedule(): void {
    if (this.stopping || !this.specs.valid || this.once?.halted) return;
    this.rules.startQueued(this.maxParallel());
  }

  // ------------------------------------------------------------------ passes

  private passActivity(): void {
    this.reports.passActivity(this.opts.clock.now());
  }

  /** A pass ends when no key is ready or in hand and no stage is planning, queued or running. */
  private checkPassEnd(): void {
    if (!this.ledger.current || !this.queue.idle) return;
    const halted = this.once?.halted === true;
    if (this.rules.passBusy({ canStart: !this.specs.error && !halted, halted, waitRetries: this.once !== undefined && !halted })) return;
    // a waiting stage whose ancestors all settled missed its wake-up: look at it rather than end the pass
    const missed = !this.specs.error && !this.stopping && !halted ? this.rules.unwokenWaiting() : [];
    for (const name of missed) {
      this.log.warn({ stage: name }, 'a waiting stage was not woken: looking at it');
      this.queue.addNow(name);
    }
    if (missed.length > 0) return;
    const ended = this.ledger.end(this.opts.clock.now(), this.book.phases());
    if (!ended) return;
    // nothing runs now: the workspace is free for others until the next pass
    this.opts.lease?.leave().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'cannot release the workspace lock'));
    this.reports.passFinished(ended.id, ended.summary);
    this.opts.effects.flush().catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'could not persist the hash state'));
    this.once?.end(ended.summary);
  }

  private armResync(): void {
    const every = this.opts.resyncMs ?? 600_000;
    if (every <= 0 || this.stopping) return;
    this.resyncTimer = this.opts.clock.setTimeout(() => {
      this.queue.addNow(PIPELINE_KEY);
      this.armResync();
    }, every);
  }

  // ------------------------------------------------------------------ stopping

  private async stop(workers: Promise<void>[]): Promise<void> {
    this.stopping = true;
    if (this.resyncTimer !== undefined) this.opts.clock.clearTimeout(this.resyncTimer);
    this.queue.shutDown();
    await shutDown({ actors: this.actors, status: this.status, hooks: this.hooks, log: this.log, workers, flush: () => this.opts.effects.flush(), quiet: this.once !== undefined });
    await this.opts.lease?.leave();
    this.alive = false;
  }
}
