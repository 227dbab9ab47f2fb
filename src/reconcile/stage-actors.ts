import { createActor, fromPromise, type Subscription } from 'xstate';
import { errorMessage } from '../core/errno.js';
import type { Logger } from '../core/ports.js';
import type { Stage } from '../core/types.js';
import type { RetryPolicy } from './failure-policy.js';
import type { ReconcilerHooks } from './reconciler-api.js';
import type { StageEffects } from './stage-effects.js';
import type { StageEmitted } from './stage-context.js';
import { isLooking, stageMachine, topState, type StageActor, type StageSnapshot } from './stage-machine.js';
import type { TimerClock } from '../core/ports.js';

/**
 * The stage machine with its effects (xstate's `.provide()`): plans and
 * input checks go straight to the effects; a run gets its id, and the
 * `stageStarting` hook its say on the run's environment (a failing hook only
 * means no extra environment).
 */
export function provideStageMachine(
  effects: StageEffects,
  o: { log: Logger; runStarting(stage: string, runId: string): void; stageStarting?: ReconcilerHooks['stageStarting'] },
): typeof stageMachine {
  return stageMachine.provide({
    actors: {
      plan: fromPromise(async ({ input, signal }) => {
        try {
          return await effects.plan(input.stage, signal, input.step);
        } catch (err) {
          // no run ends, so no `stage finished` says why: this line does (a plan superseded by a new look is no failure)
          if (!signal.aborted) o.log.info({ stage: input.stage.name, err: errorMessage(err) }, 'stage not planned');
          throw err;
        }
      }),
      inputs: fromPromise(({ input, signal }) => effects.inputs(input.stage, signal)),
      execute: fromPromise(async ({ input, signal }) => {
        const plan = input.plan;
        const runId = effects.newRunId();
        o.runStarting(plan.stage.name, runId);
        const starting = o.stageStarting;
        return effects.execute(plan, {
          signal: AbortSignal.any([input.signal, signal]),
          runId,
          ...(input.step ? { step: input.step } : {}),
          onStart: async (id, prepared) => {
            if (!starting) return {};
            try {
              return await starting(plan.stage, id, plan, prepared);
            } catch (err) {
              o.log.warn({ stage: plan.stage.name, runId: id, err: errorMessage(err) }, 'the stageStarting hook failed');
              return {};
            }
          },
        });
      }),
    },
  });
}

export interface Entry {
  name: string;
  actor: StageActor;
  subs: Subscription[];
  /** The top-level state last seen (kept in step with the state index by every snapshot). */
  lastState: string;
}

/** What the reconciler hears from its actors. */
export interface ActorEvents {
  settled(name: string, entry: Entry): void;
  queued(name: string): void;
  requeue(name: string, entry: Entry): void;
  finished(e: Extract<StageEmitted, { type: 'finished' }>): void;
  /** After the state index is updated; `was` is the previous top-level state. */
  snapshot(name: string, entry: Entry, s: StageSnapshot, was: string): void;
}

/**
 * The stage actors of a reconciler: one per stage of the spec, plus those
 * removed from the spec while running (retiring, kept until their run has
 * stopped). Actors are indexed by top-level state on every snapshot, so that
 * scheduling never scans every stage; `until` lets a worker wait for a state.
 *
 * A one-shot pass holds few actors at once: a stage's actor is made when the
 * stage is first looked at (deferred until then, it reads as `idle`), and let
 * go once it has settled for good (released, it reads as the state it
 * settled in). Thousands of stages that are up to date then never hold
 * thousands of actors.
 */
export class StageActors {
  readonly entries = new Map<string, Entry>();
  readonly retiring = new Set<Entry>();
  private readonly deferred = new Map<string, { stage: Stage; retry: RetryPolicy; waitForEngine: boolean }>();
  private readonly released = new Map<string, string>();
  private readonly inState = new Map<string, Set<Entry>>();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly machine: typeof stageMachine,
    private readonly clock: TimerClock,
    private readonly log: Logger,
    private readonly on: ActorEvents,
  ) {}

  /** The entries whose top-level state is `st` (a live set: copy it before changing states). */
  state(st: string): Set<Entry> {
    let set = this.inState.get(st);
    if (!set) this.inState.set(st, (set = new Set()));
    return set;
  }

  /** The stage's actor, when it belongs to the spec in force (not retiring). */
  current(name: string): Entry | undefined {
    return this.entries.get(name);
  }

  isCurrent(e: Entry): boolean {
    return this.entries.get(e.name) === e;
  }

  /** True when `path` (workspace-relative) is an output of a running stage. */
  isBeingWritten(path: string): boolean {
    for (const e of this.state('running')) {
      for (const out of e.actor.getSnapshot().context.plan?.stage.outs ?? []) {
        if (path === out.path || path.startsWith(`${out.path}/`)) return true;
      }
    }
    return false;
  }

  topState(name: string): string | undefined {
    const e = this.entries.get(name);
    if (e) return topState(e.actor.getSnapshot());
    if (this.deferred.has(name)) return 'idle';
    return this.released.get(name);
  }

  /** Stages of the spec: with an actor, deferred or released. */
  get size(): number {
    return this.entries.size + this.deferred.size + this.released.size;
  }

  /** The stage gets its actor when first looked at (see {@link wake}). */
  defer(stage: Stage, retry: RetryPolicy, waitForEngine: boolean): void {
    this.released.delete(stage.name);
    this.deferred.set(stage.name, { stage, retry, waitForEngine });
  }

  /** The stage's actor, made now when it was deferred. */
  wake(name: string): Entry | undefined {
    const d = this.deferred.get(name);
    if (!d) return this.entries.get(name);
    this.deferred.delete(name);
    return this.spawn(d.stage, d.retry, d.waitForEngine);
  }

  /** Lets go of a settled stage's actor: the stage reads as the state it settled in. */
  release(entry: Entry): void {
    const st = entry.lastState;
    this.dispose(entry);
    this.released.set(entry.name, st);
  }

  spawn(stage: Stage, retry: RetryPolicy, waitForEngine: boolean): Entry {
    const actor = createActor(this.machine, { input: { stage, retry, waitForEngine }, clock: this.clock });
    const name = stage.name;
    const entry: Entry = { name, actor, subs: [], lastState: 'idle' };
    this.state('idle').add(entry);
    entry.subs.push(
      actor.on('settled', () => this.on.settled(name, entry)),
      actor.on('queued', () => this.on.queued(name)),
      actor.on('requeue', () => this.on.requeue(name, entry)),
      actor.on('finished', (e) => this.on.finished(e)),
      actor.subscribe({
        next: (s) => {
          const st = topState(s);
          const was = entry.lastState;
          if (st !== was) {
            this.state(was).delete(entry);
            this.state(st).add(entry);
            entry.lastState = st;
          }
          this.on.snapshot(name, entry, s, was);
          this.notify();
        },
        error: (err) => this.log.error({ stage: name, err: errorMessage(err) }, 'stage machine crashed'),
      }),
    );
    this.entries.set(name, entry);
    actor.start();
    return entry;
  }

  /**
   * Brings the actors in step with the stages in scope (`keep`): a stage that
   * left is removed (`left` told of it first), one that stays is updated, a
   * new one gets an actor that waits for the engine (the daemon) or, with
   * `defer` (a one-shot pass), one made when it is first looked at.
   */
  sync(stages: readonly Stage[], keep: ReadonlySet<string>, retryOf: (s: Stage) => RetryPolicy, o: { defer: boolean; left(name: string): void }): void {
    for (const name of [...this.names()]) {
      if (keep.has(name)) continue;
      o.left(name);
      this.remove(name, 'the stage was removed from the pipeline');
    }
    for (const stage of stages) {
      if (!keep.has(stage.name)) continue;
      const retry = retryOf(stage);
      const existing = this.current(stage.name);
      if (existing) existing.actor.send({ type: 'UPDATE', stage, retry });
      else if (o.defer) this.defer(stage, retry, false);
      else this.spawn(stage, retry, true);
    }
  }

  /** Takes a stage out of the spec: stopped now, or retired until its run has stopped. */
  remove(name: string, reason: string): void {
    this.deferred.delete(name);
    this.released.delete(name);
    const entry = this.entries.get(name);
    if (!entry) return;
    this.entries.delete(name);
    if (entry.actor.getSnapshot().matches('running')) {
      this.retiring.add(entry);
      entry.actor.send({ type: 'CANCEL', reason });
    } else {
      this.dispose(entry);
    }
  }

  dispose(entry: Entry): void {
    for (const s of entry.subs) s.unsubscribe();
    entry.actor.stop();
    if (this.entries.get(entry.name) === entry) this.entries.delete(entry.name);
    this.retiring.delete(entry);
    this.state(entry.lastState).delete(entry);
    this.notify();
  }

  /**
   * Cancels the stage's run for a person (`hold`: it stays cancelled until its
   * inputs change or a rerun is asked); false when it is not running, or
   * already being cancelled.
   */
  cancelForPerson(name: string, reason: string): boolean {
    const e = this.current(name);
    if (!e || !e.actor.getSnapshot().matches('running') || e.actor.getSnapshot().matches({ running: 'cancelling' })) return false;
    e.actor.send({ type: 'CANCEL', reason, hold: true });
    return true;
  }

  /**
   * Stopping: cancels every run (their actors are returned, to be waited
   * for) and stops the plans under way (their stages are looked at again at
   * the next start). Also returns the stages left queued.
   */
  stopAll(reason: string): { running: StageActor[]; queued: string[] } {
    const running: StageActor[] = [];
    const queued: string[] = [];
    for (const e of [...this.all()]) {
      const s = e.actor.getSnapshot();
      if (s.matches('running')) {
        running.push(e.actor);
        e.actor.send({ type: 'CANCEL', reason });
      } else if (isLooking(s)) {
        this.dispose(e);
      } else if (s.matches('queued')) {
        queued.push(e.name);
      }
    }
    return { running, queued };
  }

  /** Every stage name: with an actor, deferred or released. */
  *names(): Iterable<string> {
    yield* this.entries.keys();
    yield* this.deferred.keys();
    yield* this.released.keys();
  }

  *all(): Iterable<Entry> {
    yield* this.entries.values();
    yield* this.retiring;
  }

  /** Resolves when the actor's state satisfies `pred`, or it stops. */
  until(actor: StageActor, pred: (s: StageSnapshot) => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): boolean => {
        const s = actor.getSnapshot();
        if (s.status !== 'active' || pred(s)) {
          this.waiters.delete(wake);
          resolve();
          return true;
        }
        return false;
      };
      const wake = (): void => void check();
      if (!check()) this.waiters.add(wake);
    });
  }

  /** Wakes every `until` (something may have changed that they wait on). */
  notify(): void {
    for (const w of [...this.waiters]) w();
  }
}
