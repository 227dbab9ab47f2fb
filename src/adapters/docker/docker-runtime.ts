import { promises as fs } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { errorMessage } from '../../core/errno.js';
import {
  systemClock,
  type Clock,
  type Logger,
  type PreparedRuntime,
  type RunOutcome,
  type RunRequest,
  type RunResult,
  type RuntimeIdentity,
  type StageLogSink,
  type StageRuntime,
} from '../../core/ports.js';
import type { Stage } from '../../core/types.js';
import type { ResolvedRuntime } from '../../pipeline/stage-runtime.js';
import { HostRuntime } from '../local/host-runtime.js';
import { ContainerRunner, type CommandOutcome } from './container-run.js';
import { containerSpec, vanishedBindSource, type ContainerSpecInput } from './container-spec.js';
import { engineError, engineMessage } from './engine.js';
import { resolveHostPaths, type HostPathMapper } from './host-paths.js';
import { ImageBuilder } from './image-builder.js';
import { removeOrphans, type RemovedContainer } from './orphans.js';
import { StageSandbox, sweepSandboxes } from './stage-sandbox.js';
import { stageUser } from './stage-user.js';

export interface DockerRuntimeOptions {
  docker: Docker;
  /** Absolute path of the workspace root as reprod sees it (build contexts are read from here). */
  workspace: string;
  /** What a stage runs in: the manifests and the `stages/<group>/` convention (see resolveStageRuntime). */
  resolve: (stage: Stage) => ResolvedRuntime;
  logger: Logger;
  /** How reprod's paths become host paths; found through the engine when not given. */
  hostPaths?: HostPathMapper;
  builder?: ImageBuilder;
  /** Runs the stages that resolve to the host (default: {@link HostRuntime}). */
  host?: StageRuntime;
  clock?: Clock;
  /** Seconds between SIGTERM and SIGKILL when a run is cancelled (default 5). */
  stopTimeoutSeconds?: number;
  /** Workspace-relative paths stages never see, besides .dvc/cache, .dvc/tmp and .dvc/config.local (a cache dir elsewhere in the workspace). */
  hide?: readonly string[];
}

/**
 * Runs each stage in a sibling container of the host's Docker engine:
 *
 *   identify(stage) ─► context hash or local image ID (read-only: nothing built or pulled)
 *   prepare(stage)  ─► PreparedRuntime: the image built from its context, or pulled by name
 *   run(req)        ─► in req.prepared's image, for each command of `cmd`, in order, until one fails:
 *                       create (labels, limits, no caps, no network) ─► attach ─► start
 *                       ─► wait ─► inspect (exit code, OOM kill) ─► remove
 *
 * The workspace is bind-mounted read-only at its host path, on both sides,
 * and the command runs in `<host workspace>/<wdir>`, never as root (see
 * stage-user.ts): paths agree inside and out. A stage can write only its
 * declared outs, which reach the workspace after a successful run, given to
 * the workspace's owner; DVC's cache and temporary files and
 * `.dvc/config.local` are hidden from it (see stage-sandbox.ts).
 * An abort stops the container (SIGTERM, SIGKILL after the grace period) and
 * removes it. Containers are always removed, whatever happens. A result's
 * `runtime` is the prepared image's ID. Stages that resolve to the host run
 * through the host runtime.
 */
export class DockerRuntime implements StageRuntime {
  readonly name = 'docker';
  readonly builder: ImageBuilder;
  private readonly docker: Docker;
  private readonly workspace: string;
  private readonly logger: Logger;
  private readonly host: StageRuntime;
  private readonly clock: Clock;
  private readonly stopTimeout: number;
  private hostPaths: HostPathMapper | undefined;
  private readonly activeRuns = new Set<string>();
  private readonly runner: ContainerRunner;

  constructor(private readonly opts: DockerRuntimeOptions) {
    this.docker = opts.docker;
    this.workspace = path.resolve(opts.workspace);
    this.logger = opts.logger;
    this.builder = opts.builder ?? new ImageBuilder(opts.docker, { logger: opts.logger });
    this.host = opts.host ?? new HostRuntime();
    this.clock = opts.clock ?? systemClock;
    this.stopTimeout = opts.stopTimeoutSeconds ?? 5;
    this.runner = new ContainerRunner(opts.docker, this.stopTimeout);
    this.hostPaths = opts.hostPaths;
  }

  /** The mapper of reprod's paths to host paths, found once. */
  async hostPathMapper(): Promise<HostPathMapper> {
    this.hostPaths ??= await resolveHostPaths(this.docker, { workspace: this.workspace });
    return this.hostPaths;
  }

  /**
   * What a stage would run in, without building or pulling: the hash of its
   * build context (read from the workspace), or the local ID of its named
   * image (an inspect: undefined while the engine has none, or cannot be
   * reached — status must not fail for want of an engine).
   */
  async identify(stage: Stage, signal: AbortSignal): Promise<RuntimeIdentity> {
    const resolved = this.opts.resolve(stage);
    if (resolved.kind === 'host') return this.host.identify(stage, signal);
    const img = resolved.image;
    if (img.kind === 'build') {
      const { tag, hash } = await this.builder.contextOf(this.buildRequest(img));
      return { kind: 'container', key: `ctx:${hash}`, ref: tag };
    }
    let id: string | undefined;
    try {
      id = await this.builder.imageId(img.name);
    } catch (err) {
      this.logger.debug({ stage: stage.name, image: img.name, err: engineMessage(err) }, 'cannot inspect the image');
    }
    return { kind: 'container', key: id, ref: img.name };
  }

  /**
   * Makes the stage's image ready (building or pulling it when needed). Build
   * output goes to `log` when given, else to the logger at debug level.
   */
  async prepare(stage: Stage, signal: AbortSignal, log?: StageLogSink, onBuilding?: (image: string) => void): Promise<PreparedRuntime> {
    const resolved = this.opts.resolve(stage);
    if (resolved.kind === 'host') return this.host.prepare(stage, signal, log);
    const sink = log ?? this.debugSink(stage);
    const img = resolved.image;
    if (img.kind === 'image') {
      const ensured = await this.builder.ensurePulled(img.name, signal, sink);
      return { kind: 'container', identity: { kind: 'container', key: ensured.id, ref: ensured.ref }, imageId: ensured.id, ref: ensured.ref, settings: resolved.settings };
    }
    const ensured = await this.builder.ensureBuilt(this.buildRequest(img), signal, sink, onBuilding);
    return {
      kind: 'container',
      identity: { kind: 'container', key: `ctx:${ensured.contextHash}`, ref: ensured.ref },
      imageId: ensured.id,
      ref: ensured.ref,
      settings: resolved.settings,
    };
  }

  private buildRequest(img: { group: string; context: string; dockerfile: string; args: Record<string, string> }) {
    return { group: img.group, context: path.join(this.workspace, img.context), dockerfile: img.dockerfile, args: img.args };
  }

  /** Resolves when the engine answers; ENGINE_UNAVAILABLE when it does not. */
  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw engineError(err, 'pinging it');
    }
  }

  /**
   * Removes containers of this workspace left by a process that is gone (see
   * orphans.ts). `workspaceLockHeld`: the caller holds the workspace lock, so
   * no other process is inside a pass, and containers of owners it cannot
   * see (another PID namespace) are left over too.
   */
  async removeOrphans(opts: { workspaceLockHeld?: boolean } = {}): Promise<RemovedContainer[]> {
    const hostWorkspace = (await this.hostPathMapper()).toHost(this.workspace);
    const removed = await removeOrphans(this.docker, hostWorkspace, (runId) => this.activeRuns.has(runId), {
      ...opts,
      onKept: (c) => this.logger.info({ container: c.id, stage: c.stage, owner: c.owner }, 'kept a container of another live reprod'),
    });
    for (const r of removed) this.logger.info({ container: r.id, stage: r.stage, runId: r.runId, state: r.state }, 'removed an orphan container');
    // the scratch space of runs that are over goes with their containers
    if (opts.workspaceLockHeld) {
      const swept = await sweepSandboxes(this.workspace, this.activeRuns);
      if (swept.length > 0) this.logger.info({ runs: swept }, 'removed the scratch space of runs that are over');
    }
    return removed;
  }

  async run(req: RunRequest): Promise<RunResult> {
    const prepared = req.prepared;
    if (prepared.kind === 'host') return this.host.run(req);
    const startedAt = this.clock.now();
    const imageId = prepared.imageId;
    const done = (outcome: RunOutcome, container?: string): RunResult => ({
      outcome,
      runtime: imageId,
      ...(container !== undefined ? { container } : {}),
      startedAt,
      finishedAt: this.clock.now(),
    });
    if (req.signal.aborted) return done({ kind: 'cancelled' });
    const mapper = await this.hostPathMapper();
    const hostWorkspace = mapper.toHost(path.resolve(req.workspace));
    const root = await fs.stat(req.workspace);
    const user = stageUser(prepared.settings.user, root);
    const cmds = typeof req.stage.cmd === 'string' ? [req.stage.cmd] : req.stage.cmd;
    const logger = this.logger.child({ stage: req.stage.name, runId: req.runId });
    this.activeRuns.add(req.runId);
    let last: string | undefined;
    let sandbox: StageSandbox | undefined;
    try {
      sandbox = await StageSandbox.create({
        workspace: path.resolve(req.workspace),
        hostWorkspace,
        toHost: (p) => mapper.toHost(p),
        runId: req.runId,
        stage: req.stage.name,
        outs: req.stage.outs,
        hidden: this.opts.hide ?? [],
        stageUser: user.ids,
        // as root, outs written by another user are given back to the workspace's owner, root included
        owner: process.getuid?.() === 0 ? { uid: root.uid, gid: root.gid } : undefined,
      });
      for (const cmd of cmds) {
        const spec = { req, cmd, imageId, hostWorkspace, user: user.spec, settings: prepared.settings };
        const { outcome, container } = await this.runSandboxed(sandbox, spec, logger);
        last = container ?? last;
        if (outcome.kind === 'cancelled') return done(outcome, last);
        if (outcome.exitCode !== 0) {
          return done({ kind: 'exited', exitCode: outcome.exitCode, ...(outcome.oomKilled ? { oomKilled: true } : {}) }, last);
        }
      }
      const dropped = await sandbox.collect();
      if (dropped.length > 0) {
        req.log.write(StageSandbox.droppedNote(dropped), 'stderr');
        logger.warn({ dropped: dropped.slice(0, 20), count: dropped.length }, 'dropped what the stage wrote outside its outs');
      }
    } finally {
      this.activeRuns.delete(req.runId);
      await sandbox?.dispose().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'could not remove the scratch space of the run'));
    }
    return done({ kind: 'exited', exitCode: 0 }, last);
  }

  private debugSink(stage: Stage): StageLogSink {
    const logger = this.logger.child({ stage: stage.name });
    return { write: (chunk, stream) => logger.debug({ stream, output: chunk }, 'image build output') };
  }

  /**
   * One command in a container of the sandbox. A path bound into it that
   * vanished between planning the mounts and creating the container (a
   * parallel stage removing its outs) fails the creation, before anything
   * ran: the mounts are planned again, a few times.
   */
  private async runSandboxed(sandbox: StageSandbox, spec: Omit<ContainerSpecInput, 'mounts'>, logger: Logger): Promise<{ outcome: CommandOutcome; container: string | undefined }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runner.runCommand(containerSpec({ ...spec, mounts: await sandbox.mounts() }), spec.req, logger);
      } catch (err) {
        if (attempt >= 3 || !vanishedBindSource(err)) throw err;
        logger.debug({ err: errorMessage(err) }, 'a path bound into the stage container vanished: planning its mounts again');
      }
    }
  }
}
