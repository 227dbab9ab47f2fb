import type { Stage } from '../core/types.js';
import { DEFAULT_BACKOFF_SECONDS, type StageRuntimeSpec } from '../pipeline/manifests.js';
import { backoffDelay } from '../core/backoff.js';

/**
 * How often, and how soon, transient failures are retried. Which failures are
 * transient is the error catalogue's `retry` (core/errors.ts), settled once
 * per run in outcome.ts: the engine failed, the container was killed for want
 * of memory, or infrastructure broke. Those retry with a capped exponential
 * backoff, `limit` times. Everything else (a non-zero exit, a missing dep or
 * output, a broken Dockerfile) is the stage's own doing: it fails at once and
 * stays failed until its inputs change.
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
