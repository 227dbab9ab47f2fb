import type { Logger, TimerClock } from '../core/ports.js';
import type { Lockfile } from '../core/types.js';
import type { PipelineStatusInput, StagePhase } from '../status/status-docs.js';
import type { ExternalCondition, StatusSink } from './reconciler-api.js';
import type { SpecInForce } from './spec-in-force.js';
import type { Entry, StageActors } from './stage-actors.js';
import { pipelineView, RunRecords } from './status-views.js';
import { StatusWriter, type StageView } from './status-writer.js';

/** What the reconciler's status files are made from, read when they are written. */
export interface StatusSources {
  actors: StageActors;
  specs: SpecInForce;
  engine(): ExternalCondition | undefined;
  tracking(): ExternalCondition | undefined;
  lastPass(): { startedAt: Date; finishedAt: Date; ran: number; failed: number } | undefined;
  /** A one-shot pass that halted or is stopping leaves the stages it did not start stale, not queued. */
  queuedIsStale(): boolean;
}

/**
 * The reconciler's book of status: the writer of status/, what it remembers
 * of each stage's runs (RunRecords), and the views of stages whose actor a
 * one-shot pass let go, kept until their status is written.
 */
export class StatusBook {
  readonly writer: StatusWriter;
  readonly runs = new RunRecords();
  /** One-shot: what the status of a stage whose actor was let go is to say, until it is written. */
  private readonly releasedViews = new Map<string, StageView>();

  constructor(
    o: { sink: StatusSink; readLock(): Promise<Lockfile>; log: Logger; clock: TimerClock; previous?: Record<string, StagePhase> | undefined },
    private readonly src: StatusSources,
  ) {
    this.writer = new StatusWriter({
      sink: o.sink,
      readLock: o.readLock,
      log: o.log,
      view: (name) => this.view(name),
      pipeline: () => this.pipeline(),
      clock: o.clock,
      written: (name) => this.statusWritten(name),
    });
    for (const [name, phase] of Object.entries(o.previous ?? {})) this.writer.setPhase(name, phase);
  }

  /** A run of the stage started: its status says so. */
  runStarted(stage: string, runId: string): void {
    this.runs.started(stage, runId);
    this.writer.markStage(stage);
  }

  /** The stage left the spec. */
  forget(name: string): void {
    this.writer.forget(name);
    this.runs.forget(name);
  }

  /** Lets go of a settled stage's actor; what its status is to say is kept until it is written. */
  release(entry: Entry): void {
    const v = this.view(entry.name);
    if (v) this.releasedViews.set(entry.name, v);
    this.src.actors.release(entry);
  }

  /** Each stage's last written phase (Stale until one is). */
  phases(): Record<string, StagePhase> {
    const out: Record<string, StagePhase> = {};
    for (const s of this.src.specs.spec?.pipeline.stages ?? []) out[s.name] = this.writer.phase(s.name) ?? 'Stale';
    return out;
  }

  private view(name: string): StageView | undefined {
    const e = this.src.actors.current(name);
    if (!e) return this.releasedViews.get(name);
    return this.runs.view(e.actor.getSnapshot(), this.src.queuedIsStale());
  }

  private pipeline(): PipelineStatusInput | undefined {
    const { spec, error: specError } = this.src.specs;
    if (!spec && !specError) return undefined;
    return pipelineView({ spec, specError, phases: this.phases(), lastPass: this.src.lastPass(), tracking: this.src.tracking(), engine: this.src.engine() });
  }

  /** A stage's status was written: a released stage's view, and what was written of it, are no longer needed. */
  private statusWritten(name: string): void {
    if (!this.releasedViews.delete(name)) return;
    this.writer.release(name);
  }
}
