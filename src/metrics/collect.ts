import type { Pipeline } from '../core/types.js';
import { joinWsPath, wsDirname } from '../pipeline/paths.js';
import type { RevTree } from './rev-tree.js';

/**
 * Which files `metrics` and `params` read at one revision, in DVC's order
 * (dvc/repo/metrics/show.py `_collect_metrics`, dvc/repo/params/show.py
 * `_collect_params`).
 */

/** The metrics of every stage (`metrics:` outputs, stage by stage), then the top-level `metrics:` of each dvc.yaml. */
export function declaredMetrics(pipelines: readonly Pipeline[]): string[] {
  const out: string[] = [];
  for (const p of pipelines) for (const s of p.stages) for (const o of s.outs) if (o.kind === 'metric') out.push(o.path);
  for (const p of pipelines) out.push(...topLevel(p, p.metrics));
  return out;
}

/** Top-level `metrics:`/`params:` entries are relative to their dvc.yaml's folder. */
function topLevel(p: Pipeline, entries: readonly string[]): string[] {
  const dir = wsDirname(p.file);
  return entries.flatMap((e) => joinWsPath(dir, e) ?? []);
}

/**
 * The metrics files to read: the targets when given, else every declared
 * one; directories expanded into the files inside them; each path once.
 */
export function metricsFiles(tree: RevTree, pipelines: readonly Pipeline[], targets: readonly string[]): string[] {
  return distinct(expandDirs(tree, targets.length > 0 ? targets : declaredMetrics(pipelines)));
}

export function expandDirs(tree: RevTree, paths: readonly string[]): string[] {
  return paths.flatMap((p) => {
    const inside = tree.isDir(p) ? tree.find(p) : [];
    return inside.length > 0 ? inside : [p];
  });
}

function distinct(paths: readonly string[]): string[] {
  return [...new Set(paths)];
}

export interface ParamsSelection {
  /** Only the params stages depend on (`--deps`): no top-level `params:`, no whole `params.yaml`. */
  depsOnly: boolean;
  /** Files given on the command line (`--targets`): read whole, and nothing else. */
  targets: readonly string[];
}

/**
 * params file → the keys to read (`[]`: the whole file), as DVC's
 * `_merge_params` combines them: each stage's params, then the top-level
 * `params:` files, then `params.yaml` itself when it exists at this revision
 * (so `params diff` shows all of `params.yaml`, not only the keys stages use).
 * A file tracked whole anywhere is read whole.
 */
export function paramsFiles(tree: RevTree, pipelines: readonly Pipeline[], sel: ParamsSelection): Map<string, string[]> {
  const entries: [string, string[]][] = [];
  if (sel.targets.length > 0) {
    for (const t of sel.targets) entries.push([t, []]);
  } else {
    for (const p of pipelines) for (const s of p.stages) for (const d of s.params) entries.push([d.path, d.keys ?? []]);
    if (!sel.depsOnly) {
      for (const p of pipelines) for (const f of topLevel(p, p.params)) entries.push([f, []]);
      if (tree.read(DEFAULT_PARAMS_FILE) !== undefined) entries.push([DEFAULT_PARAMS_FILE, []]);
    }
  }
  const whole = new Set(entries.filter(([, keys]) => keys.length === 0).map(([f]) => f));
  const merged = new Map<string, string[]>();
  for (const [f, keys] of entries) {
    const into = merged.get(f) ?? [];
    merged.set(f, whole.has(f) ? [] : [...into, ...keys]);
  }
  const out = new Map<string, string[]>();
  for (const [f, keys] of merged) for (const file of expandDirs(tree, [f])) out.set(file, keys);
  return out;
}

export const DEFAULT_PARAMS_FILE = 'params.yaml';
