import type { TrackedRunStatus, TrackedTag } from '../../core/ports.js';
import type { LogBatch } from '../../tracking/mlflow-limits.js';

/**
 * The MLflow operations reprod needs, one implementation per store: MLflow's
 * file store (`./mlruns`) and its REST API. Every method is one step the
 * outbox can repeat: creations are made findable (a run by a tag, a model
 * version by its tags) so that a repeated step does not duplicate.
 */

/** A run as stored. */
export interface RunHandle {
  runId: string;
  experimentId: string;
  /** `file:///…/artifacts` or `mlflow-artifacts:/<exp>/<run>/artifacts`. */
  artifactUri: string;
}

export interface CreateRunInput {
  runName: string;
  /** Milliseconds since the epoch. */
  startTime: number;
  tags: TrackedTag[];
  /** `mlflow.user`, for the file store's `user_id`. */
  userId?: string;
}

export interface ModelVersionInfo {
  version: string;
  runId?: string;
  tags: Record<string, string>;
}

export interface MlflowBackend {
  readonly kind: 'file' | 'rest';
  /** `MLFLOW_TRACKING_URI` as a stage sees it (never with credentials). */
  readonly stageUri: string;
  /** For logs and status (never with credentials). */
  readonly describe: string;

  /** The id of the active experiment named `name`, created when missing. */
  experimentId(name: string): Promise<string>;
  findRunByTag(experimentId: string, key: string, value: string): Promise<RunHandle | undefined>;
  createRun(experimentId: string, input: CreateRunInput): Promise<RunHandle>;
  /** One request's worth (see planLogBatches). */
  logBatch(run: RunHandle, batch: LogBatch): Promise<void>;
  /** Uploads a local file to `artifactPath` (a file path inside the run's artifacts). */
  logArtifact(run: RunHandle, artifactPath: string, file: string): Promise<void>;
  finishRun(run: RunHandle, status: TrackedRunStatus, endTime: number): Promise<void>;

  /** Creates the registered model when missing; throws `unsupported` when the server has no registry. */
  ensureRegisteredModel(name: string, description?: string): Promise<void>;
  modelVersions(name: string): Promise<ModelVersionInfo[]>;
  createModelVersion(name: string, source: string, run: RunHandle, tags: TrackedTag[]): Promise<string>;
  setAlias(name: string, alias: string, version: string): Promise<void>;
  /** The version `alias` points at; undefined when the alias is not set. */
  aliasVersion(name: string, alias: string): Promise<string | undefined>;
  setVersionTag(name: string, version: string, tag: TrackedTag): Promise<void>;
  /** The version source for artifacts logged under `artifactPath` of `run`. */
  modelSource(run: RunHandle, artifactPath: string): string;
}
