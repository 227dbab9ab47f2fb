/**
 * The tracking port: what the reconciler tells an experiment tracker (MLflow)
 * about its passes and stage runs. A pass that runs stages is a parent run;
 * each stage run is a nested run named after the stage.
 *
 * Contract shared by every implementation:
 * - No call fails or blocks a stage because the tracker is unreachable: what
 *   cannot be delivered now is kept and delivered later, and {@link Tracker.health}
 *   says so (the `TrackingAvailable` condition of status).
 * - Calls on one run are delivered in the order they were made.
 * - Nothing here carries credentials; `StageRun.env` is the one place they
 *   appear (a stage's container needs them to log to the same run).
 */

/** MLflow's terminal run statuses. */
export type TrackedRunStatus = 'FINISHED' | 'FAILED' | 'KILLED';

export interface TrackedParam {
  key: string;
  value: string;
}

export interface TrackedMetric {
  key: string;
  value: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  step: number;
}

export interface TrackedTag {
  key: string;
  value: string;
}

/** A workspace file or directory logged under the run's artifacts. */
export interface TrackedArtifact {
  /** Workspace-relative path (`/` separators) of a file or a directory. */
  path: string;
  /**
   * Where it goes inside the run's artifact root (`/` separators): the file's
   * artifact path, or the directory's (its files keep their relative paths).
   */
  artifactPath: string;
  /**
   * The absolute workspace root `path` is in, when it is not the tracker's own
   * (an experiment's workspace, recording in its baseline's store).
   */
  root?: string;
}

/** A pass as the tracker knows it. */
export interface PassRun {
  /** Client-side id: stable from the start, whatever the server does. */
  readonly ref: string;
  /** The server's run id, once the run exists there. */
  readonly runId: string | undefined;
  readonly experimentId: string | undefined;
}

/** A stage run as the tracker knows it. */
export interface StageRun {
  readonly ref: string;
  readonly stageName: string;
  /** The server's run id; undefined while the tracker is unreachable (the run is created later). */
  readonly runId: string | undefined;
  readonly experimentId: string | undefined;
  /**
   * Environment for the stage's process so that code inside logs to the same
   * run: `MLFLOW_TRACKING_URI` (as the stage sees it), `MLFLOW_RUN_ID` and
   * `MLFLOW_EXPERIMENT_ID` when known, `MLFLOW_EXPERIMENT_NAME`, and the
   * credential variables when set (the composition root passes these on only
   * to a stage whose manifest asks: app/stage-credentials.ts). Never log it.
   */
  readonly env: Readonly<Record<string, string>>;
}

/** Everything recorded about a finished stage run. */
export interface StageRunRecord {
  status: TrackedRunStatus;
  endTime: Date;
  params: TrackedParam[];
  metrics: TrackedMetric[];
  tags: TrackedTag[];
  artifacts: TrackedArtifact[];
}

/**
 * What a pass's parent run carries when the pass ends, so that MLflow can
 * compare passes (experiments) side by side: every param of the pipeline and
 * every metric its stages produced in the pass.
 */
export interface PassRecord {
  params: TrackedParam[];
  metrics: TrackedMetric[];
  tags: TrackedTag[];
}

/** A model produced by a stage run, to register as a new version. */
export interface ModelRegistration {
  /** Registered model name. */
  name: string;
  /** Workspace-relative model file or directory; logged under the run's `model/` artifacts. */
  path: string;
  /** The absolute workspace root `path` is in, when it is not the tracker's own (see TrackedArtifact.root). */
  root?: string;
  /** The content's md5 (dvc.lock's), tagged on the version so a later stage can find it. */
  md5?: string;
  /** Alias set on the new version. */
  alias?: string;
  /** The registered model's description, when reprod creates it. */
  description?: string;
  /** Extra version tags. */
  tags?: TrackedTag[];
}

/** Moves an alias to a version found by content (or to the newest version). */
export interface ModelPromotion {
  name: string;
  alias: string;
  /** md5 of the model that was evaluated; undefined means the newest version. */
  md5?: string;
  /**
   * The promotion metric's value for that version: the alias moves only when
   * it beats the value recorded on the version that holds the alias now
   * (higher is better); without it the alias always moves.
   */
  metric?: { key: string; value: number };
}

export interface TrackingHealth {
  /** False while records cannot be delivered. */
  available: boolean;
  /** Records written to the outbox and not yet acknowledged. */
  pending: number;
  /** Why it is unavailable, or what was dropped; '' when all is well. Free of credentials. */
  message: string;
}

export interface Tracker {
  startPass(opts: { name: string; startedAt: Date; tags?: Record<string, string> }): Promise<PassRun>;
  startStageRun(pass: PassRun, opts: { stageName: string; startedAt: Date; tags?: Record<string, string> }): Promise<StageRun>;
  /** Params, metrics, tags, artifacts, then the final status. */
  finishStageRun(run: StageRun, record: StageRunRecord): Promise<void>;
  /** Logs the model under the run's artifacts and registers a version (tags on the run where there is no registry). */
  registerModel(run: StageRun, model: ModelRegistration): Promise<void>;
  /** Sets `promotion.alias` on a version of `promotion.name`; `run` is the run whose metric decided it. */
  promoteModel(run: StageRun, promotion: ModelPromotion): Promise<void>;
  /** Logs `record` (when given) on the pass's run, then ends it. */
  finishPass(pass: PassRun, status: TrackedRunStatus, endedAt: Date, record?: PassRecord): Promise<void>;
  /** The server's run id of a run started earlier, once known (after delivery). */
  runIdOf(run: PassRun | StageRun): string | undefined;
  health(): TrackingHealth;
}
