import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { LocalCache } from '../adapters/cache/local-cache.js';
import type { DockerRuntime } from '../adapters/docker/docker-runtime.js';
import { LocalWorkspace } from '../adapters/fs/local-workspace.js';
import { stageLogFile } from '../adapters/fs/stage-log-file.js';
import { decodeUtf8 } from '../adapters/fs/utf8-text.js';
import { HostRuntime } from '../adapters/local/host-runtime.js';
import { cacheLinkTypes, mergeDvcConfig, parseDvcConfig, type DvcConfig } from '../core/dvc-config.js';
import { ReprodError } from '../core/errors.js';
import { inputLimitsFromEnv, type InputLimits } from '../core/input-limits.js';
import { systemClock, type Clock, type Hasher, type Logger, type StageLogSink, type StageRuntime } from '../core/ports.js';
import type { Lockfile, LockStage, Pipeline, Stage } from '../core/types.js';
import { WorkspaceHasher } from '../hashing/workspace-hasher.js';
import { emptyLockfile, parseLockfile, serializeLockfile, upsertStage } from '../lock/lockfile.js';
import { buildDag, type Dag } from '../pipeline/dag.js';
import { parseManifests, type ParsedManifests } from '../pipeline/manifests.js';
import { resolveStageRuntime, type ResolvedRuntime } from '../pipeline/stage-runtime.js';
import { parseDvcYaml } from '../pipeline/parse-dvc-yaml.js';
import type { LockStore } from '../core/ports.js';
import type { StepDeps } from '../reconcile/stage-steps.js';
import { stageLogPath, StatusStore } from '../status/status-store.js';
import { hasErrno, isMissing } from '../core/errno.js';

export const DVC_YAML = 'dvc.yaml';
export const DVC_LOCK = 'dvc.lock';
export const MANIFESTS_DIR = 'manifests';

/** The text of `rel` under `root` (UTF-8, or an ENCODING error naming `rel`); undefined when absent. */
function readOptional(root: string, rel: string): string | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path.join(root, rel));
  } catch (e) {
    if (isMissing(e) || hasErrno(e, 'EISDIR')) return undefined;
    throw e;
  }
  return decodeUtf8(bytes, rel);
}

/** DVC's two config files, as read: kept apart, since secrets may come only from `config.local`. */
export interface DvcConfigFiles {
  /** `.dvc/config`: shared, committed. */
  config: DvcConfig;
  /** `.dvc/config.local`: this machine's settings and secrets. */
  local: DvcConfig;
}

/** The one reader of `.dvc/config` and `.dvc/config.local`; a missing file is an empty one. */
export function readDvcConfigFiles(root: string): DvcConfigFiles {
  const read = (name: string): DvcConfig => {
    const text = readOptional(root, `.dvc/${name}`);
    return text === undefined ? new Map() : parseDvcConfig(text, `.dvc/${name}`);
  };
  return { config: read('config'), local: read('config.local') };
}

/** The settings in effect: `.dvc/config` overridden key by key by `.dvc/config.local`. */
export function loadDvcConfig(root: string): DvcConfig {
  const files = readDvcConfigFiles(root);
  return mergeDvcConfig(files.config, files.local);
}

/** The desired state, read from disk: dvc.yaml (templated, checked, as a DAG) and manifests. */
export interface Spec {
  pipeline: Pipeline;
  dag: Dag;
  manifests: ParsedManifests;
  /** dvc.yaml, the files its templating read, and the manifests: their text, for the spec hash. */
  text: string;
  /**
   * The files templating read besides dvc.yaml (params.yaml, `vars:` files,
   * present or not), workspace-relative: what to watch for spec changes,
   * without parsing dvc.yaml again.
   */
  templateFiles?: readonly string[];
}

/** Parses and checks the pipeline: syntax, schema, templating, then the DAG. */
export function loadPipeline(root: string): { pipeline: Pipeline; dag: Dag } {
  const { pipeline, dag } = loadSpec(root);
  return { pipeline, dag };
}

/**
 * The limits on reading the spec in force for this process: the defaults,
 * raised or lowered by REPROD_MAX_* (docs/LIMITS.md). Read when a command or
 * a daemon pass loads the spec, so a bad value is reported as any bad input.
 */
export function inputLimits(): InputLimits {
  return inputLimitsFromEnv(process.env);
}

/**
 * Reads the spec: dvc.yaml (and the params and vars files its templating
 * reads) and manifests/, each bounded by `limits` and required to be UTF-8.
 */
export function loadSpec(root: string, limits: InputLimits = inputLimits()): Spec {
  const text = readOptional(root, DVC_YAML);
  if (text === undefined) {
    throw new ReprodError('NO_PIPELINE', `no ${DVC_YAML} in ${root}`);
  }
  const read: string[] = [text];
  const templateFiles: string[] = [];
  const pipeline = parseDvcYaml(text, {
    file: DVC_YAML,
    readFile: (rel) => {
      const t = readOptional(root, rel);
      read.push(`${rel}\n${t ?? ''}`);
      templateFiles.push(rel);
      return t;
    },
    limits,
  });
  const manifestFiles = listManifests(root);
  for (const f of manifestFiles) read.push(`${f.path}\n${f.text}`);
  return { pipeline, dag: buildDag(pipeline), manifests: parseManifests(manifestFiles, limits), text: read.join('\n---\n'), templateFiles };
}

function listManifests(root: string): { path: string; text: string }[] {
  const dir = path.join(root, MANIFESTS_DIR);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') || f.endsWith('.yml'))
    .sort()
    .flatMap((f) => {
      const rel = `${MANIFESTS_DIR}/${f}`;
      const text = readOptional(root, rel);
      return text === undefined ? [] : [{ path: rel, text }];
    });
}

function parse(text: string | undefined, limits: InputLimits): Lockfile {
  return text === undefined || text.trim() === '' ? emptyLockfile() : parseLockfile(text, DVC_LOCK, limits);
}

/** dvc.lock on disk; commits are serialized and each re-reads the file. */
export class FileLockStore implements LockStore {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ws: LocalWorkspace,
    private readonly limits: InputLimits = inputLimits(),
  ) {}

  async read(): Promise<Lockfile> {
    return parse(await this.ws.readText(DVC_LOCK), this.limits);
  }

  commit(stage: string, entry: LockStage): Promise<void> {
    const next = this.chain.then(async () => {
      const current = await this.ws.readText(DVC_LOCK);
      const text = serializeLockfile(upsertStage(parse(current, this.limits), stage, entry));
      if (current !== text) await this.ws.writeTextAtomic(DVC_LOCK, text);
    });
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Drops the stages' entries, as `dvc remove` does; no entry left: dvc.lock goes. */
  remove(stages: readonly string[]): Promise<void> {
    const next = this.chain.then(async () => {
      const current = await this.ws.readText(DVC_LOCK);
      if (current === undefined) return;
      const lock = parse(current, this.limits);
      if (!stages.some((s) => lock.stages.has(s))) return;
      for (const s of stages) lock.stages.delete(s);
      if (lock.stages.size === 0) await this.ws.remove(DVC_LOCK);
      else await this.ws.writeTextAtomic(DVC_LOCK, serializeLockfile(lock));
    });
    this.chain = next.catch(() => undefined);
    return next;
  }
}

export interface Project {
  root: string;
  config: DvcConfig;
  ws: LocalWorkspace;
  hasher: Hasher & AsyncDisposable;
  /** `.dvc/cache`, for stages (ObjectCache) and transfers (CacheStore) alike. */
  cache: LocalCache;
  lockStore: FileLockStore;
  statusStore: StatusStore;
  /** The limits on reading inputs in force (REPROD_MAX_*): params files read when observing stages are bounded by them too. */
  limits: InputLimits;
}

/** The composition root for one workspace: the only place adapters are constructed. */
export function openProject(rootDir: string, log?: Logger): Project {
  const root = path.resolve(rootDir);
  const limits = inputLimits();
  const config = loadDvcConfig(root);
  const ws = new LocalWorkspace(root);
  const cacheDir = config.get('cache')?.get('dir');
  const cache = new LocalCache({
    root,
    ...(cacheDir ? { cacheDir: path.resolve(root, '.dvc', cacheDir) } : {}),
    linkTypes: cacheLinkTypes(config),
  });
  const hasher = new WorkspaceHasher({ root, ...(log ? { logger: log } : {}) });
  return { root, config, ws, hasher, cache, lockStore: new FileLockStore(ws, limits), statusStore: new StatusStore(ws, log), limits };
}

/** Runs `fn` on an opened project, then stops the hasher's workers (whatever `fn` did). */
export async function withProject<T>(rootDir: string, log: Logger | undefined, fn: (p: Project) => Promise<T>): Promise<T> {
  const project = openProject(rootDir, log);
  try {
    return await fn(project);
  } finally {
    await project.hasher[Symbol.asyncDispose]();
  }
}

export type RuntimeMode = 'auto' | 'docker' | 'host';

export interface SelectedRuntime {
  runtime: StageRuntime;
  resolve(stage: Stage): ResolvedRuntime;
  docker?: DockerRuntime;
}

/**
 * What each stage runs in: `host` runs everything on the host (as DVC);
 * `auto`/`docker` follow the manifests and the `stages/<group>/Dockerfile`
 * convention, and reach the engine only when some stage needs a container.
 */
export async function selectRuntime(project: Project, spec: Spec, mode: RuntimeMode, log: Logger): Promise<SelectedRuntime> {
  const hasStageFolder = (group: string) => existsSync(path.join(project.root, 'stages', group, 'Dockerfile'));
  const resolve = (stage: Stage): ResolvedRuntime =>
    mode === 'host'
      ? { kind: 'host', reason: 'runs on the host: --runtime host' }
      : resolveStageRuntime(stage, spec.manifests.stages, hasStageFolder);
  const needsEngine = mode === 'docker' || spec.pipeline.stages.some((s) => resolve(s).kind === 'container');
  if (!needsEngine) return { runtime: new HostRuntime(), resolve };
  // dockerode is loaded only when a stage needs a container: it is most of a command's start-up time
  const [{ DockerRuntime }, { connectEngine }] = await Promise.all([import('../adapters/docker/docker-runtime.js'), import('../adapters/docker/engine.js')]);
  const docker = new DockerRuntime({ docker: connectEngine(), workspace: project.root, resolve, logger: log });
  return { runtime: docker, resolve, docker };
}

export function stepDeps(
  project: Project,
  runtime: StageRuntime,
  log: Logger,
  tee?: (stage: Stage) => StageLogSink | undefined,
  clock: Clock = systemClock,
): StepDeps {
  return {
    ws: project.ws,
    hasher: project.hasher,
    cache: project.cache,
    runtime,
    lockStore: project.lockStore,
    clock,
    log,
    newRunId: () => randomUUID(),
    stageLog: (stage) => stageLogFile(project.root, stageLogPath(stage.name), tee?.(stage)),
    env: { DVC_ROOT: project.root },
  };
}
