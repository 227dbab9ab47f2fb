import { errorMessage } from '../core/errno.js';
import type { Logger, RuntimeIdentity } from '../core/ports.js';
import type { Lockfile, Stage } from '../core/types.js';
import type { StageReport } from '../status/reporter.js';
import type { PipelineStatusInput, StagePhase } from '../status/status-docs.js';
import type { StatusSink } from './reconciler-api.js';

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
  /** status/pipeline.yaml's input now. */
  pipeline(): PipelineStatusInput;
}

/**
 * Writes status/<stage>.yaml and status/pipeline.yaml for the reconciler:
 * what changed, a batch at a time, one writer at once. An unchanged report
 * is not written again. Status is a report: a failed write is logged, never
 * fatal. It also keeps each stage's last written phase (the pipeline's
 * summary of stages).
 */
export class StatusWriter {
  private readonly dirty = new Set<string>();
  private pipelineDirty = false;
  private writer: Promise<void> | undefined;
  /** What was last written per stage: an unchanged report is not even read back. */
  private readonly written = new Map<string, string>();
  private readonly phases = new Map<string, StagePhase>();

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

  /** Writes every stage again on the next change, whatever it last wrote (someone may have edited status/). */
  rewriteAll(): void {
    this.written.clear();
  }

  markStage(name: string): void {
    this.dirty.add(name);
    this.kick();
  }

  markPipeline(): void {
    this.pipelineDirty = true;
    this.kick();
  }

  /** Resolves when everything marked so far is written. */
  async idle(): Promise<void> {
    while (this.writer) await this.writer;
  }

  private kick(): void {
    this.writer ??= this.writeAll().finally(() => {
      this.writer = undefined;
      if (this.dirty.size > 0 || this.pipelineDirty) this.kick();
    });
  }

  private async writeAll(): Promise<void> {
    while (this.dirty.size > 0 || this.pipelineDirty) {
      const names = [...this.dirty];
      this.dirty.clear();
      if (names.length > 0) await this.writeStages(names);
      if (this.pipelineDirty) {
        this.pipelineDirty = false;
        try {
          await this.o.sink.pipeline(this.o.pipeline());
        } catch (err) {
          this.o.log.warn({ err: errorMessage(err) }, 'cannot write the pipeline status');
        }
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
    for (const name of names) {
      const v = this.o.view(name);
      if (!v) continue;
      if (this.phases.get(name) !== v.report.phase) {
        this.phases.set(name, v.report.phase);
        this.pipelineDirty = true;
      }
      const report: StageReport = { ...v.report, entry: lock?.stages.get(name) };
      const key = JSON.stringify([v.stage, v.runtime, { ...report, entry: report.entry?.outs }]);
      if (this.written.get(name) === key) continue;
      try {
        await this.o.sink.stage(v.stage, v.runtime, report);
        this.written.set(name, key);
      } catch (err) {
        this.o.log.warn({ stage: name, err: errorMessage(err) }, 'cannot write the stage status');
      }
    }
  }
}
