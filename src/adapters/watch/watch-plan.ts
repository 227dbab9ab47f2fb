import type { Pipeline, Stage } from '../../core/types.js';
import { PIPELINE_KEY } from '../../reconcile/reconciler.js';

/**
 * What the daemon watches, and which work-queue keys a change of each path
 * asks for. Pure: built from the spec in force, re-built after each load.
 *
 *   dvc.yaml, params.yaml, vars files, manifests/, .dvc/config(.local),
 *   .dvcignore ─────────────────────────────────────────► `pipeline`
 *   a stage's deps, params files and outs ──────────────► that stage
 *   a stage's image build context (stages/<group>/) ────► that stage
 *   with `anyPipelineFile`: a dvc.yaml in any folder,
 *   or a folder created or removed ─────────────────────► `pipeline`
 *
 * A path matches a target when it is the target, lies inside it (a file in
 * a dep directory), or contains it (a directory that was removed or created).
 */
export interface WatchPlan {
  /** Workspace-relative paths to watch (files or directories), sorted. */
  readonly paths: readonly string[];
  /** The keys a change of `path` asks for (none when nothing watched depends on it). */
  keysFor(path: string, isDir: boolean): string[];
  /** True when `path` is watched, inside something watched, or a folder on the way to it. */
  isRelevant(path: string): boolean;
}

/** Files whose change re-reads the spec, whatever the pipeline says. */
const SPEC_FILES = ['dvc.yaml', 'params.yaml', 'manifests', '.dvc/config', '.dvc/config.local', '.dvcignore'];

/** Never watched: DVC's and reprod's own bookkeeping, VCS and package folders. */
const IGNORED_PREFIXES = ['.dvc/cache', '.dvc/tmp', 'status', 'mlruns'];
const IGNORED_SEGMENTS = new Set(['.git', 'node_modules']);

/** True for a workspace-relative path the watcher must never report. */
export function isAlwaysIgnored(path: string): boolean {
  if (path === '') return false;
  if (IGNORED_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`))) return true;
  return path.split('/').some((seg) => IGNORED_SEGMENTS.has(seg));
}

function parentsOf(path: string): string[] {
  const out: string[] = [];
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) out.push(path.slice(0, i));
  return out;
}

export interface WatchPlanInput {
  /** The pipeline in force (undefined before any valid spec: only spec files are watched). */
  pipeline: Pipeline | undefined;
  /** Files the spec was templated from besides dvc.yaml and params.yaml (`vars:` files). */
  varsFiles?: readonly string[];
  /** The build context folder of a stage that runs in an image built by reprod. */
  buildContextOf?(stage: Stage): string | undefined;
  /**
   * Watch for pipeline files anywhere (DVC reads every dvc.yaml of the
   * workspace): every folder but those `ignoredFolder` names (`.dvcignore`)
   * is watched, and a dvc.yaml appearing, changing or going anywhere, or a
   * folder created or removed, re-reads the spec.
   */
  anyPipelineFile?: { ignoredFolder(path: string): boolean };
}

const PIPELINE_FILE = 'dvc.yaml';

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function watchPlan(input: WatchPlanInput): WatchPlan {
  const anywhere = input.anyPipelineFile;
  const targets = new Map<string, Set<string>>();
  const add = (path: string, key: string) => {
    const p = path === '.' ? '' : path.replace(/\/+$/, '');
    if (isAlwaysIgnored(p)) return;
    let keys = targets.get(p);
    if (!keys) targets.set(p, (keys = new Set()));
    keys.add(key);
  };
  for (const f of [...SPEC_FILES, ...(input.varsFiles ?? [])]) add(f, PIPELINE_KEY);
  for (const stage of input.pipeline?.stages ?? []) {
    for (const d of stage.deps) add(d.path, stage.name);
    for (const p of stage.params) add(p.path, stage.name);
    for (const o of stage.outs) add(o.path, stage.name);
    const ctx = input.buildContextOf?.(stage);
    if (ctx !== undefined) add(ctx, stage.name);
  }
  const ancestors = new Set<string>();
  for (const t of targets.keys()) for (const a of parentsOf(t)) ancestors.add(a);
  const sorted = [...targets.keys()].sort();

  const within = (path: string): string[] => {
    const hits: string[] = [];
    if (targets.has(path)) hits.push(path);
    for (const a of parentsOf(path)) if (targets.has(a)) hits.push(a);
    if (targets.has('')) hits.push('');
    return hits;
  };

  return {
    paths: sorted.map((p) => (p === '' ? '.' : p)),
    isRelevant(path) {
      if (path === '' || ancestors.has(path)) return true;
      if (anywhere && !anywhere.ignoredFolder(path)) return true;
      return within(path).length > 0;
    },
    keysFor(path, isDir) {
      const keys = new Set<string>();
      if (anywhere && (isDir || path === PIPELINE_FILE || path.endsWith(`/${PIPELINE_FILE}`)) && !anywhere.ignoredFolder(isDir ? path : parentOf(path))) {
        keys.add(PIPELINE_KEY);
      }
      for (const t of within(path)) for (const k of targets.get(t) ?? []) keys.add(k);
      if (isDir) {
        // a folder that appeared or vanished takes the targets inside it along
        const prefix = `${path}/`;
        for (const t of sorted) if (t.startsWith(prefix)) for (const k of targets.get(t) ?? []) keys.add(k);
      }
      return [...keys].sort();
    },
  };
}
