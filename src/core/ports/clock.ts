/** Time, as a dependency: pure code never calls Date.now() or setTimeout itself. */

/** Time is a dependency: pure code never calls Date.now(). */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** An opaque handle of a scheduled callback. */
export type TimerHandle = unknown;

/**
 * Time as a dependency of the long-running parts: the wall clock and timers
 * together, so that tests drive both with one simulated clock. Its
 * setTimeout/clearTimeout pair is also what xstate accepts as an actor's
 * `clock`, so machine delays follow the same time.
 */
export interface TimerClock extends Clock {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The process's real clock and timers (for the composition root). */
export const systemTimerClock: TimerClock = {
  now: () => new Date(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
