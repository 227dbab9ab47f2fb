import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from '../core/crypto.js';
import { LocalCache } from '../adapters/cache/local-cache.js';
import { GitIgnores } from '../adapters/git/gitignore.js';
import type { DockerRuntime } from '../adapters/docker/docker-runtime.js';
import { workspaceOwner } from '../adapters/fs/file-owner.js';
import { LocalWorkspace } from '../adapters/fs/local-workspace.js';
import { stageLogFile } from '../adapters/fs/stage-log-file.js';
import { decodeUtf8 } from '../adapters/fs/utf8-text.js';
import { HostRuntime } from '../adapters/local/host-runtime.js';
import { cacheLinkTypes, mergeDvcConfig, parseDvcConfig, type DvcConfig, type DvcConfigFiles, type LinkType } from '../core/dvc-config.js';
import { redactingSink } from '../core/redact.js';
import { ReprodError } from '../core/errors.js';
import { inputLimitsFromEnv, type InputLimits } from '../core/input-limits.js';
import { systemClock, type Clock, type FileOwner, type Hasher, type HashProgress, type Logger, type StageLogSink, type StageRuntime } from '../core/ports.js';
import type { Pipeline, Stage } from '../core/types.js';
import { WorkspaceHasher } from '../hashing/workspace-hasher.js';
import { freshListings, type FolderLister } from '../hashing/folder-listings.js';
import { buildDag, type Dag } from '../pipeline/dag.js';
import { parseManifests, type ParsedManifests } from '../pipeline/manifests.js';
import { resolveStageRuntime, type ResolvedRuntime } from '../pipeline/stage-runtime.js';
import { parseDvcYaml } from '../pipeline/parse-dvc-yaml.js';
import type { StepDeps } from '../reconcile/stage-steps.js';
import { StatusReporter } from '../status/reporter.js';
import { stageLogPath, StatusStore } from '../status/status-store.js';
import { errorMessage, hasErrno, isMissing } from '../core/errno.js';
import { stageLogRedactor } from './stage-secrets.js';
import { checkSectionKey } from '../remote/config-schema.js';
import { FileLockStore } from './lock-files.js';
import { findPipelineFiles, mergePipelines, workspaceIgnores } from './pipeline-files.js';

export { FileLockStore } from './lock-files.js';

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

export type { DvcConfigFiles } from '../core/dvc-config.js';

/** The one reader of `.dvc/config` and `.dvc/config.local`; a missing file is an empty one. */
export function readDvcConfigFiles(root: string): DvcConfigFiles {
  const read = (name: string): DvcConfig => {
    const file = `.dvc/${name}`;
    const text = readOptional(root, file);
    if (text === undefined) return new Map();
    const lines = new Map<string, number>();
    const config = parseDvcConfig(text, file, lines);
    checkKnownKeys(config, file, lines);
    return config;
  };
  return { config: read('config'), local: read('config.local') };
}

/**
 * Every key of a plain section (`[core]`, `[cache]`, …) is one DVC knows, of
 * the type it takes, as DVC's config schema checks it: a misspelt key is an
 * error naming the file, the key and its line, not a setting silently
 * ignored. Remote sections are checked where remotes are resolved, with the
 * URL that decides their keys; `machine`/`db` sections are left to DVC.
 */
function checkKnownKeys(config: DvcConfig, file: string, lines: ReadonlyMap<string, number>): void {
  for (const [section, keys] of config) {
    if (/[\s"']/.test(section)) continue;
    for (const [key, value] of keys) {
      try {
        checkSectionKey(section, key, value, file);
      } catch (e) {
        if (!(e instanceof ReprodError)) throw e;
        const line = lines.get(`${section}\0${key}`);
        // the key is named by the source; the message need not say it again
        const message = e.message.startsWith(`${section}.${key}: `) ? e.message.slice(section.length + key.length + 3) : e.message;
        throw new ReprodError(e.code, message, { cause: e, ...(e.remedy ? { remedy: e.remedy } : {}), source: { file, ...(line ? { line } : {}), key: `${section}.${key}` } });
      }
    }
  }
}

/** Whether DVC would ask git (`core.no_scm` is not set true): git's ignore rules then apply to finding dvc.yaml files. */
export function usesGit(config: DvcConfig): boolean {
  const v = config.get('core')?.get('no_scm')?.toLowerCase();
  return !(v === 'true' || v === 'yes' || v === 'on' || v === '1');
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
  /** Every dvc.yaml read, workspace-relative, in walk order (the root's first when there is one). */
  files?: readonly string[];
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
 * Reads the spec: every dvc.yaml of the workspace (found as DVC finds them,
 * see pipeline-files.ts; the params and vars files each one's templating
 * reads, relative to its folder) as one pipeline whose stages are named by
 * their addresses, and manifests/; each file bounded by `limits` and
 * required to be UTF-8. No dvc.yaml anywhere is NO_PIPELINE.
 */
export function loadSpec(root: string, limits: InputLimits = inputLimits(), listings: FolderLister = freshListings): Spec {
  const read: string[] = [];
  const templateFiles: string[] = [];
  const pipelines: Pipeline[] = [];
  // each file found is read at once: the folders its stages write are not walked
  const readOne = (file: string): string[] => {
    const text = readOptional(root, file);
    if (text === undefined) return [];
    read.push(`${file}\n${text}`);
    const pipeline = parseDvcYaml(text, {
      file,
      readFile: (rel) => {
        const t = readOptional(root, rel);
        read.push(`${rel}\n${t ?? ''}`);
        if (!templateFiles.includes(rel)) templateFiles.push(rel);
        return t;
      },
      limits,
    });
    pipelines.push(pipeline);
    return pipeline.stages.flatMap((s) => s.outs.map((o) => o.path));
  };
  const files = findPipelineFiles(root, readOne, workspaceIgnores(root, usesGit(loadDvcConfig(root))), listings);
  if (pipelines.length === 0) {
    throw new ReprodError('NO_PIPELINE', `no ${DVC_YAML} in ${root}`);
  }
  const pipeline = mergePipelines(pipelines);
  const manifestFiles = listManifests(root);
  for (const f of manifestFiles) read.push(`${f.path}\n${f.text}`);
  return {
    pipeline,
    dag: buildDag(pipeline),
    manifests: parseManifests(manifestFiles, limits),
    text: read.join('\n---\n'),
    templateFiles,
    files: files.filter((f) => pipelines.some((p) => p.file === f)),
  };
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

export interface Project {
  root: string;
  config: DvcConfig;
  ws: LocalWorkspace;
  hasher: Hasher & AsyncDisposable;
  /** `.dvc/cache`, for stages (ObjectCache) and transfers (CacheStore) alike. */
  cache: LocalCache;
  lockStore: FileLockStore;
  statusStore: StatusStore;
  /** Whom what reprod creates here belongs to, when not to the process (reprod as root: see file-owner.ts). */
  owner: FileOwner | undefined;
  /** The limits on reading inputs in force (REPROD_MAX_*): params files read when observing stages are bounded by them too. */
  limits: InputLimits;
  /** How the walks for dvc.yaml, `.dvc` files and hashing read folders (hashing/folder-listings.ts). */
  listings: FolderLister;
}

/**
 * Where a project's cache is, when not where its `.dvc/config` says: an
 * experiment's workspace uses its main workspace's cache, linked per the main
 * workspace's `cache.type` (docs/EXPERIMENTS.md).
 */
export interface CacheOverride {
  cacheDir: string;
  linkTypes: LinkType[];
}

/** The composition root for one workspace: the only place adapters are constructed. */
export function openProject(rootDir: string, log?: Logger, cacheOverride?: CacheOverride, hashProgress?: HashProgress, listings: FolderLister = freshListings): Project {
  const root = path.resolve(rootDir);
  const limits = inputLimits();
  const config = loadDvcConfig(root);
  const owner = workspaceOwner(root);
  const ws = new LocalWorkspace(root, owner);
  const cacheDir = cacheOverride?.cacheDir ?? cachePathOf(root, config);
  const cache = new LocalCache({
    root,
    ...(cacheDir ? { cacheDir } : {}),
    linkTypes: cacheOverride?.linkTypes ?? cacheLinkTypes(config),
    owner,
  });
  const hasher = new WorkspaceHasher({ root, owner, listings, ...(log ? { logger: log } : {}), ...(hashProgress ? { progress: hashProgress } : {}) });
  const pipelineFiles = () => findPipelineFiles(root, undefined, workspaceIgnores(root, usesGit(config)), listings);
  return { root, config, ws, hasher, cache, lockStore: new FileLockStore(ws, limits, pipelineFiles), statusStore: new StatusStore(ws, log), owner, limits, listings };
}

/** The cache folder `.dvc/config` names (`cache.dir`, relative to .dvc/), or undefined for the default. */
export function cachePathOf(root: string, config: DvcConfig): string | undefined {
  const dir = config.get('cache')?.get('dir');
  return dir ? path.resolve(root, '.dvc', dir) : undefined;
}

/** Runs `fn` on an opened project, then stops the hasher's workers (whatever `fn` did). */
export async function withProject<T>(
  rootDir: string,
  log: Logger | undefined,
  fn: (p: Project) => Promise<T>,
  cacheOverride?: CacheOverride,
  hashProgress?: HashProgress,
  listings?: FolderLister,
): Promise<T> {
  const project = openProject(rootDir, log, cacheOverride, hashProgress, listings);
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
  if (!needsEngine) return { runtime: new HostRuntime({ journalRoot: project.root }), resolve };
  // dockerode is loaded only when a stage needs a container: it is most of a command's start-up time
  const [{ DockerRuntime }, { connectEngine }] = await Promise.all([import('../adapters/docker/docker-runtime.js'), import('../adapters/docker/engine.js')]);
  // a cache dir elsewhere in the workspace is hidden from stages as .dvc/cache is
  const cacheRel = path.relative(project.root, project.cache.dir).split(path.sep).join('/');
  const hide = cacheRel.startsWith('..') || path.isAbsolute(cacheRel) ? [] : [cacheRel];
  const docker = new DockerRuntime({ docker: connectEngine(), workspace: project.root, resolve, logger: log, hide, host: new HostRuntime({ journalRoot: project.root }) });
  return { runtime: docker, resolve, docker };
}

/** What status/<stage>.yaml says about where a stage runs. */
export function statusReporter(project: Project, selected: SelectedRuntime): StatusReporter {
  return new StatusReporter(project.statusStore, systemClock, (stage) => {
    const r = selected.resolve(stage);
    return { kind: r.kind === 'container' ? 'docker' : 'host', reason: r.reason };
  });
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
    // secrets are redacted before the file and the tee; .dvc/config.local is read again at each run
    stageLog: (stage) =>
      redactingSink(stageLogFile(project.root, stageLogPath(stage.name), tee?.(stage), project.owner), stageLogRedactor(process.env, readDvcConfigFiles(project.root))),
    env: { DVC_ROOT: project.root },
    ignoreOuts: gitIgnoring(project.root, log),
  };
}

/** `.gitignore` upkeep for committed outputs when the workspace is in a git repository (looked up once, on first use). */
function gitIgnoring(root: string, log: Logger): (paths: readonly string[]) => Promise<void> {
  let ignores: GitIgnores | undefined | null = null;
  return async (paths) => {
    if (paths.length === 0) return;
    try {
      if (ignores === null) {
        ignores = GitIgnores.open(root);
        await ignores?.ignoreDvcDir();
      }
      for (const p of paths) await ignores?.ignore(p);
    } catch (err) {
      log.warn({ err: errorMessage(err), paths }, 'cannot add the outputs to .gitignore');
    }
  };
}
