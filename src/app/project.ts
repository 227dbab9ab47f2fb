import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { LocalWorkspace } from '../adapters/fs/local-workspace.js';
import { LocalObjectCache } from '../cache/object-cache.js';
import { cacheLinkTypes, mergeDvcConfig, parseDvcConfig, type DvcConfig } from '../core/dvc-config.js';
import { ReprodError } from '../core/errors.js';
import { systemClock, type Hasher, type Logger, type StageRuntime } from '../core/ports.js';
import type { Lockfile, Pipeline } from '../core/types.js';
import { WorkspaceHasher } from '../hashing/workspace-hasher.js';
import { emptyLockfile, parseLockfile, serializeLockfile } from '../lock/lockfile.js';
import { buildDag, type Dag } from '../pipeline/dag.js';
import { parseDvcYaml } from '../pipeline/parse-dvc-yaml.js';
import type { LockStore, ReproDeps } from '../reconcile/reproduce.js';

export const DVC_YAML = 'dvc.yaml';
export const DVC_LOCK = 'dvc.lock';

function readOptional(abs: string): string | undefined {
  try {
    return readFileSync(abs, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
    throw e;
  }
}

/** Reads `.dvc/config` and `.dvc/config.local` (the latter holds secrets and machine settings). */
export function loadDvcConfig(root: string): DvcConfig {
  const base = readOptional(path.join(root, '.dvc', 'config'));
  const local = readOptional(path.join(root, '.dvc', 'config.local'));
  return mergeDvcConfig(
    base === undefined ? new Map() : parseDvcConfig(base, '.dvc/config'),
    local === undefined ? new Map() : parseDvcConfig(local, '.dvc/config.local'),
  );
}

/** Parses and checks the pipeline: syntax, schema, templating, then the DAG. */
export function loadPipeline(root: string): { pipeline: Pipeline; dag: Dag } {
  const text = readOptional(path.join(root, DVC_YAML));
  if (text === undefined) {
    throw new ReprodError('NO_PIPELINE', `no ${DVC_YAML} in ${root}`);
  }
  const pipeline = parseDvcYaml(text, {
    file: DVC_YAML,
    readFile: (rel) => readOptional(path.join(root, rel)),
  });
  return { pipeline, dag: buildDag(pipeline) };
}

export class FileLockStore implements LockStore {
  constructor(private readonly ws: LocalWorkspace) {}

  async read(): Promise<Lockfile> {
    const text = await this.ws.readText(DVC_LOCK);
    if (text === undefined || text.trim() === '') return emptyLockfile();
    return parseLockfile(text, DVC_LOCK);
  }

  async write(lock: Lockfile): Promise<void> {
    const text = serializeLockfile(lock);
    const cur = await this.ws.readText(DVC_LOCK);
    if (cur !== text) await this.ws.writeTextAtomic(DVC_LOCK, text);
  }
}

export interface Project {
  root: string;
  config: DvcConfig;
  ws: LocalWorkspace;
  hasher: Hasher & AsyncDisposable;
  cache: LocalObjectCache;
  lockStore: FileLockStore;
}

/** The composition root for one workspace: the only place adapters are constructed. */
export function openProject(rootDir: string): Project {
  const root = path.resolve(rootDir);
  const config = loadDvcConfig(root);
  const ws = new LocalWorkspace(root);
  const cacheDir = config.get('cache')?.get('dir');
  const cache = new LocalObjectCache({
    root,
    ...(cacheDir ? { cacheDir: path.resolve(root, '.dvc', cacheDir) } : {}),
    linkTypes: cacheLinkTypes(config),
  });
  const hasher = new WorkspaceHasher({ root });
  return { root, config, ws, hasher, cache, lockStore: new FileLockStore(ws) };
}

export function reproDeps(
  project: Project,
  runtime: StageRuntime,
  log: Logger,
  stageLog: ReproDeps['stageLog'],
): ReproDeps {
  return {
    ws: project.ws,
    hasher: project.hasher,
    cache: project.cache,
    runtime,
    lockStore: project.lockStore,
    clock: systemClock,
    log,
    newRunId: () => randomUUID(),
    stageLog,
    env: { DVC_ROOT: project.root },
  };
}
