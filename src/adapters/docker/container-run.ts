import { Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { ReprodError } from '../../core/errors.js';
import type { Logger, RunRequest, StageLogSink } from '../../core/ports.js';
import { engineError, engineMessage, engineStatus } from './engine.js';

/** Bytes of a container's stdout/stderr, decoded as UTF-8 across chunk boundaries, to a log sink. */
function sinkStream(log: StageLogSink, stream: 'stdout' | 'stderr'): Writable {
  const decoder = new StringDecoder('utf8');
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = decoder.write(chunk);
      if (text !== '') log.write(text, stream);
      done();
    },
    final(done) {
      const text = decoder.end();
      if (text !== '') log.write(text, stream);
      done();
    },
  });
}

function streamEnded(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', reject);
  });
}

/** How long the log stream may lag behind the container's exit before it is cut. */
const LOG_DRAIN_MS = 5_000;
/** How often the engine is pinged while a stage runs. */
const WATCH_MS = 2_000;
/** How long one call to the engine (ping, kill, remove) may take before the engine counts as gone. */
const ENGINE_CALL_MS = 10_000;
/** `waitExit`'s answer when the engine never confirmed a stop. */
const GAVE_UP = Symbol('gave up');

/** `p`, or a rejection after `ms` (the engine's calls have no deadline of their own). */
function withTimeout<T>(p: Promise<T>, ms: number, doing: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ReprodError('ENGINE_UNAVAILABLE', `the Docker engine did not answer within ${ms / 1000} s while ${doing}`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export type CommandOutcome = { kind: 'exited'; exitCode: number; oomKilled: boolean } | { kind: 'cancelled' };

/**
 * One command of a stage in its own container, from create to remove:
 *
 *   create (with an init process, when the engine has one) ─► attach ─► start
 *   ─► wait, watched (the engine pinged while it runs) ─► inspect ─► remove
 *
 * An abort stops the container (SIGTERM, SIGKILL after the grace period);
 * every call to the engine is bounded in time, so that a dead or hung engine
 * ends the run with ENGINE_UNAVAILABLE instead of wedging it. The container
 * is removed whatever happens (best effort: one left behind carries its
 * labels, and the next start-up removes it).
 */
export class ContainerRunner {
  /** False once the engine has shown it has no docker-init. */
  private init = true;

  constructor(
    private readonly docker: Docker,
    /** Seconds between SIGTERM and SIGKILL when a run is cancelled. */
    private readonly stopTimeout: number,
  ) {}

  /** Runs one command in its own container; the container is gone when this returns or throws. */
  private async create(spec: Docker.ContainerCreateOptions): Promise<Docker.Container> {
    try {
      return await this.docker.createContainer({ ...spec, HostConfig: { ...spec.HostConfig, Init: this.init } });
    } catch (err) {
      throw engineError(err, 'creating the stage container');
    }
  }

  async runCommand(
    spec: Docker.ContainerCreateOptions,
    req: RunRequest,
    logger: Logger,
  ): Promise<{ outcome: CommandOutcome; container: string | undefined }> {
    const first = await this.runInContainer(spec, req, logger);
    if (first !== 'no-init') return first;
    this.init = false;
    logger.warn({}, 'the Docker engine has no docker-init: stage containers run without an init process');
    const second = await this.runInContainer(spec, req, logger);
    if (second === 'no-init') throw new ReprodError('RUNTIME', 'the stage container would not start without docker-init either');
    return second;
  }

  private async runInContainer(
    spec: Docker.ContainerCreateOptions,
    req: RunRequest,
    logger: Logger,
  ): Promise<{ outcome: CommandOutcome; container: string } | 'no-init'> {
    const container = await this.create(spec);
    let started = false;
    let stopping: Promise<void> | undefined;
    const stop = (): void => {
      stopping ??= this.stop(container, logger);
    };
    const onAbort = (): void => {
      if (started) stop();
    };
    req.signal.addEventListener('abort', onAbort, { once: true });
    try {
      if (req.signal.aborted) return { outcome: { kind: 'cancelled' }, container: container.id };
      const stream = await container.attach({ stream: true, stdout: true, stderr: true, logs: false });
      const ended = streamEnded(stream);
      this.docker.modem.demuxStream(stream, sinkStream(req.log, 'stdout'), sinkStream(req.log, 'stderr'));
      try {
        await container.start();
      } catch (err) {
        if (this.init && /docker-init|init binary/i.test(engineMessage(err))) return 'no-init';
        throw engineError(err, 'starting the stage container');
      }
      started = true;
      logger.debug({ container: container.id, cmd: spec.Cmd?.[2] }, 'container started');
      if (req.signal.aborted) stop();
      const waited = await this.waitExit(container, req);
      if (waited === GAVE_UP) {
        logger.warn({ container: container.id }, 'the engine did not confirm the stop of the stage container: given up on it');
        return { outcome: { kind: 'cancelled' }, container: container.id };
      }
      let drainTimer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise((resolve) => (drainTimer = setTimeout(resolve, LOG_DRAIN_MS)))]);
      clearTimeout(drainTimer);
      if (stopping) {
        await stopping;
        return { outcome: { kind: 'cancelled' }, container: container.id };
      }
      const info = await container.inspect();
      const exitCode =
        info.State.ExitCode ??
        (typeof waited === 'object' && waited !== null && 'StatusCode' in waited && typeof waited.StatusCode === 'number' ? waited.StatusCode : 1);
      logger.debug({ container: container.id, exitCode, oomKilled: info.State.OOMKilled }, 'container exited');
      // killed by a signal that nobody here sent: an engine shutting down stops its containers first
      if (!info.State.OOMKilled && (exitCode === 137 || exitCode === 143) && (await this.engineGoingAway())) {
        throw new ReprodError('ENGINE_UNAVAILABLE', `the Docker engine stopped while stage ${req.stage.name} ran (its container was killed with exit code ${exitCode})`);
      }
      return { outcome: { kind: 'exited', exitCode, oomKilled: info.State.OOMKilled }, container: container.id };
    } catch (err) {
      throw engineError(err, `running stage ${req.stage.name}`);
    } finally {
      req.signal.removeEventListener('abort', onAbort);
      await stopping;
      // Best effort: a container left behind carries its labels, and the next start-up removes it.
      await withTimeout(this.remove(container), ENGINE_CALL_MS, 'removing the stage container').catch((err: unknown) =>
        logger.warn({ container: container.id, err: engineMessage(err) }, 'could not remove the stage container'),
      );
    }
  }

  /**
   * The container's exit, as `wait` reports it, watched: the engine is pinged
   * while the stage runs, and one that stops answering ends the wait with
   * ENGINE_UNAVAILABLE (a `wait` on a dead engine never returns). After an
   * abort, the engine has the grace period and a margin to confirm the stop;
   * past that the wait is given up.
   */
  private async waitExit(container: Docker.Container, req: RunRequest): Promise<unknown> {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    let giveUp: NodeJS.Timeout | undefined;
    const watchdog = new Promise<never>((_, reject) => {
      const tick = async (): Promise<void> => {
        if (settled) return;
        try {
          await withTimeout(this.docker.ping(), ENGINE_CALL_MS, 'pinging the engine');
        } catch (err) {
          if (!settled) reject(new ReprodError('ENGINE_UNAVAILABLE', `the Docker engine stopped answering while stage ${req.stage.name} ran: ${engineMessage(err)}`, { cause: err }));
          return;
        }
        if (!settled) timer = setTimeout(() => void tick(), WATCH_MS);
      };
      timer = setTimeout(() => void tick(), WATCH_MS);
    });
    const gaveUp = new Promise<typeof GAVE_UP>((resolve) => {
      const onAbort = (): void => {
        giveUp = setTimeout(() => resolve(GAVE_UP), (this.stopTimeout + 5) * 1000);
      };
      if (req.signal.aborted) onAbort();
      else req.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([container.wait(), watchdog, gaveUp]);
    } finally {
      settled = true;
      clearTimeout(timer);
      clearTimeout(giveUp);
    }
  }

  /** True when the engine stops answering within a few seconds (it is shutting down). */
  private async engineGoingAway(): Promise<boolean> {
    const deadline = Date.now() + 3_000;
    while (Date.now() < deadline) {
      try {
        await withTimeout(this.docker.ping(), ENGINE_CALL_MS, 'pinging the engine');
      } catch {
        return true;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return false;
  }

  /** docker stop: SIGTERM, then SIGKILL after the grace period; a kill when stop itself fails. Bounded in time. */
  private async stop(container: Docker.Container, logger: Logger): Promise<void> {
    logger.info({ container: container.id }, 'stopping the stage container');
    try {
      await withTimeout(container.stop({ t: this.stopTimeout }), (this.stopTimeout + 5) * 1000, 'stopping the stage container');
    } catch (err) {
      const status = engineStatus(err);
      if (status === 304 || status === 404) return; // stopped or gone already
      await withTimeout(container.kill(), ENGINE_CALL_MS, 'killing the stage container').catch(() => undefined);
    }
  }

  private async remove(container: Docker.Container): Promise<void> {
    try {
      await container.remove({ force: true, v: true });
    } catch (err) {
      const status = engineStatus(err);
      if (status === 404 || status === 409) return; // gone, or removal already under way
      throw new ReprodError('RUNTIME', `removing container ${container.id.slice(0, 12)}: ${engineMessage(err)}`, { cause: err });
    }
  }
}
