import { createHash } from 'node:crypto';
import path from 'node:path';
import type Docker from 'dockerode';
import { errorMessage } from '../../core/errno.js';
import type { ContainerSettings, RunRequest } from '../../core/ports.js';
import { stageLabels } from './labels.js';

/** The most processes (and threads) a stage container may have at once, unless its manifest says (`resources.pids`). */
export const DEFAULT_PIDS_LIMIT = 512;

/** A container could not be created or started because a path bound into it vanished meanwhile (a parallel stage removed its outs). */
export function vanishedBindSource(err: unknown): boolean {
  return /bind source path does not exist|error mounting .*no such file or directory/i.test(errorMessage(err));
}

export interface ContainerSpecInput {
  req: RunRequest;
  /** One command of the stage's `cmd`. */
  cmd: string;
  imageId: string;
  /** The workspace's host path: mount targets and the working directory are under it. */
  hostWorkspace: string;
  /** Docker's `User`, never root (stage-user.ts). */
  user: string;
  settings: ContainerSettings;
  /** The run's view of the workspace (stage-sandbox.ts). */
  mounts: Docker.MountSettings[];
}

/**
 * The create options of one stage container: the command in a shell (the
 * image's entrypoint is not used: DVC runs commands as they are), in
 * `<host workspace>/<wdir>`, `HOME=/tmp`, the request's then the manifest's
 * environment, the labels, and the limits: no capabilities, no new
 * privileges, the manifest's network (none by default), CPU, memory (no swap
 * on top) and a pids limit.
 */
export function containerSpec(o: ContainerSpecInput): Docker.ContainerCreateOptions {
  const { req, cmd, imageId, hostWorkspace, user, settings, mounts } = o;
  const env: Record<string, string> = { HOME: '/tmp', ...req.env, ...settings.env };
  const workingDir = req.stage.wdir === '.' ? hostWorkspace : path.posix.join(hostWorkspace, req.stage.wdir);
  const pidsLimit = settings.pidsLimit ?? DEFAULT_PIDS_LIMIT;
  const specHash = createHash('sha256')
    .update(
      JSON.stringify([imageId, cmd, req.stage.wdir, user, settings.network, settings.cpus ?? null, settings.memoryBytes ?? null, pidsLimit, Object.entries(settings.env).sort()]),
    )
    .digest('hex')
    .slice(0, 16);
  return {
    Image: imageId,
    // The image's entrypoint would wrap the command; DVC runs it as is, in a shell.
    Entrypoint: [''],
    Cmd: ['/bin/sh', '-c', cmd],
    WorkingDir: workingDir,
    User: user,
    Env: Object.keys(env)
      .sort()
      .map((k) => `${k}=${env[k] ?? ''}`),
    Labels: stageLabels({ workspace: hostWorkspace, stage: req.stage.name, runId: req.runId, specHash }),
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    OpenStdin: false,
    HostConfig: {
      // Mounts, not Binds: any path (even with `:`), and a missing source is an error, not a new empty folder
      Mounts: mounts,
      NetworkMode: settings.network,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: pidsLimit,
      ...(settings.cpus !== undefined ? { NanoCpus: Math.round(settings.cpus * 1e9) } : {}),
      // no swap on top of the limit: a memory limit is a limit
      ...(settings.memoryBytes !== undefined ? { Memory: settings.memoryBytes, MemorySwap: settings.memoryBytes } : {}),
    },
  };
}