import type { Logger, PreparedRuntime, RuntimeIdentity } from '../core/ports.js';
import type { Pipeline, Stage } from '../core/types.js';
import type { Dag } from '../pipeline/dag.js';
import type { ParsedManifests } from '../pipeline/manifests.js';
import type { StageReport } from '../status/reporter.js';
import type { PipelineStatusDoc, PipelineStatusInput, StagePhase } from '../status/status-docs.js';
import type { RetryPolicy } from './failure-policy.js';
import type { StageDecision, StageOutcome } from './outcome.js';
import type { StageEffects } from './stage-effects.js';
import type { StagePlan } from './stage-steps.js';
import type { TimerClock } from '../core/ports.js';

/**
 * The Reconciler's contract: what it needs, what it tells, what it returns.
 * One engine serves both modes:
 *
 *   daemon   start(signal)  passes for as long as the signal holds, one per burst of events
 *   one-shot runOnce(opts)  a single pass over the selected stages (`reprod repro`)
 */

/** The work-queue key that means "re-read the spec, then look at every stage" (no stage name has a colon). */
export const PIPELINE_KEY = ':pipeline';

/** The desired state as loaded from disk (app/project.ts's Spec satisfies it). */
export interface ReconcileSpec {
  pipeline: Pipeline;
  dag: Dag;
  manifests: ParsedManifests;
  /** The text the spec was made from: its hash is the pipeline's generation. */
  text: string;
}

/** Where status goes (StatusReporter satisfies it). */
export interface StatusSink {
  stage(stage: Stage, runtime: RuntimeIdentity | undefined, report: StageReport): Promise<unknown>;
  pipeline(input: PipelineStatusInput): Promise<void>;
}

export interface PassSummary {
  startedAt: Date;
  finishedAt: Date;
  ran: number;
  restored: number;
  failed: number;
  cancelled: number;
  /** Every stage's phase when the pass ended. */
  phases: Record<string, StagePhase>;
  /** What happened to each stage looked at, in the order it was decided (its last decision). */
  decisions: StageDecision[];
}

/**
 * Where tracking (MLflow) and presentation (the CLI) plug in. Every hook is
 * optional and may be slow; a hook that throws is logged and otherwise
 * ignored. Hooks still running when the reconciler stops are awaited.
 */
export interface ReconcilerHooks {
  passStarted?(passId: string): void | Promise<void>;
  /** A stage will really run (its image is ready; not when restored): extra environment for it. */
  stageStarting?(stage: Stage, runId: string, plan: StagePlan, prepared: PreparedRuntime): Promise<Record<string, string>>;
  /** May return the tracking run's id, which then goes into the stage's status (`lastRun.trackingRunId`). */
  stageFinished?(stage: Stage, outcome: StageOutcome, plan: StagePlan): void | Promise<void | { trackingRunId?: string }>;
  /** Every decision as it is made (a stage skipped, ran, failed, was blocked...). */
  stageDecided?(decision: StageDecision, stage: Stage): void;
  passFinished?(passId: string, summary: PassSummary): void | Promise<void>;
}

/** What the reconciler reports as it goes (counters and histograms; gauges come from `stats()`). */
export interface ReconcilerMetrics {
  runFinished(stage: string, outcome: StageOutcome['kind'], durationSeconds: number | undefined, transient: boolean): void;
  passFinished(summary: PassSummary): void;
}

/** A condition of status/pipeline.yaml that the reconciler does not own (TrackingAvailable). */
export interface ExternalCondition {
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface ReconcilerOptions {
  /** Reads dvc.yaml and the manifests; throws a ReprodError (with file, key, line) when they are invalid. */
  loadSpec(): ReconcileSpec | Promise<ReconcileSpec>;
  effects: StageEffects;
  status: StatusSink;
  clock: TimerClock;
  log: Logger;
  /** Stages running at once; overrides the `Pipeline` manifest's `maxParallel` (default 2). */
  maxParallel?: number;
  /** Quiet time that ends a burst of file events (default 150 ms). */
  debounceMs?: number;
  /** Keys looked at concurrently: plans in flight (default 4). */
  workers?: number;
  /** Retries of transient failures when a stage's manifest says nothing (one-shot default: none). */
  retry?: RetryPolicy;
  /** Full passes at this interval even without events (default 10 min; 0 = never). */
  resyncMs?: number;
  /** Backoff of keys whose reconcile threw (default 1 s, doubling, ≤ 5 min). */
  keyBackoffMs?: { base: number; max: number };
  hooks?: ReconcilerHooks;
  metrics?: ReconcilerMetrics;
  /**
   * The workspace lock, held from the start of a pass to its end (the daemon:
   * free while idle, so that DVC and a manual repro can run then).
   */
  lease?: { enter(): Promise<void>; leave(): Promise<void> };
  /** The TrackingAvailable condition, read at every write of status/pipeline.yaml. */
  tracking?(): ExternalCondition | undefined;
  newPassId?(): string;
  /** Called after each valid spec is loaded (the watcher follows it). */
  onSpec?(spec: ReconcileSpec): void;
  /** The phases status/pipeline.yaml showed before this process: shown until a stage is looked at again. */
  previousStatus?: PipelineStatusDoc;
}

/** `reprod repro`: which stages one pass looks at, and what a failure does to the rest. */
export interface OnceOptions {
  /** The stages looked at; the others are neither planned nor reported. Default: every stage. */
  scope?: ReadonlySet<string>;
  /** After a failure, go on with what does not depend on it; else start nothing more (DVC's default). */
  keepGoing?: boolean;
}

export interface ReconcilerStats {
  alive: boolean;
  /** False while the container engine does not answer (see Reconciler.setEngine). */
  engineUp: boolean;
  specValid: boolean;
  stages: number;
  /** Stage actors held now (a one-shot pass holds only those of stages in hand). */
  actors: number;
  running: number;
  queueDepth: number;
  queueWaiting: number;
  passes: number;
  lastPassAt: Date | undefined;
  phases: Record<string, StagePhase>;
}

