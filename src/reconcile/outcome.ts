import { isRetryable, ReprodError } from '../core/errors.js';
import { errorMessage } from '../core/errno.js';
import { runtimeLabel, type PreparedRuntime, type RunResult, type RuntimeIdentity } from '../core/ports.js';
import type { ChangeReason, LockStage, Stage } from '../core/types.js';
import { lastRunFrom } from '../status/reporter.js';
import type { LastRun, StagePhase } from '../status/status-docs.js';
import type { ExecuteResult } from './stage-steps.js';

/**
 * Where a stage run's result is settled, once, for everyone: the stage
 * machine (which state next), the pass ledger (what the CLI prints and the
 * exit code), status (`lastRun`) and tracking (the MLflow run's status).
 *
 *   executeStage returned ──┐
 *   executeStage threw ─────┴─► settleOutcome ─► StageOutcome
 *                                  STALE_RUN         ─► cancelled (inputs changed)
 *                                  failed / thrown   ─► failed, transient per the error catalogue
 *                                                       (OOM kills are transient too)
 */

/** Why a run was cancelled when its inputs changed under it. */
export const INPUTS_CHANGED = 'its inputs changed while it ran';

export type StageOutcome =
  | { kind: 'ran'; runId: string; entry: LockStage; run: RunResult; prepared: PreparedRuntime }
  | { kind: 'restored'; runId: string; entry: LockStage }
  | { kind: 'failed'; runId: string; error: ReprodError; run?: RunResult; prepared?: PreparedRuntime; transient: boolean }
  | { kind: 'cancelled'; runId: string; run?: RunResult; prepared?: PreparedRuntime; reason?: string };

/** True for the error of a run whose inputs changed under it (see guardedDeps). */
export function isStaleRun(err: unknown): boolean {
  return err instanceof ReprodError && err.code === 'STALE_RUN';
}

/** Settles what executing a stage gave: its result, or what it threw. */
export function settleOutcome(runId: string, result: { done: ExecuteResult } | { thrown: unknown }): StageOutcome {
  if ('thrown' in result) {
    const err = result.thrown;
    if (isStaleRun(err)) return { kind: 'cancelled', runId, reason: INPUTS_CHANGED };
    return { kind: 'failed', runId, error: asReprodError(err), transient: isRetryable(err) };
  }
  const r = result.done;
  if (r.kind !== 'failed') return r;
  const base = { runId: r.runId, ...(r.run ? { run: r.run } : {}), ...(r.prepared ? { prepared: r.prepared } : {}) };
  if (isStaleRun(r.error)) return { kind: 'cancelled', ...base, reason: INPUTS_CHANGED };
  const oom = r.run?.outcome.kind === 'exited' && r.run.outcome.oomKilled === true;
  return { kind: 'failed', ...base, error: r.error, transient: oom || isRetryable(r.error) };
}

/** What happened to one stage in a pass: what `repro` prints, and what decides its exit code. */
export type StageDecision =
  | { stage: string; action: 'skipped' }
  | { stage: string; action: 'frozen' }
  | { stage: string; action: 'would-run'; reasons: ChangeReason[] }
  | { stage: string; action: 'ran' | 'restored'; reasons: ChangeReason[]; runId: string }
  | { stage: string; action: 'failed'; reasons: ChangeReason[]; error: ReprodError; runId?: string }
  | { stage: string; action: 'cancelled'; reasons: ChangeReason[] }
  | { stage: string; action: 'blocked'; upstream: string };

/** The decision a stage makes by settling without a run (skipped, frozen, blocked, failed before or without running). */
export function settledDecision(
  stage: string,
  state: string,
  c: { plan?: { reasons: ChangeReason[] } | undefined; upstreamFailed?: string | undefined; failure?: ReprodError | undefined; error?: string | undefined },
): StageDecision | undefined {
  switch (state) {
    case 'upToDate':
      return { stage, action: 'skipped' };
    case 'frozen':
      return { stage, action: 'frozen' };
    case 'blocked':
      return { stage, action: 'blocked', upstream: c.upstreamFailed ?? '?' };
    case 'failed':
      return { stage, action: 'failed', reasons: c.plan?.reasons ?? [], error: c.failure ?? new ReprodError('CMD_FAILED', c.error ?? 'failed') };
    default:
      return undefined;
  }
}

/** The decision a finished run makes. */
export function decisionOf(stage: string, outcome: StageOutcome, reasons: ChangeReason[]): StageDecision {
  switch (outcome.kind) {
    case 'ran':
    case 'restored':
      return { stage, action: outcome.kind, reasons, runId: outcome.runId };
    case 'failed':
      return { stage, action: 'failed', reasons, error: outcome.error, runId: outcome.runId };
    case 'cancelled':
      return { stage, action: 'cancelled', reasons };
  }
}

export function phaseOfDecision(d: StageDecision): StagePhase {
  switch (d.action) {
    case 'skipped':
    case 'ran':
    case 'restored':
      return 'UpToDate';
    case 'frozen':
      return 'Frozen';
    case 'would-run':
      return 'Stale';
    case 'failed':
      return 'Failed';
    case 'cancelled':
      return 'Cancelled';
    case 'blocked':
      return 'Blocked';
  }
}

/** status' `lastRun` of a finished run; `identity` is what the plan said it would run in. */
export function lastRunOf(stage: Stage, outcome: StageOutcome, identity: RuntimeIdentity): LastRun {
  const prepared = 'prepared' in outcome ? outcome.prepared : undefined;
  const runtime = prepared ? runtimeLabel(prepared) : identity.kind === 'host' ? 'host' : (identity.key ?? 'unknown');
  const run = 'run' in outcome ? outcome.run : undefined;
  let last: LastRun;
  switch (outcome.kind) {
    case 'ran':
    case 'restored':
      last = lastRunFrom(stage, outcome.runId, outcome.kind, 'Succeeded', runtime, run);
      break;
    case 'failed':
      last = lastRunFrom(stage, outcome.runId, 'ran', 'Failed', runtime, run, outcomeCause(outcome));
      break;
    case 'cancelled':
      last = lastRunFrom(stage, outcome.runId, 'ran', 'Cancelled', runtime, run, outcomeCause(outcome));
      break;
  }
  const key = prepared?.identity.key ?? identity.key;
  const ref = prepared?.kind === 'container' ? prepared.ref : identity.ref;
  if (ref) last.image = ref;
  if (key) last.runtimeKey = key;
  return last;
}

/** What the tracker records when a stage run ends. */
export function trackingResultOf(outcome: StageOutcome): {
  outcome: 'succeeded' | 'failed' | 'cancelled';
  action: 'ran' | 'restored';
  entry?: LockStage;
  error?: string;
} {
  switch (outcome.kind) {
    case 'ran':
    case 'restored':
      return { outcome: 'succeeded', action: outcome.kind, entry: outcome.entry };
    case 'failed':
    case 'cancelled':
      return { outcome: outcome.kind, action: 'ran', error: outcomeCause(outcome) };
  }
}

/**
 * Why a run did not succeed, as status (`lastRun.error`) and tracking
 * (`reprod.error`) give it: a failure's message, a cancellation's reason.
 * Never empty for those; undefined for a success.
 */
export function outcomeCause(outcome: Extract<StageOutcome, { kind: 'failed' | 'cancelled' }>): string;
export function outcomeCause(outcome: StageOutcome): string | undefined;
export function outcomeCause(outcome: StageOutcome): string | undefined {
  if (outcome.kind === 'failed') return outcome.error.message.trim() === '' ? errorMessage(outcome.error) : outcome.error.message;
  if (outcome.kind === 'cancelled') return `cancelled: ${outcome.reason ?? 'stopped'}`;
  return undefined;
}

/** How long a run took, when it ran. */
export function runSeconds(outcome: StageOutcome): number | undefined {
  const run = 'run' in outcome ? outcome.run : undefined;
  return run ? Math.max(0, (run.finishedAt.getTime() - run.startedAt.getTime()) / 1000) : undefined;
}

/** The outcome an `execute` done event carries; an error event (a broken effect) as a transient failure. */
export function outcomeOf(event: unknown, aborted: boolean): StageOutcome {
  if (typeof event === 'object' && event !== null && 'output' in event) return event.output as StageOutcome;
  const error = typeof event === 'object' && event !== null && 'error' in event ? event.error : new Error('a run ended without a result');
  if (aborted) return { kind: 'cancelled', runId: 'unknown' };
  return { kind: 'failed', runId: 'unknown', error: asReprodError(error), transient: true };
}

/** A run stopped by CANCEL comes back without a reason of its own: the one the machine was given goes with it. */
export function withCancelReason(o: StageOutcome, reason: string | undefined): StageOutcome {
  return o.kind === 'cancelled' && o.reason === undefined && reason !== undefined ? { ...o, reason } : o;
}

/** Any error as a ReprodError (RUNTIME when it is not one). */
export function asReprodError(err: unknown): ReprodError {
  return err instanceof ReprodError ? err : new ReprodError('RUNTIME', errorMessage(err), { cause: err });
}

/** A run that failed because the container engine went away. */
export function isEngineLoss(o: StageOutcome): boolean {
  return o.kind === 'failed' && o.error.code === 'ENGINE_UNAVAILABLE';
}

/** A failure that may heal by itself (retried). */
export function isTransient(o: StageOutcome): boolean {
  return o.kind === 'failed' && o.transient;
}

/** The message of a failed run's error. */
export function outcomeError(o: StageOutcome): string | undefined {
  return o.kind === 'failed' ? errorMessage(o.error) : undefined;
}
