import { ReprodError } from '../core/errors.js';
import { isPyDict, type PyDict, type PyValue } from '../core/pyvalue.js';
import type { Pipeline } from '../core/types.js';
import type { RevTree } from '../metrics/rev-tree.js';
import { joinWsPath, normalizeWsPath, wsDirname } from '../pipeline/paths.js';
import { readPlotSource, type SourceData } from './sources.js';

/**
 * What `plots show`/`plots diff` gather at one revision (DVC's
 * `Plots.collect`, dvc/repo/plots/__init__.py): the plot definitions of each
 * dvc.yaml (top-level `plots:`, under the dvc.yaml's path) and of the plot
 * outputs of every stage (under `''`), and the data files they draw from.
 */
export interface RevisionPlots {
  rev: string;
  /** config file (`dvc.yaml`, or `''` for stage outputs) → plot id → properties. */
  definitions: Map<string, Map<string, PyDict>>;
  /** data file → what reading it gave. */
  sources: Map<string, SourceData>;
}

export interface CollectOptions {
  /** Plot ids or files (regular expressions matched at the start, as DVC's `re.match`); none: every plot. */
  targets: readonly string[];
  /** Properties given on the command line (`-t`, `-x`, `-y`, `--title`...): they override the definitions'. */
  props: PyDict;
}

const merge = (a: PyDict, b: PyDict): PyDict => new Map([...a, ...b]);

function matcher(targets: readonly string[]): (configFile: string, plotId: string) => boolean {
  const res = targets.map((t) => {
    try {
      return new RegExp(`^(?:${t})`, 'u');
    } catch (cause) {
      throw new ReprodError('USAGE', `'${t}' is not a valid regular expression for a plot target`, { cause });
    }
  });
  return (configFile, plotId) => {
    if (res.length === 0) return true;
    const full = configFile ? `${configFile}::${plotId}` : plotId;
    return res.some((re) => re.test(plotId) || re.test(full));
  };
}

/** A definition's data path, or every file inside it when it is a directory. */
function unpack(tree: RevTree, path: string): string[] {
  if (!tree.isDir(path)) return [path];
  return tree.find(path);
}

/** Python's `os.path.commonpath` of two POSIX paths. */
function commonPath(a: string, b: string): string {
  const pa = a.split('/');
  const pb = b.split('/');
  let n = 0;
  while (n < pa.length && n < pb.length && pa[n] === pb[n]) n++;
  return pa.slice(0, n).join('/');
}

/** DVC's `_closest_parent`: the definition path sharing the longest prefix with `path`. */
function closestParent(path: string, parents: readonly string[]): string {
  let best = '';
  for (const p of parents) {
    const common = commonPath(path, p);
    if (common.length > best.length) best = common;
  }
  return best;
}

function definitionsOfDvcYaml(tree: RevTree, p: Pipeline, o: CollectOptions, matches: ReturnType<typeof matcher>): Map<string, PyDict> {
  const dir = wsDirname(p.file);
  const defs = new Map<string, PyDict>();
  for (const elem of p.plots) {
    if (typeof elem === 'string') defs.set(elem, new Map());
    else if (isPyDict(elem)) {
      const [k, v] = elem.entries().next().value ?? [];
      if (typeof k === 'string') defs.set(k, isPyDict(v) ? v : new Map());
    }
  }
  const join = (rel: string) => joinWsPath(dir, rel) ?? rel;
  const parents = [...defs.keys()].map(join);
  const out = new Map<string, PyDict>();
  for (const [id, props] of defs) {
    if (!matches(p.file, id)) continue;
    const y = props.get('y');
    if (!isPyDict(y)) {
      const dataPath = join(id);
      for (const file of unpack(tree, dataPath)) {
        if (file !== dataPath && closestParent(file, parents) !== dataPath) continue;
        out.set(file, merge(out.get(file) ?? new Map(), merge(props, o.props)));
      }
      continue;
    }
    // a plot of several files: its x/y files are relative to the dvc.yaml
    const adjusted: PyDict = new Map(props);
    for (const axis of ['x', 'y']) {
      const def = adjusted.get(axis);
      if (axis === 'x' && (def === undefined || typeof def === 'string')) continue;
      adjusted.delete(axis);
      adjusted.set(axis, new Map([...(isPyDict(def) ? def : new Map<string, PyValue>())].map(([f, v]) => [join(f), v])));
    }
    out.set(id, merge(adjusted, o.props));
  }
  return out;
}

/** `_plot_props`: a plot output's display properties ({} for a bare `- file.csv`). */
function outputProps(props: PyDict | undefined): PyDict {
  return props ?? new Map();
}

/** Every plot definition and data file of one revision. */
export function collectPlots(tree: RevTree, pipelines: readonly Pipeline[], o: CollectOptions): RevisionPlots {
  const matches = matcher(o.targets);
  const definitions = new Map<string, Map<string, PyDict>>();
  for (const p of pipelines) definitions.set(p.file, definitionsOfDvcYaml(tree, p, o, matches));

  const outputs = new Map<string, PyDict>();
  const outputPlotProps = new Map<string, PyDict>();
  for (const p of pipelines) {
    for (const s of p.stages) {
      for (const out of s.outs) {
        if (out.kind !== 'plot') continue;
        outputPlotProps.set(out.path, outputProps(out.plot));
        if (!matches(p.file, out.path)) continue;
        for (const file of unpack(tree, out.path)) outputs.set(file, merge(outputs.get(file) ?? new Map(), merge(outputProps(out.plot), o.props)));
      }
    }
  }
  if (outputs.size > 0) definitions.set('', outputs);

  // targets that are files are plotted too, even when no dvc.yaml names them
  const anyDefinition = definitions.size > 0;
  for (const t of o.targets) {
    const path = normalizeWsPath(t);
    if (path === undefined || (anyDefinition && tree.read(path) === undefined && !tree.isDir(path))) continue;
    const into = definitions.get('') ?? new Map<string, PyDict>();
    for (const file of unpack(tree, path)) into.set(file, merge(into.get(file) ?? new Map(), o.props));
    definitions.set('', into);
  }

  const sources = new Map<string, SourceData>();
  for (const defs of definitions.values()) {
    for (const [id, props] of defs) {
      for (const file of dataSources(id, props)) {
        if (sources.has(file)) continue;
        sources.set(file, readPlotSource(tree, file, merge(outputPlotProps.get(file) ?? new Map(), o.props)));
      }
    }
  }
  return { rev: tree.rev, definitions, sources };
}

/** DVC's `infer_data_sources`: the plot id itself, or the files its `y` (and first `x`) name. */
export function dataSources(plotId: string, props: PyDict | undefined): string[] {
  const y = props?.get('y');
  const sources = isPyDict(y) ? [...y.keys()] : [plotId];
  const x = props?.get('x');
  if (isPyDict(x)) {
    const first = x.keys().next();
    if (!first.done) sources.push(first.value);
  }
  return [...new Set(sources)];
}

/**
 * DVC's `group_definitions_by_id`: plot id → (the id in its config, the
 * definition). An id defined in several configs is named `config::id` in
 * each (`id` alone for the stage outputs' config `''`).
 */
export function groupDefinitions(definitions: ReadonlyMap<string, ReadonlyMap<string, PyDict>>): Map<string, [string, PyDict]> {
  const byId = new Map<string, Map<string, [string, PyDict]>>();
  for (const [config, defs] of definitions) {
    for (const [id, def] of defs) {
      const configs = byId.get(id) ?? new Map<string, [string, PyDict]>();
      configs.set(config, [id, def]);
      byId.set(id, configs);
    }
  }
  const out = new Map<string, [string, PyDict]>();
  for (const [id, configs] of byId) {
    if (configs.size === 1) {
      out.set(id, [...configs.values()][0] as [string, PyDict]);
      continue;
    }
    for (const [config, content] of configs) out.set(config ? `${config}::${id}` : id, content);
  }
  return out;
}
