import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isInside, mkdirOwned, workspaceOwner } from '../adapters/fs/file-owner.js';
import { FileStoreBackend } from '../adapters/mlflow/file-store.js';
import { MlflowTracker } from '../adapters/mlflow/outbox.js';
import { abortableSleep } from '../core/sleep.js';
import { Redactor } from '../adapters/mlflow/redact.js';
import { MlflowRestClient, type RestAuth } from '../adapters/mlflow/rest-client.js';
import { RestBackend } from '../adapters/mlflow/rest-store.js';
import type { MlflowBackend } from '../adapters/mlflow/backend.js';
import { ReprodError } from '../core/errors.js';
import { systemClock, type Clock, type Logger, type Workspace } from '../core/ports.js';
import type { Tracker, TrackingHealth } from '../core/ports.js';
import type { Stage } from '../core/types.js';
import type { StageRuntimeSpec } from '../pipeline/manifests.js';
import type { ModelDecl } from '../tracking/promotion.js';
import { StageRunRecorder } from '../tracking/stage-run-recorder.js';

/**
 * Tracking, chosen the way MLflow's client chooses its store:
 *
 *   MLFLOW_TRACKING_URI unset or ''      → file store `<workspace>/mlruns`
 *   file:<path>, file:///<abs>, a path    → file store there (relative paths from the workspace root)
 *   http(s)://host[:port][/prefix]         → REST API 2.x under the prefix (DagsHub: https://dagshub.com/<owner>/<repo>.mlflow)
 *                                           auth: MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD (basic),
 *                                           else MLFLOW_TRACKING_TOKEN (bearer); user:pass@ in the URI counts as basic
 *   anything else (databricks, sqlite:…)   → a TRACKING error: reprod speaks REST or the file store
 *
 * The experiment is MLFLOW_EXPERIMENT_NAME, else the workspace folder's name.
 * Undelivered records wait in `.dvc/tmp/reprod/mlflow-outbox/`.
 */

export const OUTBOX_DIR = path.join('.dvc', 'tmp', 'reprod', 'mlflow-outbox');

export type TrackingTarget =
  | { kind: 'file'; root: string }
  | { kind: 'rest'; baseUrl: string; auth?: RestAuth };

export interface TrackingConfig {
  target: TrackingTarget;
  experimentName: string;
  /** Credential variables a stage gets (MLFLOW_TRACKING_USERNAME/PASSWORD/TOKEN). */
  credentialsEnv: Record<string, string>;
  /** Every secret value, for redaction. */
  secrets: string[];
  /** `mlflow.user`. */
  user?: string;
}

/** MLflow's `getpass.getuser()`: LOGNAME, USER, LNAME, USERNAME, then the account. */
function currentUser(env: NodeJS.ProcessEnv): string | undefined {
  for (const k of ['LOGNAME', 'USER', 'LNAME', 'USERNAME']) {
    const v = env[k];
    if (v) return v;
  }
  try {
    return os.userInfo().username || undefined;
  } catch {
    // no passwd entry for this uid (containers run with arbitrary uids)
    return undefined;
  }
}

/** Reads the tracking settings from an environment (pure but for the user name lookup). */
export function trackingConfig(root: string, env: NodeJS.ProcessEnv): TrackingConfig {
  const uri = (env['MLFLOW_TRACKING_URI'] ?? '').trim();
  const experimentName = env['MLFLOW_EXPERIMENT_NAME']?.trim() || path.basename(path.resolve(root));
  const user = currentUser(env);
  const base = { experimentName, ...(user ? { user } : {}) };
  if (uri === '') return { ...base, target: { kind: 'file', root: path.join(path.resolve(root), 'mlruns') }, credentialsEnv: {}, secrets: [] };

  const scheme = uri === 'databricks' || uri === 'databricks-uc' ? uri : /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme.length === 1 /* a Windows drive */) {
    return { ...base, target: { kind: 'file', root: path.resolve(root, uri) }, credentialsEnv: {}, secrets: [] };
  }
  if (scheme === 'file') {
    const rest = uri.slice('file:'.length);
    const p = rest.startsWith('//') ? fileURLToPath(uri) : decodeURIComponent(rest);
    return { ...base, target: { kind: 'file', root: path.resolve(root, p) }, credentialsEnv: {}, secrets: [] };
  }
  if (scheme !== 'http' && scheme !== 'https') {
    throw new ReprodError('TRACKING', `MLFLOW_TRACKING_URI is a '${scheme}' URI, which reprod cannot write to`, {
      remedy: 'Point MLFLOW_TRACKING_URI at an MLflow server (http(s)://…, e.g. one started with `mlflow server --backend-store-uri …`) or at a file store (file:./mlruns), or unset it.',
    });
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    // the parser's error quotes the URI, login included: it is not passed on
    throw new ReprodError('TRACKING', 'MLFLOW_TRACKING_URI is not a valid URL');
  }
  const fromUri = { username: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  url.username = '';
  url.password = '';
  const username = env['MLFLOW_TRACKING_USERNAME'] || fromUri.username;
  const password = env['MLFLOW_TRACKING_PASSWORD'] || fromUri.password;
  const token = env['MLFLOW_TRACKING_TOKEN'];
  const credentialsEnv: Record<string, string> = {};
  let auth: RestAuth | undefined;
  if (username && password) {
    auth = { kind: 'basic', username, password };
    credentialsEnv['MLFLOW_TRACKING_USERNAME'] = username;
    credentialsEnv['MLFLOW_TRACKING_PASSWORD'] = password;
  } else if (token) {
    auth = { kind: 'bearer', token };
  }
  if (token) credentialsEnv['MLFLOW_TRACKING_TOKEN'] = token;
  const baseUrl = url.href.replace(/\/+$/, '');
  return {
    ...base,
    target: { kind: 'rest', baseUrl, ...(auth ? { auth } : {}) },
    credentialsEnv,
    secrets: [password, token, fromUri.password].filter((s): s is string => !!s),
  };
}

/**
 * The `TrackingAvailable` condition of status from the tracker's health:
 * True `Delivered` (all sent), True `Sending` (records on their way), False
 * `Unavailable` (kept in the outbox); the message is free of credentials.
 */
export function trackingCondition(h: TrackingHealth): { status: 'True' | 'False'; reason: string; message: string } {
  if (!h.available) return { status: 'False', reason: 'Unavailable', message: h.message };
  if (h.pending > 0) return { status: 'True', reason: 'Sending', message: h.message || `${h.pending} record(s) being delivered` };
  return { status: 'True', reason: 'Delivered', message: h.message };
}

/**
 * The `model:` entries of the pipeline's manifests, with the stages that
 * write the models: the entry that applies to a stage (its name's, else its
 * group's), whatever the stage runs in (`--runtime host` included: the
 * registry is tracking's business, not the runtime's).
 */
export function pipelineModels(stages: readonly Stage[], manifests: ReadonlyMap<string, StageRuntimeSpec>): ModelDecl[] {
  const out: ModelDecl[] = [];
  for (const stage of stages) {
    const spec = (manifests.get(stage.name) ?? manifests.get(stage.group))?.model;
    if (spec) out.push({ stage, spec });
  }
  return out;
}

export interface TrackingService extends AsyncDisposable {
  readonly tracker: Tracker;
  /** Where records go, without credentials (`MLflow file store /w/mlruns`, `MLflow server https://…`). */
  readonly describe: string;
  readonly experimentName: string;
  /** The hooks the reconciler calls around stage runs, for one spec (re-create when the spec changes). */
  recorder(opts: { ws: Workspace; pipelineFile: string; models: readonly ModelDecl[]; stages?: readonly Stage[] }): StageRunRecorder;
  health(): TrackingHealth;
  /** Removes credentials from any text (for messages built outside the tracker). */
  redact(text: string): string;
  /** The daemon's background delivery: resolves when `signal` aborts. */
  start(signal: AbortSignal): Promise<void>;
  /** Resolves when nothing is pending (the daemon's background delivery has caught up). */
  whenIdle(): Promise<void>;
  /** One-shot runs: try to deliver what is pending within `deadlineMs`. */
  flush(deadlineMs?: number): Promise<TrackingHealth>;
  close(): Promise<void>;
}

export interface OpenTrackingOptions {
  /** Workspace root: artifacts (metrics, plots, logs, models) are read from it. */
  root: string;
  /**
   * Where the records belong, when not the workspace's own (an experiment's
   * workspace records in its baseline's): the default `mlruns`, a relative
   * MLFLOW_TRACKING_URI, the experiment name and the default outbox resolve
   * from it. Default: `root`.
   */
  storeRoot?: string;
  env?: NodeJS.ProcessEnv;
  log: Logger;
  clock?: Clock;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** How long a stage start waits for the server to create its run (default 5 s). */
  startWaitMs?: number;
  /** Outbox folder (default `<root>/.dvc/tmp/reprod/mlflow-outbox`). */
  outboxDir?: string;
}

/** Builds the tracking adapter the environment asks for (the composition root's only tracking entry). */
export async function openTracking(o: OpenTrackingOptions): Promise<TrackingService> {
  const root = path.resolve(o.root);
  const storeRoot = path.resolve(o.storeRoot ?? o.root);
  const cfg = trackingConfig(storeRoot, o.env ?? process.env);
  const clock = o.clock ?? systemClock;
  const sleep = o.sleep ?? abortableSleep;
  const auth = cfg.target.kind === 'rest' ? cfg.target.auth : undefined;
  const redactor = new Redactor(cfg.secrets, auth?.kind === 'basic' ? auth : undefined);
  let backend: MlflowBackend;
  let abortInFlight: (() => void) | undefined;
  if (cfg.target.kind === 'file') {
    // an mlruns in the workspace belongs to the workspace's owner, as everything reprod writes there
    backend = new FileStoreBackend({ root: cfg.target.root, clock, owner: isInside(cfg.target.root, root) ? workspaceOwner(root) : undefined });
  } else {
    const client = new MlflowRestClient({ baseUrl: cfg.target.baseUrl, ...(auth ? { auth } : {}), redactor, sleep: (ms) => sleep(ms) });
    backend = new RestBackend(client, cfg.target.baseUrl, `MLflow server ${redactor.redact(cfg.target.baseUrl)}`);
    abortInFlight = () => client.close();
  }
  const log = o.log.child({ component: 'tracking' });
  const outboxDir = o.outboxDir ?? path.join(storeRoot, OUTBOX_DIR);
  // the outbox's folders (.dvc/tmp/reprod/ on the way) are the workspace owner's, as reprod's other files there
  if (isInside(outboxDir, root)) await mkdirOwned(path.join(outboxDir, 'blobs'), workspaceOwner(root));
  const tracker = await MlflowTracker.open({
    backend,
    outboxDir,
    workspace: root,
    experimentName: cfg.experimentName,
    clock,
    log,
    redactor,
    credentialsEnv: cfg.credentialsEnv,
    sleep,
    ...(cfg.user ? { userId: cfg.user } : {}),
    ...(o.startWaitMs !== undefined ? { startWaitMs: o.startWaitMs } : {}),
    ...(abortInFlight ? { abortInFlight } : {}),
  });
  log.info({ tracking: backend.describe, experiment: cfg.experimentName }, 'tracking to MLflow');
  return {
    tracker,
    describe: backend.describe,
    experimentName: cfg.experimentName,
    recorder: (r) =>
      new StageRunRecorder({
        tracker,
        ws: r.ws,
        clock,
        log,
        pipelineFile: r.pipelineFile,
        models: r.models,
        ...(r.stages ? { stages: r.stages } : {}),
        ...(cfg.user ? { user: cfg.user } : {}),
      }),
    health: () => tracker.health(),
    redact: (text) => redactor.redact(text),
    start: (signal) => tracker.start(signal),
    flush: (deadlineMs) => tracker.flush(deadlineMs),
    whenIdle: () => tracker.whenIdle(),
    close: () => tracker.close(),
    [Symbol.asyncDispose]: () => tracker.close(),
  };
}
