import { backoffDelay } from '../core/backoff.js';
import type { TimerClock, TimerHandle } from '../core/ports.js';

export interface WorkQueueOptions {
  clock: TimerClock;
  /**
   * Quiet time after the last `add` of a key before it is handed out: a burst
   * of saves becomes one reconcile (0 = hand out at once).
   */
  debounceMs?: number;
  /** The longest a key waits in a burst that never goes quiet (default 5 × debounce, at least 1 s). */
  maxDebounceMs?: number;
  /** First delay of `addRateLimited` (default 1 s); it doubles per failure of the key... */
  baseBackoffMs?: number;
  /** ...up to this (default 5 min). */
  maxBackoffMs?: number;
}

interface Delayed {
  readyAt: number;
  /** When the burst began: debouncing never pushes a key past firstAt + maxDebounce. */
  firstAt: number;
  timer: TimerHandle;
}

/**
 * A work queue of keys after controller-runtime's: what it holds is only
 * *which* things to look at (a stage name, or `pipeline`), never what
 * happened to them, so duplicates collapse.
 *
 *   add(k) ──debounce──┐
 *   addAfter(k, ms) ───┼─► dirty ─► queue ─► get() ─► processing ─► done(k)
 *   addRateLimited(k) ─┘     ▲                            │
 *                            └── added while processing: ─┘ queued again by done()
 *
 * A key is handed out to one worker at a time; adding it while it is being
 * processed marks it dirty, and `done` queues it again. `addRateLimited`
 * delays a key by a capped exponential backoff that grows with each call
 * until `forget`. Time comes from the injected clock.
 */
export class WorkQueue<K extends string = string> {
  private readonly clock: TimerClock;
  private readonly debounceMs: number;
  private readonly maxDebounceMs: number;
  private readonly baseBackoffMs: number;
  private readonly maxBackoffMs: number;
  /** Ready keys, in the order they became ready. */
  private queue: K[] = [];
  /** Keys that need processing: queued, or being processed and to be queued again. */
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly delayed = new Map<K, Delayed>();
  private readonly failures = new Map<K, number>();
  private waiters: ((key: K | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions) {
    this.clock = opts.clock;
    this.debounceMs = Math.max(0, opts.debounceMs ?? 0);
    this.maxDebounceMs = Math.max(this.debounceMs, opts.maxDebounceMs ?? Math.max(1000, 5 * this.debounceMs));
    this.baseBackoffMs = Math.max(1, opts.baseBackoffMs ?? 1000);
    this.maxBackoffMs = Math.max(this.baseBackoffMs, opts.maxBackoffMs ?? 300_000);
  }

  /** Asks for `key` to be processed once the burst it belongs to has gone quiet. */
  add(key: K): void {
    if (this.shuttingDown || this.isQueued(key)) return;
    if (this.debounceMs === 0) {
      this.makeReady(key);
      return;
    }
    const now = this.nowMs();
    const d = this.delayed.get(key);
    const firstAt = d?.firstAt ?? now;
    this.schedule(key, Math.min(now + this.debounceMs, firstAt + this.maxDebounceMs), firstAt);
  }

  /** Asks for `key` to be processed now, without debouncing. */
  addNow(key: K): void {
    if (this.shuttingDown) return;
    const d = this.delayed.get(key);
    if (d) {
      this.clock.clearTimeout(d.timer);
      this.delayed.delete(key);
    }
    this.makeReady(key);
  }

  /** Asks for `key` to be processed in `ms` (or sooner, when it is already due sooner). */
  addAfter(key: K, ms: number): void {
    if (this.shuttingDown || this.isQueued(key)) return;
    if (ms <= 0) {
      this.addNow(key);
      return;
    }
    const now = this.nowMs();
    const d = this.delayed.get(key);
    const readyAt = now + ms;
    if (d && d.readyAt <= readyAt) return;
    this.schedule(key, readyAt, d?.firstAt ?? now);
  }

  /** Asks for `key` again after its next backoff delay; returns that delay. */
  addRateLimited(key: K): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const delay = backoffDelay(n, this.baseBackoffMs, this.maxBackoffMs);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the backoff of `key` (after it was processed successfully). */
  forget(key: K): void {
    this.failures.delete(key);
  }

  /** How many times `key` was rate-limited since it was last forgotten. */
  numRequeues(key: K): number {
    return this.failures.get(key) ?? 0;
  }

  /**
   * The next ready key, marked as being processed; waits until there is one.
   * undefined once the queue is shut down.
   */
  get(): Promise<K | undefined> {
    const key = this.take();
    if (key !== undefined || this.shuttingDown) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The next ready key without waiting, or undefined. */
  tryGet(): K | undefined {
    return this.take();
  }

  /** Ends the processing of `key`; if it was added meanwhile, it is queued again. */
  done(key: K): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) {
      this.queue.push(key);
      this.wake();
    }
  }

  /** True when `key` is waiting (delayed), queued, or due again after its processing. */
  has(key: K): boolean {
    return this.dirty.has(key) || this.delayed.has(key);
  }

  isProcessing(key: K): boolean {
    return this.processing.has(key);
  }

  /** Keys ready to be handed out. */
  get depth(): number {
    return this.queue.length;
  }

  /** Keys waiting for their delay (debounce or backoff). */
  get waiting(): number {
    return this.delayed.size;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  /** Nothing ready, nothing being processed (delayed keys may remain). */
  get idle(): boolean {
    return this.queue.length === 0 && this.processing.size === 0;
  }

  get isShutDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops handing out keys: pending `get`s resolve to undefined, timers are cleared. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) this.clock.clearTimeout(d.timer);
    this.delayed.clear();
    this.queue = [];
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w(undefined);
  }

  /** Ready and not yet handed out: whoever processes it will see the state as it is then. */
  private isQueued(key: K): boolean {
    return this.dirty.has(key) && !this.processing.has(key);
  }

  private nowMs(): number {
    return this.clock.now().getTime();
  }

  private schedule(key: K, readyAt: number, firstAt: number): void {
    const d = this.delayed.get(key);
    if (d) this.clock.clearTimeout(d.timer);
    const timer = this.clock.setTimeout(() => {
      if (this.delayed.get(key)?.timer !== timer) return;
      this.delayed.delete(key);
      this.makeReady(key);
    }, readyAt - this.nowMs());
    this.delayed.set(key, { readyAt, firstAt, timer });
  }

  private makeReady(key: K): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.wake();
  }

  private take(): K | undefined {
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  private wake(): void {
    while (this.waiters.length > 0 && this.queue.length > 0) {
      const w = this.waiters.shift();
      const key = this.take();
      if (w && key !== undefined) w(key);
    }
  }
}

/** Re-exported for the modules that took it from here; the formula lives in core/backoff.ts. */
export { backoffDelay };
