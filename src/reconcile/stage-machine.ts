import { assign, emit, fromPromise, setup, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { isRetryable } from '../core/errors.js';
import { errorMessage } from '../core/errno.js';
import { retryDelayMs } from './failure-policy.js';
import { asReprodError, INPUTS_CHANGED, isEngineLoss, isTransient, outcomeError, outcomeOf, withCancelReason, type StageOutcome } from './outcome.js';
import { initialContext, stageGuards, type ExecuteInput, type PlanInput, type StageContext, type StageEmitted, type StageEvent, type StageMachineInput } from './stage-context.js';
import { inputsFingerprint } from './stage-fingerprint.js';
import type { StagePlan, StageStep } from './stage-steps.js';

export type { StageStep } from './stage-steps.js';

/**
 * One stage's life, as an xstate machine. Its effects are named here and
 * supplied by the composition root with `.provide()`:
 *
 *   plan(stage)           observe the stage: why it is stale, what it runs in
 *   execute(plan, signal) run it and commit (executeStage); the signal cancels;
 *                         it never throws: its outcome comes settled (outcome.ts)
 *   inputs(stage)         the fingerprint of its inputs now (for a running stage)
 *
 *            CHECK                    stale                 START
 *   idle ──────────► planning ──► deciding ──► queued ──────────► running ─┐
 *   waiting ◄── WAIT   │              │ fresh ─► upToDate            │      │ CHECK: inputs changed?
 *                      │              │ frozen ─► frozen             │      │ ─► cancelling ─► cancelled
 *                      │              │ same failed inputs ─► failed │      │ CANCEL hold (a person) ─► held
 *                      │              │ same held inputs ─► held     │      │
 *                      │              └ upstream failed ─► blocked   │      │
 *                      └ error ─► backoff | failed                   ▼      │
 *                                      ran/restored ─► upToDate ; exit≠0 ─► failed ; transient ─► backoff
 *                                      engine lost (daemon) ─► engineUnavailable ─ CHECK ─► planning
 *
 * The reconciler decides *when* (CHECK once upstream has settled, START when
 * a slot is free, WAIT while upstream is busy); the machine decides *what*.
 * It tells the reconciler what happened by emitting `settled` (a final
 * verdict: downstream may go), `queued` (wants a slot), `requeue` (look at me
 * again: cancelled, or a backoff elapsed) and `finished` (a run ended).
 * Its states are projected onto status phases by the reconciler; the machine
 * is not the API. What it is given, hears, says and remembers, and the
 * guards of its verdicts, are in stage-context.ts.
 */

const notProvided = (name: string) => () => Promise.reject(new Error(`stage machine: the '${name}' effect was not provided`));

export const stageMachine = setup({
  types: {
    context: {} as StageContext,
    events: {} as StageEvent,
    input: {} as StageMachineInput,
    emitted: {} as StageEmitted,
  },
  actors: {
    plan: fromPromise<StagePlan, PlanInput>(notProvided('plan')),
    execute: fromPromise<StageOutcome, ExecuteInput>(notProvided('execute')),
    inputs: fromPromise<string, PlanInput>(notProvided('inputs')),
  },
  delays: {
    retryDelay: ({ context }) => retryDelayMs(context.retry, context.retries),
  },
  guards: stageGuards,
  actions: {
    takeCheck: assign({
      upstreamFailed: ({ event }) => (event.type === 'CHECK' ? event.upstreamFailed : undefined),
      upstreamCancelled: ({ event }) => event.type === 'CHECK' && event.upstreamCancelled === true,
    }),
    abortRun: ({ context }) => context.abort?.abort(),
    takeStep: assign({ step: ({ event }) => (event.type === 'STEP' ? { step: event.step, ...(event.detail !== undefined ? { detail: event.detail } : {}) } : undefined) }),
    emitSettled: emit(({ context }) => ({ type: 'settled' as const, stage: context.stage.name })),
    emitRequeue: emit(({ context }) => ({ type: 'requeue' as const, stage: context.stage.name })),
    emitQueued: emit(({ context }) => ({ type: 'queued' as const, stage: context.stage.name })),
    emitFinished: emit(({ context, event }): StageEmitted => ({
      type: 'finished',
      stage: context.stage.name,
      plan: context.plan as StagePlan,
      outcome: withCancelReason(outcomeOf(event, context.abort?.signal.aborted === true), context.cancelReason),
    })),
  },
}).createMachine({
  id: 'stage',
  context: ({ input }) => initialContext(input),
  initial: 'idle',
  on: {
    UPDATE: { actions: assign({ stage: ({ event }) => event.stage, retry: ({ event }) => event.retry }) },
  },
  states: {
    idle: {
      on: { CHECK: { target: 'planning', actions: 'takeCheck' }, WAIT: 'waiting' },
    },
    waiting: {
      on: { CHECK: { target: 'planning', actions: 'takeCheck' } },
    },
    planning: {
      entry: assign({ step: undefined }),
      on: {
        CHECK: { target: 'planning', reenter: true, actions: 'takeCheck' },
        STEP: { guard: ({ event }) => event.step === 'hashing', actions: 'takeStep' },
      },
      invoke: {
        src: 'plan',
        input: ({ context, self }) => ({ stage: context.stage, step: (s: StageStep) => self.send({ type: 'STEP', ...s }) }),
        onDone: {
          target: 'deciding',
          actions: assign(({ context, event }) => {
            const fingerprint = inputsFingerprint(event.output);
            // new inputs: earlier transient failures no longer count
            return { plan: event.output, fingerprint, retries: fingerprint === context.fingerprint ? context.retries : 0 };
          }),
        },
        onError: [
          {
            guard: ({ context, event }) => isRetryable(event.error) && context.retries < context.retry.limit,
            target: 'backoff',
            actions: assign({ retries: ({ context }) => context.retries + 1, error: ({ event }) => errorMessage(event.error) }),
          },
          {
            target: 'failed',
            actions: assign({ error: ({ event }) => errorMessage(event.error), failure: ({ event }) => asReprodError(event.error), failedFingerprint: undefined }),
          },
        ],
      },
    },
    deciding: {
      always: [
        { guard: 'frozen', target: 'frozen' },
        { guard: 'fresh', target: 'upToDate' },
        { guard: 'knownFailure', target: 'failed' },
        { guard: 'stillHeld', target: 'held' },
        { guard: 'upstreamFailed', target: 'blocked' },
        { target: 'queued' },
      ],
    },
    queued: {
      entry: 'emitQueued',
      on: {
        START: 'running',
        CHECK: { target: 'planning', actions: 'takeCheck' },
        WAIT: 'waiting',
      },
    },
    running: {
      entry: assign({ abort: () => new AbortController(), cancelReason: undefined, step: undefined, heldFingerprint: undefined }),
      exit: 'abortRun',
      invoke: {
        src: 'execute',
        input: ({ context, self }) => ({
          plan: context.plan as StagePlan,
          signal: (context.abort as AbortController).signal,
          step: (s: StageStep) => self.send({ type: 'STEP', ...s }),
        }),
        onDone: [
          {
            guard: ({ context, event }) => event.output.kind === 'cancelled' && context.heldFingerprint !== undefined,
            target: 'held',
            actions: 'emitFinished',
          },
          {
            guard: ({ event }) => event.output.kind === 'cancelled',
            target: 'cancelled',
            actions: [assign({ cancelReason: ({ context, event }) => (event.output.kind === 'cancelled' ? event.output.reason : undefined) ?? context.cancelReason }), 'emitFinished'],
          },
          {
            guard: ({ event }) => event.output.kind === 'ran' || event.output.kind === 'restored',
            target: 'upToDate',
            actions: 'emitFinished',
          },
          {
            // the engine went away: not the stage's doing, and no retry spent; it waits for the engine
            guard: ({ context, event }) => context.waitForEngine && isEngineLoss(event.output),
            target: 'engineUnavailable',
            actions: [assign({ error: ({ event }) => outcomeError(event.output) }), 'emitFinished'],
          },
          {
            guard: ({ context, event }) => isTransient(event.output) && context.retries < context.retry.limit,
            target: 'backoff',
            actions: [assign({ retries: ({ context }) => context.retries + 1, error: ({ event }) => outcomeError(event.output) }), 'emitFinished'],
          },
          {
            target: 'failed',
            actions: [
              assign({
                error: ({ event }) => outcomeError(event.output),
                failure: ({ event }) => (event.output.kind === 'failed' ? event.output.error : undefined),
                // exhausted transient failures may heal by themselves: only the stage's own failures stick
                failedFingerprint: ({ context, event }) => (isTransient(event.output) ? undefined : context.fingerprint),
              }),
              'emitFinished',
            ],
          },
        ],
        // the effect broke its contract (it settles every outcome): a transient failure, so that it is retried
        onError: [
          {
            guard: ({ context }) => context.retries < context.retry.limit,
            target: 'backoff',
            actions: [assign({ retries: ({ context }) => context.retries + 1, error: ({ event }) => errorMessage(event.error) }), 'emitFinished'],
          },
          {
            target: 'failed',
            actions: [assign({ error: ({ event }) => errorMessage(event.error), failure: ({ event }) => asReprodError(event.error), failedFingerprint: undefined }), 'emitFinished'],
          },
        ],
      },
      initial: 'active',
      states: {
        active: { on: { CHECK: 'verifying' } },
        verifying: {
          invoke: {
            src: 'inputs',
            input: ({ context }) => ({ stage: context.stage }),
            onDone: [
              {
                guard: ({ context, event }) => event.output !== context.fingerprint,
                target: 'cancelling',
                actions: [assign({ cancelReason: INPUTS_CHANGED }), 'abortRun'],
              },
              { target: 'active' },
            ],
            // cannot tell (e.g. a dep is mid-write): let the run go on; the next event looks again
            onError: { target: 'active' },
          },
          on: { CHECK: { target: 'verifying', reenter: true } },
        },
        cancelling: {},
      },
      on: {
        CANCEL: {
          target: '.cancelling',
          actions: [assign({ cancelReason: ({ event }) => event.reason, heldFingerprint: ({ context, event }) => (event.hold ? (context.fingerprint ?? '') : undefined) }), 'abortRun'],
        },
        STEP: { guard: ({ event }) => event.step !== 'hashing', actions: 'takeStep' },
      },
    },
    backoff: {
      after: { retryDelay: { target: 'waiting', actions: 'emitRequeue' } },
      initial: 'holding',
      states: {
        holding: { on: { CHECK: { target: 'verifying', actions: 'takeCheck' } } },
        verifying: {
          // a retry waits out its delay unless the inputs changed, which makes it a new attempt
          invoke: {
            src: 'inputs',
            input: ({ context }) => ({ stage: context.stage }),
            onDone: [{ guard: ({ context, event }) => event.output !== context.fingerprint, target: '#stage.planning' }, { target: 'holding' }],
            onError: { target: 'holding' },
          },
        },
      },
    },
    engineUnavailable: {
      // looked at again when the engine answers (the reconciler enqueues it) or an input changes
      on: { CHECK: { target: 'planning', actions: 'takeCheck' }, WAIT: 'waiting' },
    },
    upToDate: {
      entry: [assign({ retries: 0, failedFingerprint: undefined, heldFingerprint: undefined, error: undefined, failure: undefined }), 'emitSettled'],
      on: { CHECK: { target: 'planning', actions: 'takeCheck' }, WAIT: 'waiting' },
    },
    frozen: {
      entry: 'emitSettled',
      on: { CHECK: { target: 'planning', actions: 'takeCheck' }, WAIT: 'waiting' },
    },
    failed: {
      entry: 'emitSettled',
      on: {
        // a new look is a new attempt: transient retries start over (a known failure stays failed in deciding)
        CHECK: { target: 'planning', actions: ['takeCheck', assign({ retries: 0 })] },
        WAIT: 'waiting',
      },
    },
    blocked: {
      entry: 'emitSettled',
      on: { CHECK: { target: 'planning', actions: 'takeCheck' }, WAIT: 'waiting' },
    },
    // cancelled by a person: settled (downstream is blocked by it), looked at again on new input or a rerun
    held: {
      entry: 'emitSettled',
      on: { CHECK: { target: 'planning', actions: 'takeCheck' }, WAIT: 'waiting' },
    },
    cancelled: {
      entry: 'emitRequeue',
      on: { CHECK: { target: 'planning', actions: 'takeCheck' }, WAIT: 'waiting' },
    },
  },
});

export type StageActor = ActorRefFrom<typeof stageMachine>;
export type StageSnapshot = SnapshotFrom<typeof stageMachine>;

/** The top-level state of a snapshot (`running`, `backoff`, …). */
export function topState(s: StageSnapshot): string {
  const v = s.value;
  return typeof v === 'string' ? v : (Object.keys(v)[0] ?? 'idle');
}

/** True while the machine is working out something that a worker waits for: a plan, or a check of inputs. */
export function isLooking(s: StageSnapshot): boolean {
  return s.matches('planning') || s.matches({ running: 'verifying' }) || s.matches({ backoff: 'verifying' });
}
