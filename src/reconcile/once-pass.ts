import type { ReprodError } from '../core/errors.js';
import type { RetryPolicy } from './failure-policy.js';
import type { OnceOptions, PassSummary } from './reconciler-api.js';
import { topState, type StageSnapshot } from './stage-machine.js';

/** A one-shot pass retries only what a manifest asks to retry. */
export const ONCE_RETRY: RetryPolicy = { limit: 0, baseMs: 0, maxMs: 0 };

/**
 * The state of a one-shot pass (`reprod repro`) over the reconciler's
 * machinery: its scope, whether it halted (the first failure without
 * --keep-going, or Ctrl-C: nothing more starts), and how it ends — with the
 * pass's summary, or with the spec's error (a one-shot pass does not keep a
 * last good spec: it fails).
 */
export class OncePass {
  readonly scope: ReadonlySet<string> | undefined;
  readonly keepGoing: boolean;
  /** Each key is looked at until its stage settles before the next (one slot: DVC's order, exactly). */
  readonly sequential: boolean;
  halted = false;
  /** Resolves with the summary of the pass; rejects with an invalid spec's error. */
  readonly result: Promise<PassSummary>;
  private resolve!: (s: PassSummary) => void;
  private reject!: (err: ReprodError) => void;

  constructor(opts: OnceOptions, sequential: boolean) {
    this.scope = opts.scope;
    this.keepGoing = opts.keepGoing === true;
    this.sequential = sequential;
    this.result = new Promise<PassSummary>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  end(summary: PassSummary): void {
    this.resolve(summary);
  }

  failSpec(err: ReprodError): void {
    this.reject(err);
  }

  /** A stage's own failure: without --keep-going nothing more starts. */
  stageFailed(): void {
    if (!this.keepGoing) this.halted = true;
  }

  /**
   * In a sequential pass, a stage holds the sequence until it settles, unless
   * it can no longer start. A cancelled or backing-off stage lets go: it comes
   * back through the queue, and its downstream waits for it meanwhile.
   */
  holdsSequence(s: StageSnapshot, stopping: boolean): boolean {
    if (!this.sequential) return false;
    const st = topState(s);
    if (st === 'queued') return !this.halted && !stopping;
    return st === 'deciding' || st === 'running';
  }
}
