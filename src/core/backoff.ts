/**
 * Capped exponential backoff, the one formula for every retry in reprod:
 * the work queue's rate limit, a stage's retries, the MLflow outbox's
 * redelivery and the REST client's attempts.
 */

/**
 * The n-th (1-based) delay: base, 2·base, 4·base, … and never more than
 * `maxMs` (nor than `maxMs` for the first one, when base exceeds it).
 * No jitter: delays are part of what tests assert on a simulated clock.
 */
export function backoffDelay(n: number, baseMs: number, maxMs: number): number {
  if (n <= 1) return Math.min(baseMs, maxMs);
  // 2^(n-1) overflows to Infinity past ~1024; the cap applies either way
  return Math.min(maxMs, baseMs * 2 ** (n - 1));
}
