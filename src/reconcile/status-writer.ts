import { errorMessage } from '../core/errno.js';
import type { Logger, RuntimeIdentity } from '../core/ports.js';
import type { Lockfile, Stage } from '../core/types.js';
import type { StageReport } from '../status/reporter.js';
import type { PipelineStatusInput, StagePhase } from '../status/status-docs.js';
import type { StatusSink } from './reconciler-api.js';
import type { TimerClock, TimerHandle } from '../core/ports.js';

/** What a stage's status says now, as the reconciler sees it (without its dvc.lock outputs). */
export interface StageView {
  stage: Stage;
  runtime: RuntimeIdentity | undefined;
  report: Omit<StageReport, 'entry'>;
}

export interface StatusWriterOptions {
  sink: StatusSink;
  readLock(): Promise<Lockfile>;
  log: Logger;
  /** The stage's status now; undefined while it is on its way to a verdict (nothing to write). */
  view(name: string): StageView | undefined;
  /** status/pipeline.yaml's input now; undefined while there is nothing to describe (no spec read yet, valid or not). */
  pipeline(): PipelineStatusInput | undefined;
  /** Paces the pipeline's writes (see StatusWriter). */
  clock: TimerClock;
  /** A stage's status was written (or found unchanged) from its view. */
  written?(name: string): void;
}

/**
 * After a pipeline write that took d ms, stage phases that change wait
 * PIPELINE_PAUSE × d more before they are written in the next: at most about
 * 1 / (1 + PIPELINE_PAUSE) of the time goes to a file that grows with the
 * number of stages, however many stages change.
 */
const PIPELINE_PAUSE = 9;

/**
 * Writes status/<stage>.yaml and status/pipeline.yaml for the reconciler:
 * what changed, a batch at a time, one writer at once. An unchanged report
 * is not written again. Status is a report: a failed write is logged, never
 * fatal. It also keeps each stage's last written phase (the pipeline's
 * summary of stages).
 *
 * status/pipeline.yaml lists every stage, so writing it costs O(stages):
 * rewritten for every phase change of a stage, a first run of n stages
 * would cost O(n²). An explicit markPipeline() is written at once; phase
 * changes are gathered and written once the pause after the last pipeline
 * write (PIPELINE_PAUSE times as long as it took) is over. With a simulated
 * clock, writes take no time and nothing waits.
 */
export class StatusWriter {
  private readonly dirty = new Set<string>();
  private pipelineDirty = false;
  /** A stage's phase changed: the pipeline is written once `pipelineFrom` has come. */
  private pipelineLater = false;
  private pipelineFrom = 0;
  private pipelineTimer: TimerHandle | undefined;
  private writer: Promise<void> | undefined;
  /** What was last written per stage: an unchanged report is not even read back. */
  private readonly written = new Map<string, string>();
  private readonly phases = new Map<string, StagePhase>();
  /** Stages of the batch being written that are not written yet. */
  private inBatch = 0;
  private readonly drainWaiters: { max: number; resolve: () => void }[] = [];

  constructor(private readonly o: StatusWriterOptions) {}

  /** The last phase written (or shown before this process) of each stage. */
  phase(name: string): StagePhase | undefined {
    return this.phases.get(name);
  }

  setPhase(name: string, phase: StagePhase): void {
    this.phases.set(name, phase);
  }

  forget(name: string): void {
    this.phases.delete(name);
    this.written.delete(name);
    this.dirty.delete(name);
  }

  /** The stage will not be written again (a one-shot pass let it go): what was last written of it need not be kept. */
  release(name: string): void {
    this.written.delete(name);
  }

  /** Writes every stage again on the next change, whatever it last wrote (someone may have edited status/). */
  rewriteAll(): void {
    this.written.clear();
  }

  /** Stages whose status waits to be written, or is being written. */
  get backlog(): number {
    return this.dirty.size + this.inBatch;
  }

  /** Resolves once at most `max` stages wait for their status to be written (at once when so). */
  drained(max: number): Promise<void> {
    if (this.backlog <= max) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push({ max, resolve }));
  }

  private wakeDrained(): void {
    for (let i = this.drainWaiters.length - 1; i >= 0; i--) {
      const w = this.drainWaiters[i] as { max: number; resolve: () => void };
      if (this.backlog > w.max) continue;
      this.drainWaiters.splice(i, 1);
      w.resolve();
    }
  }

  /** The stage's status is waiting to be written. */
  isDirty(name: string): boolean {
    return this.dirty.has(name);
  }

  markStage(name: string): void {
    this.dirty.add(name);
    this.kick();
  }

  markPipeline(): void {
    this.pipelineDirty = true;
    this.kick();
  }

  /** Resolves when everything marked so far is written (phase changes waiting for their pause included). */
  async idle(): Promise<void> {
    if (this.pipelineLater) this.markPipeline();
    while (this.writer) await this.writer;
  }

  private kick(): void {
    this.writer ??= this.writeAll().finally(() => {
      this.writer = undefined;
      if (this.dirty.size > 0 || this.pipelineDue()) this.kick();
      else if (this.pipelineLater) this.wakeForPipeline();
    });
  }

  private pipelineDue(): boolean {
    return this.pipelineDirty || (this.pipelineLater && this.o.clock.now().getTime() >= this.pipelineFrom);
  }

  private wakeForPipeline(): void {
    if (this.pipelineTimer !== undefined) return;
    this.pipelineTimer = this.o.clock.setTimeout(() => {
      this.pipelineTimer = undefined;
      this.kick();
    }, this.pipelineFrom - this.o.clock.now().getTime());
  }

  private async writeAll(): Promise<void> {
    while (this.dirty.size > 0 || this.pipelineDue()) {
      const names = [...this.dirty];
      this.dirty.clear();
      if (names.length > 0) await this.writeStages(names);
      if (this.pipelineDue()) {
        this.pipelineDirty = false;
        this.pipelineLater = false;
        if (this.pipelineTimer !== undefined) this.o.clock.clearTimeout(this.pipelineTimer);
        this.pipelineTimer = undefined;
        const started = this.o.clock.now().getTime();
        try {
          // before the first spec is read, a write would describe no pipeline, and count a generation of nothing
          const input = this.o.pipeline();
          if (input) await this.o.sink.pipeline(input);
        } catch (err) {
          this.o.log.warn({ err: errorMessage(err) }, 'cannot write the pipeline status');
        }
        const ended = this.o.clock.now().getTime();
        this.pipelineFrom = ended + PIPELINE_PAUSE * (ended - started);
      }
    }
  }

  private async writeStages(names: string[]): Promise<void> {
    let lock: Lockfile | undefined;
    try {
      lock = await this.o.readLock();
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err) }, 'cannot read dvc.lock for status');
    }
    for (const [i, name] of names.entries()) {
      this.inBatch = names.length - i;
      this.wakeDrained();
      const v = this.o.view(name);
      if (!v) continue;
      if (this.phases.get(name) !== v.report.phase) {
        this.phases.set(name, v.report.phase);
        this.pipelineLater = true;
      }
      const report: StageReport = { ...v.report, entry: lock?.stages.get(name) };
      const key = JSON.stringify([v.stage, v.runtime, { ...report, entry: report.entry?.outs }]);
      if (this.written.get(name) === key) {
        this.o.written?.(name);
        continue;
      }
      try {
        await this.o.sink.stage(v.stage, v.runtime, report);
        this.written.set(name, key);
        this.o.written?.(name);
      } catch (err) {
        this.o.log.warn({ stage: name, err: errorMessage(err) }, 'cannot write the stage status');
      }
    }
    this.inBatch = 0;
    this.wakeDrained();
  }
}
