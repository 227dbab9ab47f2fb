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
import { buildEngine } from './engine.js';
import { daemonPassLease } from './workspace-lock.js';
import { DVC_YAML, loadSpec, openProject, selectRuntime, type RuntimeMode, type Spec } from './project.js';
import { openTracking, type TrackingService } from './tracking.js';

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
  /** MLflow tracking (default on: `./mlruns`, or `MLFLOW_TRACKING_URI`); false turns it off. */
  tracking?: boolean;
  /** Called once the HTTP endpoint listens (with the port actually bound). */
  onListening?(port: number): void;
}

export const DEFAULT_PORT = 9465;

/** How long a stopping daemon waits for MLflow to receive what is pending (the rest waits in the outbox). */
const STOP_FLUSH_MS = 3_000;

/**
 * `reprod daemon`: the composition root of the long-running reconciler.
 *
 *   start: remove orphan containers of this workspace (by label)
 *   loop:  chokidar ─► work queue ─► Reconciler (one xstate actor per stage)
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
  try {
    // one daemon per workspace; `reprod status` finds it by the same flock
    presence = await DaemonPresence.claim(root, systemClock.now());
    const buildContextOf = (stage: Stage): string | undefined => {
      const r = selected.resolve(stage);
      return r.kind === 'container' && r.image.kind === 'build' ? r.image.context : undefined;
    };
    const metrics = new DaemonMetrics(() => reconciler.stats());
    // MLflow: background delivery of the outbox for the daemon's lifetime; tracking never blocks or fails a stage
    tracking = opts.tracking === false ? undefined : await openTracking({ root, log });
    const trackingDone = tracking?.start(signal);
    const lease = daemonPassLease(root, { signal, onWait: (h) => log.info({ holder: describeHolder(h) }, 'waiting for the workspace lock') });
    const { reconciler } = await buildEngine({
      project,
      selected,
      log,
      spec: () => live,
      loadSpec: () => {
        const spec = loadSpec(root);
        // a manifest that names no usable image is an invalid spec (with its file and line), not a failed stage
        if (!hostOnly) for (const s of spec.pipeline.stages) resolveStageRuntime(s, spec.manifests.stages, hasStageFolder);
        current = spec;
        return spec;
      },
      tracking,
      ...(opts.hooks ? { hooks: opts.hooks } : {}),
      reconciler: {
        ...(opts.maxParallel !== undefined ? { maxParallel: opts.maxParallel } : {}),
        ...(opts.debounceMs !== undefined ? { debounceMs: opts.debounceMs } : {}),
        metrics,
        lease,
        onSpec: (spec) => {
          watcher?.update(watchPlan({ pipeline: spec.pipeline, varsFiles: current?.templateFiles ?? [], buildContextOf })).catch((err: unknown) =>
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
    // the first pass starts under the lock taken here: containers of owners out of sight are left over then
    if (docker) {
      await lease.enter();
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
    await watcher.update(watchPlan({ pipeline: undefined }));
    if (opts.http !== null) {
      const h = opts.http ?? { host: '127.0.0.1', port: DEFAULT_PORT };
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
      });
      opts.onListening?.(http.port);
      await presence.listening(`http://${h.host}:${http.port}/`);
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
    await tracking?.close();
    clearInterval(keepAlive);
    await watcher?.close();
    await http?.close();
    await project.hasher[Symbol.asyncDispose]();
    await presence?.release();
  }
}
