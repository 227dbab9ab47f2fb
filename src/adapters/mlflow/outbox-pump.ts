import path from 'node:path';
import { backoffDelay } from '../../core/backoff.js';
import { errorText } from '../../core/errno.js';
import type { Clock, Logger } from '../../core/ports.js';
import type { TrackingHealth } from '../../core/ports.js';
import type { RunHandle } from './backend.js';
import { isMlflowError, MlflowError } from './mlflow-error.js';
import type { JournalRecord, OutboxJournal } from './outbox-journal.js';
import { refsOf, type OutboxOp } from './outbox-ops.js';
import type { Redactor } from './redact.js';

/**
 * The outbox's delivery pump: the records journalled and not yet
 * acknowledged, sent one at a time, createRun records first, then the rest
 * in order:
 *
 *   ok ─► ack (+ server ids) ─► next
 *   transient / auth ─► stop; retry after capped exponential backoff, for as long as it takes
 *                       (a record the server keeps failing holds the queue, and health() says why)
 *   rejected ─► rejected.jsonl, next (a record the server refuses cannot block the others)
 *
 * What a record does on the server is outbox-delivery.ts's business, given
 * here as `deliver`.
 */

const MAX_REMEMBERED_RUNS = 10_000;
const DEFAULT_BACKOFF = { baseMs: 1_000, capMs: 60_000 };

/** A journalled record waiting for delivery. */
export interface Pending extends JournalRecord {
  /** Delivery was tried (or may have been, before a restart): a create must look for its run first. */
  attempted: boolean;
}

export interface OutboxPumpOptions {
  journal: OutboxJournal;
  /** Absolute path of the outbox folder (named in health messages). */
  outboxDir: string;
  /** The backend, for logs and health (never with credentials). */
  describe: string;
  clock: Clock;
  log: Logger;
  redactor: Redactor;
  backoff?: { baseMs: number; capMs: number };
  /** Waits; resolves early when `signal` aborts. */
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Abandons requests in flight (called by close). */
  abortInFlight?: () => void;
  /** Sends one record; returns the server ids it learnt, keyed by ref. */
  deliver(rec: Pending): Promise<Record<string, RunHandle> | undefined>;
}

export class OutboxPump {
  /** The server's ids of the runs delivered, by ref (bounded: see forgetOldIds). */
  readonly ids: Map<string, RunHandle>;
  private readonly pending: Pending[];
  private nextSeq: number;
  private pumping: Promise<void> | undefined;
  private streak = 0;
  private nextAttemptAt = 0;
  private lastError: string | undefined;
  private readonly notes = new Map<string, string>();
  private rejected = 0;
  private wake: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly o: OutboxPumpOptions,
    state: { pending: JournalRecord[]; ids: Map<string, RunHandle> },
  ) {
    // records read back from disk may have reached the server before the restart
    this.pending = state.pending.map((r) => ({ ...r, attempted: true }));
    this.ids = state.ids;
    this.nextSeq = this.pending.reduce((m, r) => Math.max(m, r.seq), 0) + 1;
  }

  /** Records, once, that tracking works in a degraded way; health() repeats it. */
  note(key: string, message: string): void {
    if (this.notes.has(key)) return;
    this.notes.set(key, message);
    this.o.log.warn({ tracking: this.o.describe, note: this.o.redactor.redact(message) }, 'tracking degraded');
  }

  /** Journals an op (durably) and starts delivery; never throws: a journal that cannot be written is reported. */
  async enqueue(op: OutboxOp): Promise<number | undefined> {
    const rec: Pending = { seq: this.nextSeq++, op, attempted: false };
    try {
      await this.o.journal.appendOp(rec);
    } catch (e) {
      const err = this.o.redactor.redact(errorText(e));
      this.o.log.error({ err, kind: op.kind }, 'tracking record lost: the outbox cannot be written');
      this.notes.set('journal', `the outbox cannot be written (${err}): tracking records are lost`);
      return undefined;
    }
    this.pending.push(rec);
    this.wake?.();
    if (this.wake === undefined) void this.kick();
    return rec.seq;
  }

  /** Waits up to `ms` for record `seq` to be delivered; at once while the server is known to be down. */
  async waitDelivered(seq: number, ms: number): Promise<void> {
    if (this.backingOff()) return;
    const ac = new AbortController();
    const delivered = (async () => {
      while (this.pending.some((r) => r.seq === seq) && !ac.signal.aborted && !this.closed) {
        await this.kick();
        if (this.lastError !== undefined) return;
      }
    })();
    await Promise.race([delivered, this.o.sleep(ms, ac.signal)]);
    ac.abort();
  }

  health(): TrackingHealth {
    const parts: string[] = [];
    if (this.lastError !== undefined) {
      const wait = Math.max(0, Math.round((this.nextAttemptAt - this.o.clock.now().getTime()) / 1000));
      parts.push(`${this.o.describe} is unavailable: ${this.lastError}; ${this.pending.length} record(s) kept in the outbox, next attempt in ${wait}s`);
    }
    if (this.rejected) parts.push(`${this.rejected} record(s) refused by the server (see ${path.join(this.o.outboxDir, 'rejected.jsonl')})`);
    parts.push(...this.notes.values());
    return { available: this.lastError === undefined, pending: this.pending.length, message: this.o.redactor.redact(parts.join('; ')) };
  }

  // ------------------------------------------------------------------ control

  /**
   * Delivers in the background until `signal` aborts: at once when a record
   * is added, after the backoff when the server failed.
   */
  async start(signal: AbortSignal): Promise<void> {
    const onAbort = () => this.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted && !this.closed) {
        await this.kick();
        if (signal.aborted) break;
        const woken = new Promise<void>((resolve) => (this.wake = resolve));
        if (this.pending.length === 0) {
          await woken;
        } else {
          const ac = new AbortController();
          const stop = () => ac.abort();
          signal.addEventListener('abort', stop, { once: true });
          void woken.then(stop);
          await this.o.sleep(Math.max(0, this.nextAttemptAt - this.o.clock.now().getTime()), ac.signal);
          signal.removeEventListener('abort', stop);
        }
        this.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Tries to deliver everything pending within `deadlineMs` (waiting out
   * backoffs that end before it); what is left stays in the outbox.
   */
  async flush(deadlineMs: number): Promise<TrackingHealth> {
    const end = this.o.clock.now().getTime() + deadlineMs;
    for (;;) {
      await this.kick();
      const now = this.o.clock.now().getTime();
      if (this.pending.length === 0 || now >= end || this.nextAttemptAt > end) break;
      await this.o.sleep(Math.max(0, this.nextAttemptAt - now));
    }
    return this.health();
  }

  /** Resolves when nothing is pending (at once if nothing is). */
  whenIdle(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops delivery (an upload in flight is abandoned and stays pending) and
   * closes the journal; what is left (pending records, runs not finished) is
   * taken over by the next process that opens the outbox.
   */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.o.abortInFlight?.();
    await this.pumping;
    // a journal with nothing to send and no run open is done with; otherwise it stays for the next process
    const done = this.pending.length === 0 && this.o.journal.openRuns.size === 0;
    if (this.pending.length === 0 && !done) await this.o.journal.compact([], this.ids);
    await this.o.journal.close({ remove: done });
  }

  // ------------------------------------------------------------------ the pump

  private backingOff(): boolean {
    return this.lastError !== undefined && this.o.clock.now().getTime() < this.nextAttemptAt;
  }

  /** Runs the pump unless it is running; resolves when that pump stops. */
  private kick(): Promise<void> {
    if (!this.pumping) {
      this.pumping = this.pump().finally(() => {
        this.pumping = undefined;
      });
    }
    return this.pumping;
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      if (this.backingOff()) return;
      const rec = this.pending.find((r) => r.op.kind === 'createRun') ?? this.pending[0];
      if (!rec) break;
      let ids: Record<string, RunHandle> | undefined;
      try {
        ids = await this.o.deliver(rec);
      } catch (e) {
        const err = isMlflowError(e) ? e : new MlflowError('transient', errorText(e), undefined, undefined, e);
        const message = this.o.redactor.redact(err.message);
        // an outage (or credentials to fix) holds everything back, for as long as it lasts: nothing is dropped
        if (err.kind === 'transient' || err.kind === 'auth') {
          this.failed(message);
          return;
        }
        await this.setAside(rec, message);
        continue;
      }
      await this.acknowledge(rec, ids);
    }
    if (this.pending.length === 0 || this.o.journal.needsCompaction) {
      await this.o.journal.compact(this.pending, this.ids).catch((e: unknown) => this.o.log.warn({ err: errorText(e) }, 'outbox compaction failed'));
    }
  }

  private failed(message: string): void {
    this.streak++;
    const { baseMs, capMs } = this.o.backoff ?? DEFAULT_BACKOFF;
    const delay = backoffDelay(this.streak, baseMs, capMs);
    this.nextAttemptAt = this.o.clock.now().getTime() + delay;
    if (this.lastError === undefined) this.o.log.warn({ tracking: this.o.describe, pending: this.pending.length, retryInMs: delay, err: message }, 'tracking unavailable');
    this.lastError = message;
  }

  private async acknowledge(rec: Pending, ids: Record<string, RunHandle> | undefined): Promise<void> {
    if (this.lastError !== undefined) this.o.log.info({ tracking: this.o.describe, pending: this.pending.length - 1 }, 'tracking available again');
    this.streak = 0;
    this.lastError = undefined;
    for (const [k, v] of Object.entries(ids ?? {})) this.ids.set(k, v);
    this.forgetOldIds();
    this.remove(rec);
    await this.o.journal.appendAck(rec.seq, ids).catch((e: unknown) => this.o.log.warn({ err: errorText(e) }, 'outbox acknowledgement not written: the record may be sent again'));
    await this.dropBlob(rec.op);
  }

  private async setAside(rec: Pending, message: string): Promise<void> {
    this.rejected++;
    this.o.log.warn({ tracking: this.o.describe, kind: rec.op.kind, err: message }, 'tracking record refused');
    this.remove(rec);
    await this.o.journal.appendDead(rec, message, this.o.clock.now()).catch((e: unknown) => this.o.log.warn({ err: errorText(e) }, 'outbox rejection not written'));
    await this.dropBlob(rec.op);
  }

  /** Keeps the ref → run map bounded in a long-running daemon: the oldest refs no pending op needs go. */
  private forgetOldIds(): void {
    if (this.ids.size <= MAX_REMEMBERED_RUNS) return;
    const needed = new Set([...this.pending.flatMap((r) => refsOf(r.op)), ...this.o.journal.openRuns]);
    for (const ref of this.ids.keys()) {
      if (this.ids.size <= MAX_REMEMBERED_RUNS) break;
      if (!needed.has(ref)) this.ids.delete(ref);
    }
  }

  private remove(rec: Pending): void {
    const i = this.pending.indexOf(rec);
    if (i >= 0) this.pending.splice(i, 1);
    if (this.pending.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async dropBlob(op: OutboxOp): Promise<void> {
    if (op.kind !== 'logArtifact') return;
    if (this.pending.some((r) => r.op.kind === 'logArtifact' && r.op.blob === op.blob)) return;
    await this.o.journal.removeBlob(op.blob).catch(() => undefined);
  }
}
