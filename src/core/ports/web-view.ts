/**
 * WebViewSource: what the daemon's web page reads and asks for. The HTTP
 * adapter (adapters/http/web-routes.ts) serves it; the composition root
 * (app/web-view.ts) implements it from the reconciler's status and stage
 * output, in process. The page's script (web/src) imports these types too:
 * they are the wire format of `/api/*` and `/events`, JSON as written here.
 */

/** A stage's phase, as status/<stage>.yaml says it (status-docs.ts's StagePhase must stay assignable to it). */
export type ViewPhase = 'UpToDate' | 'Stale' | 'Hashing' | 'Queued' | 'Building' | 'Running' | 'Failed' | 'Blocked' | 'Cancelled' | 'Frozen' | 'Backoff' | 'EngineUnavailable';

/** One node of the drawn graph. */
export interface ViewStage {
  name: string;
  phase: ViewPhase;
  /** Why it is stale, in words (`param modified: params.yaml:train`), empty when up to date. */
  reasons: string[];
  /** `docker` or `host`. */
  runtime: string;
}

/** `GET /api/pipeline`: the graph and each stage's phase. An edge runs from the producing stage to the one that reads its output. */
export interface ViewPipeline {
  stages: ViewStage[];
  edges: { from: string; to: string }[];
  /** Whether the POST actions are on (the daemon printed their token at start). */
  actions: boolean;
  /** The spec's error while the newest dvc.yaml is invalid (the last good graph is shown). */
  specError?: string;
}

/** One value that changed under a reason: a params key, or a dependency's hash. */
export interface ViewChange {
  /** `params.yaml:train.C`, or a dependency's path. */
  what: string;
  /** As recorded in dvc.lock; absent when new. */
  old?: string;
  /** As in the workspace now; absent when deleted. */
  new?: string;
}

export interface ViewReason {
  code: string;
  message: string;
  /** The values behind the reason, old → new, when they can be known. */
  changes: ViewChange[];
}

export interface ViewLastRun {
  runId: string;
  outcome: string;
  action: string;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  exitCode?: number;
  /** The image reference the stage ran under, and its ID (or `host`). */
  image?: string;
  runtime: string;
  error?: string;
  trackingRunId?: string;
  /** A link to the MLflow run, when the tracking server has a web UI (an http(s) MLFLOW_TRACKING_URI). */
  trackingUrl?: string;
  /** Where the run is in a file store (`mlruns/…`), when tracking is local. */
  trackingPath?: string;
}

/** `GET /api/stages/NAME`. */
export interface ViewStageDetail {
  name: string;
  phase: ViewPhase;
  cmd: string;
  runtime: string;
  /** Conditions' messages worth showing (Stalled's cause, a Failed run's error). */
  message?: string;
  reasons: ViewReason[];
  lastRun?: ViewLastRun;
  /** The latest run's output, a line each (the tail, when long). */
  log: string[];
  /** How many lines of the run's output `log` covers: a later `log` event has a greater `n`. */
  logSeq: number;
}

/** `GET /api/experiments`: one row per experiment (empty until experiments exist). */
export interface ViewExperiment {
  name: string;
  /** The git revision it ran at. */
  rev: string;
  params: Record<string, string>;
  metrics: Record<string, string>;
  /** ISO time it was created, when known. */
  createdAt?: string;
}

/** What `/events` pushes, one Server-Sent Event each, the event name being `kind`. */
export type ViewEvent =
  | { kind: 'condition'; stage: string; phase: ViewPhase; previous?: ViewPhase; reasons: string[]; at: string }
  /** The stage's last run changed (it ended, or its MLflow run became known): its panel is worth reading again. */
  | { kind: 'run'; stage: string; runId: string; outcome: string }
  /** A new run of the stage began writing output: what was shown before is not its output. */
  | { kind: 'log-reset'; stage: string }
  /** `n`: the line's number in the run's output, from 1. */
  | { kind: 'log'; stage: string; stream: 'stdout' | 'stderr'; line: string; n: number }
  /** The pipeline's outputs may have changed (a pass ended): metrics and plots are worth reading again. */
  | { kind: 'pass'; at: string; ran: number; failed: number };

/**
 * `rerun`: run the stage now, whatever its state (as `repro --force` would,
 * for this stage: not from the run cache, a failed one too);
 * `reconcile`: look at it again now, as a change of its files would.
 */
export type ViewAction = 'rerun' | 'reconcile' | 'cancel';

export type ViewActionResult = { ok: true; message: string } | { ok: false; status: 404 | 409; message: string };

export interface WebViewSource {
  pipeline(): ViewPipeline;
  /** undefined: no such stage. */
  stage(name: string): Promise<ViewStageDetail | undefined>;
  /** `metrics show --json`'s document, as JSON text. */
  metrics(): Promise<string>;
  /** `plots show --json`'s document (filled Vega-Lite specs), as JSON text. */
  plots(): Promise<string>;
  experiments(): Promise<ViewExperiment[]>;
  /** Every event from now on, until the returned function is called. */
  subscribe(listener: (e: ViewEvent) => void): () => void;
  act(action: ViewAction, stage: string): ViewActionResult;
}
