import type { TimerClock, TimerHandle } from '../../src/core/ports.js';

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/** Lets promise chains that are ready run to their next await on something not yet ready. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock whose time moves only when told to (xstate's SimulatedClock,
 * Temporal's time-skipping): tests advance it instead of sleeping. Timers due
 * at the same instant fire in the order they were set; between two firings,
 * pending promise work runs, so callbacks see the effects of earlier ones.
 */
export class SimulatedClock implements TimerClock {
  private ms: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start: Date | number = Date.UTC(2026, 0, 1)) {
    this.ms = typeof start === 'number' ? start : start.getTime();
  }

  now(): Date {
    return new Date(this.ms);
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.pending.push({ id, at: this.ms + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  /** Timers not yet fired. */
  get pendingTimers(): number {
    return this.pending.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way (and those they set). */
  async advance(ms: number): Promise<void> {
    const until = this.ms + ms;
    await settle();
    for (;;) {
      const next = this.earliest();
      if (!next || next.at > until) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.ms = Math.max(this.ms, next.at);
      next.fn();
      await settle();
    }
    this.ms = until;
    await settle();
  }

  /** Lets ready promise work run without moving time. */
  flush(): Promise<void> {
    return this.advance(0);
  }

  private earliest(): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending) if (!best || p.at < best.at || (p.at === best.at && p.id < best.id)) best = p;
    return best;
  }
}
