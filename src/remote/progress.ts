import { humanBytes } from '../core/bytes.js';
import type { Clock, ProgressBar } from '../core/ports.js';

export interface ProgressOptions {
  /** The command: `push`, `fetch`, … */
  label: string;
  write(s: string): void;
  /** A terminal gets a bar redrawn in place (`bar`); anything else gets plain lines. */
  tty: boolean;
  /** The terminal's bar (the CLI's cli-progress); without one, plain lines even on a terminal. */
  bar?: ProgressBar;
  clock: Clock;
}

/**
 * Transfer progress. On a terminal, a bar (objects done of those known, bytes
 * moved, the rate), erased at the end; elsewhere (logs, CI), a plain line each
 * time another tenth of the objects is done, so that output stays short and
 * deterministic. Every object counts once it is over, failed ones too: the
 * summary after says how many failed.
 */
export class Progress {
  private totalObjects = 0;
  private totalBytes = 0;
  private doneObjects = 0;
  private failedObjects = 0;
  private movedBytes = 0;
  private lastTenth = 0;
  private readonly startedAt: number;
  private readonly bar: ProgressBar | undefined;

  constructor(private readonly opts: ProgressOptions) {
    this.startedAt = opts.clock.now().getTime();
    this.bar = opts.tty ? opts.bar : undefined;
  }

  /** More work became known (fetching a listing reveals its files). */
  addTotal(objects: number, bytes = 0): void {
    this.totalObjects += objects;
    this.totalBytes += bytes;
    this.lastTenth = this.tenth();
    this.draw();
  }

  bytes(n: number): void {
    this.movedBytes += n;
    this.draw();
  }

  /** One object finished: moved or skipped, or (`failed`) not moved; failures are counted apart. */
  objectDone(failed = false): void {
    this.doneObjects++;
    if (failed) this.failedObjects++;
    if (!this.bar) {
      const t = this.tenth();
      if (t > this.lastTenth) {
        this.lastTenth = t;
        this.opts.write(`${this.line()}\n`);
      }
      return;
    }
    this.draw();
  }

  /** Erases the bar (a terminal); plain output needs no closing line. */
  finish(): void {
    this.bar?.stop();
  }

  private tenth(): number {
    if (this.totalObjects === 0) return 0;
    // small transfers report every object; larger ones every tenth
    return this.totalObjects <= 10 ? this.doneObjects : Math.floor((this.doneObjects * 10) / this.totalObjects);
  }

  private counts(): string {
    const bytes = this.totalBytes > 0 ? `${humanBytes(this.movedBytes)}/${humanBytes(this.totalBytes)}` : humanBytes(this.movedBytes);
    const failed = this.failedObjects > 0 ? `, ${this.failedObjects} failed` : '';
    return `${this.doneObjects - this.failedObjects}/${this.totalObjects} objects${failed}, ${bytes}`;
  }

  private line(): string {
    return `${this.opts.label}: ${this.counts()}`;
  }

  private draw(): void {
    if (!this.bar || this.totalObjects === 0) return;
    const secs = (this.opts.clock.now().getTime() - this.startedAt) / 1000;
    const rate = secs > 0 ? `  ${humanBytes(Math.round(this.movedBytes / secs))}/s` : '';
    this.bar.update(this.doneObjects, this.totalObjects, `${this.counts()}${rate}`);
  }
}
