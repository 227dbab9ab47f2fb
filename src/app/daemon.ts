import { existsSync } from 'node:fs';
import path from 'node:path';
import { DaemonMetrics } from '../adapters/http/daemon-metrics.js';
import { DaemonPresence } from '../adapters/fs/daemon-presence.js';
import { startHttpEndpoint, type HttpEndpoint } from '../adapters/http/http-endpoint.js';
import { SpecWatcher } from '../adapters/watch/spec-watcher.js';
import { watchPlan } from '../adapters/watch/watch-plan.js';
import { ReprodError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import type { Pipeline, Stage } from '../core/types.js';
import { resolveStageRuntime } from '../pipeline/stage-runtime.js';
import type { ReconcilerHooks } from '../reconcile/reconciler.js';
import { EngineMonitor } from '../adapters/docker/engine-monitor.js';
import { errorMessage } from '../core/errno.js';
import { describeHolder, systemClock } from '../core/ports.js';
import { buildEngine, composeHooks } from './engine.js';
import { cleanLeftovers, stopOrphanCommands } from './leftovers.js';
import { markWriter } from '../adapters/fs/writer-marks.js';
import { WebView } from './web-view.js';
import { fanOutSink, logOutputSink } from './logging.js';
import { webRoutes } from '../adapters/http/web-routes.js';
import { randomBytes } from 'node:crypto';
import { daemonPassLease } from './workspace-lock.js';
import { ignoredPath, workspaceIgnores } from './pipeline-files.js';
import { DVC_YAML, loadSpec, openProject, selectRuntime, usesGit, type RuntimeMode, type Spec } from './project.js';
import { openTracking, type TrackingService } from './tracking.js';
import { trackingOn } from './tracking-switch.js';

export interface DaemonOptions {
  root: string;
  runtime: RuntimeMode;
  log: Logger;
  /** Overrides the `Pipeline` manifest's `maxParallel` (default 2). */
  maxParallel?: number;
  /** Quiet time that ends a burst of file events (default 150 ms). */
  debounceMs?: number;
  /** /healthz and /metrics; null turns the endpoint off. Default 127.0.0.1:9465. */
  http?: { host: string; port: number } | null;
  /** Poll the file system instead of inotify. */
  poll?: boolean;
  hooks?: ReconcilerHooks;
  /** MLflow tracking (default on: `./mlruns`, or `MLFLOW_TRACKING_URI`); false, or REPROD_TRACKING=off, turns it off (see trackingOn). */
  tracking?: boolean;
  /** Called once the HTTP endpoint listens (with the port actually bound). */
  onListening?(port: number): void;
  /**
   * The web view at `/` of the HTTP endpoint (default on). Its POST actions
   * are on when it listens on loopback, or when `actions` says so; `token`
   * (default: a random one) is what they need.
   */
  web?: { actions?: boolean; token?: string } | false;
  /** Called once the web view is served: its address, and the token of its actions when they are on (for the operator, never logged). */
  onWebView?(info: { url: string; token: string | undefined }): void;
}

export const DEFAULT_PORT = 9465;

/** Whether an address to listen on is reachable only from this machine. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** How long a stopping daemon waits for MLflow to receive what is pending (the rest waits in the outbox). */
const STOP_FLUSH_MS = 3_000;

/**
 * Where a new dvc.yaml is looked for: every folder that finding dvc.yaml
 * files would enter (`.dvcignore` and, in a git repository, git's rules, as
 * they read now).
 */
function pipelineFolders(root: string, useGit: boolean): { ignoredFolder(path: string): boolean } {
  const ignores = workspaceIgnores(root, useGit);
  return {
    ignoredFolder: (p) => {
      try {
        return ignoredPath(ignores, p, true);
      } catch {
        // an unreadable ignore file is reported when the spec is read; the folder is watched meanwhile
        return false;
      }
    },
  };
}

/**
 * `reprod daemon`: the composition root of the long-running reconciler.
 *
 *   start: remove orphan containers of this workspace (by label)
 *   loop:  folder watches ─► work queue ─► Reconciler (one xstate actor per stage)
 *          ─► status/*.yaml, dvc.lock, cache ; /healthz, /metrics
 *   stop (signal): cancel running stages (containers stopped and removed),
 *          write status, close the watcher and the endpoint.
 *
 * Restart safety comes from the parts: outputs are committed to dvc.lock only
 * after a run ends (atomically, serialized), containers carry labels and
 * orphans are removed at start, and every pass re-derives state from disk.
 */
export async function runDaemon(opts: DaemonOptions, signal: AbortSignal): Promise<void> {
  const log = opts.log;
  const project = openProject(opts.root, log);
  const root = project.root;
  let current: Spec | undefined;
  const emptyPipeline: Pipeline = { file: DVC_YAML, stages: [], params: [], metrics: [], plots: [] };
  // the spec in force, read through getters: the runtime resolves each stage against the latest good manifests
  const live: Spec = {
    get pipeline() {
      return current?.pipeline ?? emptyPipeline;
    },
    get dag() {
      if (!current) throw new ReprodError('NO_PIPELINE', 'no valid spec loaded yet');
      return current.dag;
    },
    get manifests() {
      return current?.manifests ?? { stages: new Map(), pipeline: {} };
    },
    get text() {
      return current?.text ?? '';
    },
  };
  const hostOnly = opts.runtime === 'host';
  // `auto` takes the Docker runtime: it runs host stages itself, and reaches the engine only for container stages
  const selected = await selectRuntime(project, live, hostOnly ? 'host' : 'docker', log);
  const hasStageFolder = (group: string) => existsSync(path.join(root, 'stages', group, 'Dockerfile'));

  const keepAlive = setInterval(() => undefined, 1 << 30);
  let http: HttpEndpoint | undefined;
  let watcher: SpecWatcher | undefined;
  let tracking: TrackingService | undefined;
  let presence: DaemonPresence | undefined;
  const lease = daemonPassLease(root, { signal, onWait: (h) => log.info({ holder: describeHolder(h) }, 'waiting for the workspace lock') });
  try {
    // one daemon per workspace; `reprod status` finds it by the same flock
    presence = await DaemonPresence.claim(root, systemClock.now());
    // before anything is written: this daemon's temporary files can then be told from those of writers that died
    await markWriter(root);
    const buildContextOf = (stage: Stage): string | undefined => {
      const r = selected.resolve(stage);
      return r.kind === 'container' && r.image.kind === 'build' ? r.image.context : undefined;
    };
    const metrics = new DaemonMetrics(() => reconciler.stats());
    const h = opts.http === null ? undefined : (opts.http ?? { host: '127.0.0.1', port: DEFAULT_PORT });
    const loopback = h !== undefined && isLoopback(h.host);
    const webOpts = opts.web === false ? undefined : opts.web;
    const actionsOn = webOpts?.actions ?? loopback;
    const web =
      h && opts.web !== false
        ? new WebView({
            project,
            spec: () => reconciler.currentSpec,
            phases: () => reconciler.stats().phases,
            runtimeOf: (stage) => (selected.resolve(stage).kind === 'container' ? 'docker' : 'host'),
            enqueue: (stage) => reconciler.enqueue(stage),
            cancel: (stage, reason) => reconciler.cancel(stage, reason),
            actions: actionsOn,
            log,
          })
        : undefined;
    const token = web && actionsOn ? (webOpts?.token ?? randomBytes(18).toString('base64url')) : undefined;
    // MLflow: background delivery of the outbox for the daemon's lifetime; tracking never blocks or fails a stage
    if (trackingOn(process.env, opts.tracking)) tracking = await openTracking({ root, log });
    else log.info({}, 'MLflow tracking is off');
    const trackingDone = tracking?.start(signal);
    const { reconciler } = await buildEngine({
      project,
      selected,
      log,
      spec: () => live,
      loadSpec: () => {
        const spec = loadSpec(root);
        if (spec.files) project.lockStore.usePipelineFiles(spec.files);
        // a manifest that names no usable image is an invalid spec (with its file and line), not a failed stage
        if (!hostOnly) for (const s of spec.pipeline.stages) resolveStageRuntime(s, spec.manifests.stages, hasStageFolder);
        current = spec;
        return spec;
      },
      tracking,
      // each line of a stage's output (redacted) goes into the log, prefixed by its stage, and to the web view
      tee: (stage) => fanOutSink(web?.tee(stage), logOutputSink(log, stage.name)),
      ...(web ? { statusSink: (reporter) => web.statusSink(reporter), effects: { forceOnce: (stage) => web.takeRerun(stage) } } : {}),
      ...(opts.hooks || web ? { hooks: composeHooks(web?.hooks(), opts.hooks) } : {}),
      reconciler: {
        ...(opts.maxParallel !== undefined ? { maxParallel: opts.maxParallel } : {}),
        ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
        metrics,
        lease,
        onSpec: (spec) => {
          const varsFiles = [...(current?.templateFiles ?? []), ...(current?.files ?? [])];
          watcher?.update(watchPlan({ pipeline: spec.pipeline, varsFiles, buildContextOf, anyPipelineFile: pipelineFolders(root, usesGit(project.config)) })).catch((err: unknown) =>
            log.warn({ err: errorMessage(err) }, 'cannot watch the workspace'),
          );
        },
      },
    });
    // the engine, watched: losing it is a condition (EngineAvailable, /healthz, reprod_engine_up), never a stage failure
    const docker = selected.docker;
    const monitor = docker
      ? new EngineMonitor({
          ping: () => docker.ping(),
          onLook: (up, message) => {
            const back = up && !reconciler.engineAvailable;
            reconciler.setEngine(up, message);
            // containers left by an engine that died with them (those of an earlier process went at start, below)
            if (back) docker.removeOrphans().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'cannot remove orphan containers'));
          },
        })
      : undefined;
    // the first pass starts under the lock taken here: what processes killed earlier left goes then, with
    // no other writer of this workspace running (temporary files of interrupted writes, containers of owners out of sight)
    try {
      await lease.enter();
    } catch (err) {
      // stopped while waiting for the lock: nothing was started, nothing to stop
      if (signal.aborted) return;
      throw err;
    }
    await stopOrphanCommands(root, log);
    await cleanLeftovers(project, { log }).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'cannot remove temporary files left by interrupted writes'));
    if (docker) {
      await docker.removeOrphans({ workspaceLockHeld: true }).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'cannot remove orphan containers'));
    }
    const monitorDone = monitor?.start(signal);
    watcher = new SpecWatcher({
      root,
      onKeys: (keys) => keys.forEach((k) => reconciler.enqueue(k)),
      isBeingWritten: (p) => reconciler.isBeingWritten(p),
      log,
      ...(opts.poll ? { usePolling: true } : {}),
    });
    // spec files are watched from the start: a dvc.yaml invalid at start-up must be seen when it is fixed
    await watcher.update(watchPlan({ pipeline: undefined, anyPipelineFile: pipelineFolders(root, usesGit(project.config)) }));
    if (h) {
      http = await startHttpEndpoint({
        host: h.host,
        port: h.port,
        log,
        health: () => {
          const s = reconciler.stats();
          const engine = monitor ? (reconciler.engineAvailable ? 'available' : 'unavailable') : 'unused';
          return {
            ok: s.alive && engine !== 'unavailable',
            ...(s.alive && engine === 'unavailable' ? { status: 'degraded' } : {}),
            detail: { specValid: s.specValid, engine, running: s.running, queueDepth: s.queueDepth, passes: s.passes },
          };
        },
        metrics: () => metrics.render(),
        ...(web ? { routes: webRoutes({ source: web, token, loopback, log }) } : {}),
      });
      opts.onListening?.(http.port);
      await presence.listening(`http://${h.host}:${http.port}/`);
      if (web) opts.onWebView?.({ url: `http://${h.host.includes(':') ? `[${h.host}]` : h.host}:${http.port}/`, token });
    }
    log.info({ root, runtime: opts.runtime, maxParallel: opts.maxParallel }, 'reconciling');
    await reconciler.start(signal);
    await trackingDone;
    await monitorDone;
    if (tracking) {
      // a clean stop gives MLflow a moment to receive the last pass's records, and says how it went
      await tracking.flush(STOP_FLUSH_MS);
      await reconciler.refreshPipelineStatus();
    }
  } finally {
    // held still when start-up failed (or was stopped) after taking it for the first pass; a no-op otherwise
    await lease.leave();
    await tracking?.close();
    clearInterval(keepAlive);
    await watcher?.close();
    await http?.close();
    await project.hasher[Symbol.asyncDispose]();
    await presence?.release();
  }
}
