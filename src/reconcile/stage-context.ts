import type { ReprodError } from '../core/errors.js';
import type { Stage } from '../core/types.js';
import type { RetryPolicy } from './failure-policy.js';
import type { StageOutcome } from './outcome.js';
import type { StagePlan, StageStep } from './stage-steps.js';

/**
 * What a stage machine (stage-machine.ts) is given, hears, says and
 * remembers, and the guards of its verdicts, which read only what it
 * remembers.
 */

export interface PlanInput {
  stage: Stage;
  /** Tells the machine what the plan is busy with (only a plan does: an input check says nothing). */
  step?: (s: StageStep) => void;
}

export interface ExecuteInput {
  plan: StagePlan;
  /** Aborted when the run must stop (inputs changed, stage removed, shutdown). */
  signal: AbortSignal;
  step?: (s: StageStep) => void;
}

export interface StageMachineInput {
  stage: Stage;
  retry: RetryPolicy;
  /** Losing the engine parks the stage until it answers (the daemon); else it is a transient failure (one pass). */
  waitForEngine?: boolean;
}

export type StageEvent =
  | { type: 'CHECK'; upstreamFailed?: string | undefined; upstreamCancelled?: boolean }
  | { type: 'WAIT' }
  | { type: 'START' }
  /** `hold`: asked by a person; the stage stays cancelled (held) until its inputs change or a rerun is asked. */
  | { type: 'CANCEL'; reason: string; hold?: boolean }
  | { type: 'UPDATE'; stage: Stage; retry: RetryPolicy }
  | ({ type: 'STEP' } & StageStep);

export type StageEmitted =
  | { type: 'settled'; stage: string }
  | { type: 'queued'; stage: string }
  | { type: 'requeue'; stage: string }
  | { type: 'finished'; stage: string; plan: StagePlan; outcome: StageOutcome };

export interface StageContext {
  stage: Stage;
  retry: RetryPolicy;
  waitForEngine: boolean;
  /** The last plan: what the stage is (or was) stale for. */
  plan: StagePlan | undefined;
  /** inputsFingerprint of that plan. */
  fingerprint: string | undefined;
  /** Inputs under which the stage failed for its own reasons: it stays failed while they hold. */
  failedFingerprint: string | undefined;
  /** Transient failures in a row. */
  retries: number;
  /** The upstream stage that failed, when the last CHECK said so. */
  upstreamFailed: string | undefined;
  /** That upstream stage was cancelled by a person (held), not failed. */
  upstreamCancelled: boolean;
  /** Inputs under which a person cancelled the stage's run: it stays held while they hold. */
  heldFingerprint: string | undefined;
  /** Why the stage last failed (or could not be planned). */
  error: string | undefined;
  /** The error itself, for the pass's decision (its code decides `repro`'s exit code). */
  failure: ReprodError | undefined;
  /** Set while a run is being cancelled: why. */
  cancelReason: string | undefined;
  abort: AbortController | undefined;
  /** What the plan or run under way is busy with (cleared as each starts). */
  step: StageStep | undefined;
}

/** A stage's memory when its actor is made. */
export function initialContext(input: StageMachineInput): StageContext {
  return {
    stage: input.stage,
    retry: input.retry,
    waitForEngine: input.waitForEngine === true,
    plan: undefined,
    fingerprint: undefined,
    failedFingerprint: undefined,
    retries: 0,
    upstreamFailed: undefined,
    upstreamCancelled: false,
    heldFingerprint: undefined,
    error: undefined,
    failure: undefined,
    cancelReason: undefined,
    abort: undefined,
    step: undefined,
  };
}

type GuardArgs = { context: StageContext };

/** Which verdict a fresh plan leads to (`deciding`), and whether a retry is left. */
export const stageGuards = {
  frozen: ({ context }: GuardArgs) => context.stage.frozen && context.plan?.forced !== true,
  fresh: ({ context }: GuardArgs) => (context.plan?.reasons.length ?? 0) === 0 && context.plan?.forced !== true,
  // a forced plan (a rerun asked for) runs a stage that failed on these very inputs again
  knownFailure: ({ context }: GuardArgs) => context.failedFingerprint !== undefined && context.failedFingerprint === context.fingerprint && context.plan?.forced !== true,
  upstreamFailed: ({ context }: GuardArgs) => context.upstreamFailed !== undefined,
  // cancelled by a person under these very inputs: it stays held (a rerun asked for runs it)
  stillHeld: ({ context }: GuardArgs) => context.heldFingerprint !== undefined && context.heldFingerprint === context.fingerprint && context.plan?.forced !== true,
  canRetry: ({ context }: GuardArgs) => context.retries < context.retry.limit,
};
