import { ReprodError, TerminalError, type ErrorCode } from '../core/errors.js';
import type { Stage } from '../core/types.js';
import { DEFAULT_BACKOFF_SECONDS, type StageRuntimeSpec } from '../pipeline/manifests.js';
import type { StageOutcome } from './stage-steps.js';
import { backoffDelay } from './work-queue.js';

/**
 * Which failures are worth retrying, and how often.
 *
 * Transient: the engine failed (RUNTIME), the container was killed for want
 * of memory, or infrastructure broke (cache, hashing I/O, anything
 * unexpected). Those retry with a capped exponential backoff, `limit` times.
 * Everything else (a non-zero exit, a missing dep or output, a bad params
 * file) is the stage's own doing: it fails at once and stays failed until its
 * inputs change.
 */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = never retry). */
  limit: number;
  /** Delay before the first retry; doubles per retry... */
  baseMs: number;
  /** ...up to this. */
  maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { limit: 3, baseMs: DEFAULT_BACKOFF_SECONDS * 1000, maxMs: 5 * 60_000 };

/** The stage's policy: its manifest's `retries` (by stage name, else group), else the defaults. */
export function retryPolicyFor(stage: Stage, manifests: ReadonlyMap<string, StageRuntimeSpec>, defaults: RetryPolicy = DEFAULT_RETRY): RetryPolicy {
  const r = (manifests.get(stage.name) ?? manifests.get(stage.group))?.retries;
  if (!r) return defaults;
  const baseMs = Math.max(0, r.backoffSeconds * 1000);
  return { limit: Math.max(0, r.limit), baseMs, maxMs: Math.max(baseMs, defaults.maxMs) };
}

/** The delay before retry number `n` (1-based). */
export function retryDelayMs(policy: RetryPolicy, n: number): number {
  if (policy.baseMs === 0) return 0;
  return backoffDelay(n, policy.baseMs, policy.maxMs);
}

/** Codes whose failures say something about the stage or its inputs: retrying cannot help. */
const DETERMINISTIC: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'YAML_SYNTAX',
  'SCHEMA',
  'INTERPOLATION',
  'PARAMS_MISSING',
  'PARAMS_FILE',
  'DEP_MISSING',
  'OUT_MISSING',
  'CYCLE',
  'OUT_OVERLAP',
  'OUT_DUPLICATE',
  'PATH_OUTSIDE',
  'STAGE_NOT_FOUND',
  'LOCK_CORRUPT',
  'CMD_FAILED',
  'DVCIGNORE_IN_DIR',
  'CONFIG',
  'NO_PIPELINE',
  'USAGE',
]);

/** A thrown error (from planning or executing): transient unless terminal or deterministic. */
export function isTransientError(err: unknown): boolean {
  if (err instanceof TerminalError) return false;
  if (err instanceof ReprodError) return !DETERMINISTIC.has(err.code);
  return true;
}

/** A failed outcome: transient when the engine failed or memory ran out. */
export function isTransientOutcome(outcome: StageOutcome): boolean {
  if (outcome.kind !== 'failed') return false;
  if (outcome.run?.outcome.kind === 'exited' && outcome.run.outcome.oomKilled) return true;
  return isTransientError(outcome.error);
}

/** A short message for a thrown error. */
export function errorMessage(err: unknown): string {
  if (err instanceof ReprodError) return err.location ? `${err.location}: ${err.message}` : err.message;
  return err instanceof Error ? err.message : String(err);
}
