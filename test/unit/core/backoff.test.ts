import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/core/backoff.js';
import { backoffDelay as queueBackoff } from '../../../src/reconcile/work-queue.js';

describe('backoffDelay', () => {
  it('doubles from the base, 1-based', () => {
    expect([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 250, 60_000))).toEqual([250, 500, 1000, 2000, 4000]);
  });

  it('never exceeds the cap, however many failures', () => {
    expect([6, 7, 8].map((n) => backoffDelay(n, 1000, 30_000))).toEqual([30_000, 30_000, 30_000]);
    expect(backoffDelay(1025, 1000, 30_000)).toBe(30_000);
    expect(backoffDelay(Number.MAX_SAFE_INTEGER, 1, 5)).toBe(5);
  });

  it('caps even the first delay when the base is above the cap', () => {
    expect(backoffDelay(1, 10_000, 4_000)).toBe(4_000);
    expect(backoffDelay(2, 10_000, 4_000)).toBe(4_000);
  });

  it('treats n below 1 as the first attempt', () => {
    expect(backoffDelay(0, 100, 1000)).toBe(100);
    expect(backoffDelay(-3, 100, 1000)).toBe(100);
  });

  it('is the function the work queue exports', () => {
    expect(queueBackoff).toBe(backoffDelay);
  });
});
