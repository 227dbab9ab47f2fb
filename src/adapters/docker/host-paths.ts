import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { ReprodError } from '../../core/errors.js';
import { engineError, engineStatus } from './engine.js';
import { hasErrno } from '../../core/errno.js';

/**
 * Bind sources are read by the engine on the host, not by reprod. When reprod
 * runs inside a container, its own paths mean nothing to the engine: reprod
 * finds its container, and maps each path through the container's mounts to
 * the host path behind it. A path on no mount cannot be shared with a
 * sibling container, and is refused with a message that says how to mount it.
 */

/** A mount of a container, from `docker inspect` (`Mounts[]`). */
export interface MountPoint {
  /** The host path (for volumes, the volume's folder on the host). */
  source: string;
  /** The path inside the container. */
  destination: string;
}

/** Turns reprod's paths into host paths for binds. */
export interface HostPathMapper {
  /** The container reprod runs in, when it runs in one. */
  readonly containerId: string | undefined;
  /** The host path of an absolute path as reprod sees it; throws RUNTIME when it cannot be mapped. */
  toHost(p: string): string;
}

/** The env variable that gives the workspace's host path outright. */
export const HOST_WORKSPACE_ENV = 'REPROD_HOST_WORKSPACE';

const ID64 = /[0-9a-f]{64}/;

/**
 * The container ID from `/proc/self/mountinfo`: Docker bind-mounts each
 * container's `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf` from
 * `<data-root>/containers/<id>/`, whatever the cgroup setup.
 */
export function containerIdFromMountinfo(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const root = fields[3] ?? '';
    const mountPoint = fields[4] ?? '';
    if (!['/etc/hostname', '/etc/hosts', '/etc/resolv.conf'].includes(mountPoint)) continue;
    const m = /\/containers\/([0-9a-f]{64})\//.exec(root);
    if (m?.[1]) return m[1];
  }
  return undefined;
}

/** The container ID from `/proc/self/cgroup` (cgroup v1: `…/docker/<id>`, systemd: `docker-<id>.scope`). */
export function containerIdFromCgroup(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const m = /(?:\/docker[/-]|\/docker-)([0-9a-f]{64})(?:\.scope)?$/.exec(line.trim());
    if (m?.[1]) return m[1];
  }
  return undefined;
}

/** `/a//b/` → `/a/b`; the root stays `/`. */
function clean(p: string): string {
  const n = path.posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

function isUnder(p: string, dir: string): boolean {
  return dir === '/' || p === dir || p.startsWith(`${dir}/`);
}

/**
 * The host path of `p` through a container's mounts: the mount whose
 * destination is the longest prefix of `p` wins (a mount inside a mount hides
 * its parent there). undefined when no mount covers `p`.
 */
export function mapThroughMounts(p: string, mounts: readonly MountPoint[]): string | undefined {
  const target = clean(p);
  let best: MountPoint | undefined;
  for (const m of mounts) {
    const destination = clean(m.destination);
    if (isUnder(target, destination) && (!best || destination.length > best.destination.length)) best = { source: m.source, destination };
  }
  if (!best || best.source === '') return undefined;
  const rest = best.destination === '/' ? target : target.slice(best.destination.length);
  return rest === '' ? clean(best.source) : path.posix.join(best.source, rest);
}

/** The mounts of `docker inspect`'s `Mounts` that have a host path (tmpfs mounts have none). */
export function mountsFromInspect(mounts: readonly { Source?: string; Destination?: string }[] | undefined): MountPoint[] {
  return (mounts ?? []).flatMap((m) => (m.Source && m.Destination ? [{ source: m.Source, destination: m.Destination }] : []));
}

function unmappable(p: string, containerId: string, workspace: string): ReprodError {
  return new ReprodError('RUNTIME', `${p} is not on a bind mount or volume of reprod's container ${containerId.slice(0, 12)}, so stage containers cannot see it`, {
    remedy:
      `Mount the workspace into reprod's container at the same path as on the host (\`-v "$PWD:$PWD" -w "$PWD"\`, ` +
      `or in compose \`volumes: ["\${PWD}:\${PWD}"]\`), or set ${HOST_WORKSPACE_ENV} to the host path of ${workspace}.`,
  });
}

/** The identity: reprod is not in a container, its paths are the host's. */
export const identityMapper: HostPathMapper = { containerId: undefined, toHost: (p) => p };

/** Maps paths through a known mount table (reprod in container `containerId`). */
export function mountMapper(containerId: string, mounts: readonly MountPoint[], workspace: string): HostPathMapper {
  return {
    containerId,
    toHost(p: string): string {
      const host = mapThroughMounts(p, mounts);
      if (host === undefined) throw unmappable(p, containerId, workspace);
      return host;
    },
  };
}

/** Maps the workspace (and paths under it) to an explicit host path. */
export function overrideMapper(workspace: string, hostWorkspace: string, containerId?: string): HostPathMapper {
  return {
    containerId,
    toHost(p: string): string {
      const host = mapThroughMounts(p, [{ source: hostWorkspace, destination: workspace }]);
      if (host === undefined) {
        throw new ReprodError('RUNTIME', `${p} is outside the workspace ${workspace}, the only path ${HOST_WORKSPACE_ENV} maps`, {
          remedy: 'Keep every bind source inside the workspace.',
        });
      }
      return host;
    },
  };
}

export interface ResolveHostPathsOptions {
  /** Absolute path of the workspace as reprod sees it. */
  workspace: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Reads a file, undefined when it does not exist (for tests: a literal mountinfo). */
  readFile?: (file: string) => Promise<string | undefined>;
  hostname?: string;
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (hasErrno(err, 'ENOENT', 'EACCES')) return undefined;
    throw err;
  }
}

/**
 * Works out how reprod's paths map to the host's:
 *
 *   REPROD_HOST_WORKSPACE set ─────────────► workspace ↦ that path
 *   own container ID found (mountinfo, cgroup, else the hostname when /.dockerenv exists)
 *     ├ the engine knows it ──────────────► map through its mounts (refuse unmapped paths)
 *     └ the engine does not ──────────────► RUNTIME error (another engine's container)
 *   none found ─────────────────────────────► identity (reprod runs on the host)
 *
 * The workspace itself is checked here, so that a bad mount fails at start-up.
 */
export async function resolveHostPaths(docker: Docker, opts: ResolveHostPathsOptions): Promise<HostPathMapper> {
  const env = opts.env ?? process.env;
  const read = opts.readFile ?? readIfExists;
  const workspace = path.resolve(opts.workspace);
  const override = env[HOST_WORKSPACE_ENV];
  if (override !== undefined && override !== '') {
    if (!path.isAbsolute(override)) {
      throw new ReprodError('RUNTIME', `${HOST_WORKSPACE_ENV}=${override} is not an absolute path`, { remedy: `Set ${HOST_WORKSPACE_ENV} to the workspace's absolute path on the host.` });
    }
    return overrideMapper(workspace, path.posix.normalize(override));
  }
  let id = containerIdFromMountinfo((await read('/proc/self/mountinfo')) ?? '') ?? containerIdFromCgroup((await read('/proc/self/cgroup')) ?? '');
  let byHostname = false;
  if (!id && (await read('/.dockerenv')) !== undefined) {
    const hostname = opts.hostname ?? os.hostname();
    // A container's default hostname is its short ID; another name tells nothing.
    if (/^[0-9a-f]{12,64}$/.test(hostname)) {
      id = hostname;
      byHostname = true;
    }
  }
  if (!id) return identityMapper;
  let info;
  try {
    info = await docker.getContainer(id).inspect();
  } catch (err) {
    if (engineStatus(err) !== 404) throw engineError(err, `inspecting reprod's own container ${id.slice(0, 12)}`);
    if (byHostname) return identityMapper;
    throw new ReprodError('RUNTIME', `reprod runs in container ${id.slice(0, 12)}, which the Docker engine it talks to does not know: bind paths cannot be mapped to the host`, {
      remedy: `Mount the host's Docker socket (-v /var/run/docker.sock:/var/run/docker.sock), or set ${HOST_WORKSPACE_ENV} to the host path of ${workspace}.`,
    });
  }
  if (!ID64.test(info.Id)) throw new ReprodError('RUNTIME', `unexpected container ID from the engine: ${info.Id}`);
  const mapper = mountMapper(info.Id, mountsFromInspect(info.Mounts), workspace);
  mapper.toHost(workspace);
  return mapper;
}
