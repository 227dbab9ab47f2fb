import type { Clock } from '../core/ports.js';

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

export interface ProgressOptions {
  /** The command: `push`, `fetch`, … */
  label: string;
  write(s: string): void;
  /** A terminal gets one bar redrawn in place; anything else gets plain lines. */
  tty: boolean;
  clock: Clock;
  /** Least time between two redraws of the bar. */
  intervalMs?: number;
}

/**
 * Transfer progress. On a terminal, one line redrawn at most every
 * `intervalMs` and erased at the end; elsewhere (logs, CI), a plain line each
 * time another tenth of the objects is done, so that output stays short and
 * deterministic.
 */
export class Progress {
  private totalObjects = 0;
  private totalBytes = 0;
  private doneObjects = 0;
  private failedObjects = 0;
  private movedBytes = 0;
  private lastDraw = -Infinity;
  private lastTenth = 0;
  private drawn = false;
  private readonly startedAt: number;

  constructor(private readonly opts: ProgressOptions) {
    this.startedAt = opts.clock.now().getTime();
  }

  /** More work became known (fetching a listing reveals its files). */
  addTotal(objects: number, bytes = 0): void {
    this.totalObjects += objects;
    this.totalBytes += bytes;
    this.lastTenth = this.tenth();
    this.draw(false);
  }

  bytes(n: number): void {
    this.movedBytes += n;
    this.draw(false);
  }

  /** One object finished: moved or skipped, or (`failed`) not moved; failures are counted apart. */
  objectDone(failed = false): void {
    this.doneObjects++;
    if (failed) this.failedObjects++;
    if (!this.opts.tty) {
      const t = this.tenth();
      if (t > this.lastTenth) {
        this.lastTenth = t;
        this.opts.write(`${this.line()}\n`);
      }
      return;
    }
    this.draw(this.doneObjects === this.totalObjects);
  }

  /** Erases the bar (a terminal); plain output needs no closing line. */
  finish(): void {
    if (this.opts.tty && this.drawn) this.opts.write('\r\x1b[K');
    this.drawn = false;
  }

  private tenth(): number {
    if (this.totalObjects === 0) return 0;
    // small transfers report every object; larger ones every tenth
    return this.totalObjects <= 10 ? this.doneObjects : Math.floor((this.doneObjects * 10) / this.totalObjects);
  }

  private line(): string {
    const bytes = this.totalBytes > 0 ? `${humanBytes(this.movedBytes)}/${humanBytes(this.totalBytes)}` : humanBytes(this.movedBytes);
    const failed = this.failedObjects > 0 ? `, ${this.failedObjects} failed` : '';
    return `${this.opts.label}: ${this.doneObjects - this.failedObjects}/${this.totalObjects} objects${failed}, ${bytes}`;
  }

  private draw(force: boolean): void {
    if (!this.opts.tty || this.totalObjects === 0) return;
    const now = this.opts.clock.now().getTime();
    if (!force && now - this.lastDraw < (this.opts.intervalMs ?? 100)) return;
    this.lastDraw = now;
    const width = 24;
    const filled = Math.round((this.doneObjects / this.totalObjects) * width);
    const secs = (now - this.startedAt) / 1000;
    const rate = secs > 0 ? `  ${humanBytes(Math.round(this.movedBytes / secs))}/s` : '';
    this.opts.write(`\r${this.opts.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.line().slice(this.opts.label.length + 2)}${rate}\x1b[K`);
    this.drawn = true;
  }
}
