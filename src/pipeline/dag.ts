import { ReprodError, ReprodErrors } from '../core/errors.js';
import { stageNames, unknownStage } from './stage-names.js';
import type { OutSpec, Pipeline, Stage } from '../core/types.js';

/**
 * The pipeline's graph. An edge `a → b` means stage `a` depends on an output
 * of stage `b` (the direction DVC's graph uses): a dep equal to an out, a dep
 * inside an out directory, or a dep directory that contains an out.
 */
export interface Dag {
  stages: Stage[];
  byName: Map<string, Stage>;
  /** stage → the stages it depends on, in the order its deps are listed. */
  upstream: Map<string, string[]>;
  /** stage → the stages that depend on it. */
  downstream: Map<string, string[]>;
  /** workspace path of an out → the stage that produces it and the out. */
  producers: Map<string, { stage: Stage; out: OutSpec }>;
}

function isInside(path: string, dir: string): boolean {
  return dir === '.' || path.startsWith(`${dir}/`);
}

/**
 * The outs (of `sorted`, every out path in sorted order) that `dep` meets:
 * the dep itself, a directory holding it, or one inside it. Found by looking
 * up the dep's ancestors and a range of the sorted paths, not by comparing
 * the dep with every out (quadratic in stages).
 */
function outsMeeting(dep: string, sorted: readonly string[]): string[] {
  if (dep === '.') return [...sorted];
  const found = new Set<string>();
  const has = (p: string): boolean => sorted[binarySearch(sorted, p)] === p;
  if (has('.')) found.add('.');
  for (let i = dep.indexOf('/'); i >= 0; i = dep.indexOf('/', i + 1)) if (has(dep.slice(0, i))) found.add(dep.slice(0, i));
  if (has(dep)) found.add(dep);
  // paths inside dep/ sort between `dep/` and `dep0` ('0' follows '/')
  for (let i = binarySearch(sorted, `${dep}/`); i < sorted.length && (sorted[i] as string) < `${dep}0`; i++) found.add(sorted[i] as string);
  return [...found];
}

/** The first index of `sorted` whose path is not below `p`. */
function binarySearch(sorted: readonly string[], p: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as string) < p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Builds the DAG and rejects what DVC rejects: the same output in two places,
 * an output inside another output, and cycles (all named in the error).
 */
export function buildDag(pipeline: Pipeline): Dag {
  const byName = new Map(pipeline.stages.map((s) => [s.name, s]));
  const producers = new Map<string, { stage: Stage; out: OutSpec }>();
  const errors: ReprodError[] = [];

  for (const stage of pipeline.stages) {
    for (const out of stage.outs) {
      const dup = producers.get(out.path);
      if (dup) {
        errors.push(
          new ReprodError(
            'OUT_DUPLICATE',
            `output '${out.path}' is specified in stages '${dup.stage.name}' and '${stage.name}'`,
            { source: { ...stage.source, key: `${stage.source.key ?? `stages.${stage.name}`}.outs` } },
          ),
        );
        continue;
      }
      producers.set(out.path, { stage, out });
    }
  }
  // Overlap: one output inside another (sorting puts a parent right before its children).
  const outPaths = [...producers.keys()].sort();
  for (let i = 0; i < outPaths.length; i++) {
    const parent = outPaths[i] as string;
    for (let j = i + 1; j < outPaths.length && isInside(outPaths[j] as string, parent); j++) {
      const child = outPaths[j] as string;
      const p = producers.get(parent)!;
      const c = producers.get(child)!;
      errors.push(
        new ReprodError(
          'OUT_OVERLAP',
          `the output paths '${parent}' (stage '${p.stage.name}') and '${child}' (stage '${c.stage.name}') overlap: ` +
            `they are in the same tracked directory`,
          { source: { ...c.stage.source, key: `${c.stage.source.key ?? `stages.${c.stage.name}`}.outs` } },
        ),
      );
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new ReprodErrors(errors);

  const upstream = new Map<string, string[]>();
  const downstream = new Map<string, string[]>(pipeline.stages.map((s) => [s.name, []]));
  const order = new Map([...producers.keys()].map((p, i) => [p, i]));
  for (const stage of pipeline.stages) {
    const ups: string[] = [];
    const depPaths = [...stage.deps.map((d) => d.path), ...stage.params.map((p) => p.path)];
    for (const dep of depPaths) {
      // the outs a dep meets, in the order they were declared
      for (const outPath of outsMeeting(dep, outPaths).sort((a, b) => (order.get(a) as number) - (order.get(b) as number))) {
        const name = (producers.get(outPath) as { stage: Stage }).stage.name;
        if (!ups.includes(name)) ups.push(name);
      }
    }
    upstream.set(stage.name, ups);
    for (const u of ups) downstream.get(u)?.push(stage.name);
  }

  const dag: Dag = { stages: pipeline.stages, byName, upstream, downstream, producers };
  const cycle = findCycle(dag);
  if (cycle) {
    const first = byName.get(cycle[0] as string);
    throw new ReprodError('CYCLE', `the pipeline has a cycle: ${[...cycle, cycle[0]].join(' -> ')}`, {
      ...(first ? { source: first.source } : {}),
    });
  }
  return dag;
}

/** The stages of one cycle in dependency order, or undefined when the graph is acyclic. */
function findCycle(dag: Dag): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const up of dag.upstream.get(name) ?? []) {
      const s = state.get(up);
      if (s === 'visiting') return stack.slice(stack.indexOf(up));
      if (s === undefined) {
        const c = visit(up);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const s of dag.stages) {
    if (!state.has(s.name)) {
      const c = visit(s.name);
      if (c) return c;
    }
  }
  return undefined;
}

export interface SelectOptions {
  /** Also select every stage downstream of the targets (and not their upstream). */
  downstream?: boolean;
  /** Only the targets themselves. */
  single?: boolean;
}

/**
 * The stages to reproduce, upstream first, in DVC's order: a depth-first
 * post-order walk from each selected stage in dvc.yaml order, following deps in
 * the order they are listed. A target is a stage's address, a foreach/matrix
 * group's, or a pipeline file's path (`sub/dvc.yaml`: every stage in it).
 *
 * ```
 *   prepare ◄── count ◄── report       repro report          → prepare, count, report
 *      ▲                               repro --downstream count → count, report
 *      └─────── pick                   repro pick --single    → pick
 * ```
 */
export function selectStages(dag: Dag, targets: string[] = [], opts: SelectOptions = {}): Stage[] {
  const files = new Set(dag.stages.map((s) => s.source.file));
  for (const t of targets) {
    if (files.has(t) || dag.byName.has(t) || dag.stages.some((s) => s.group === t)) continue;
    if (isPipelineFileTarget(t)) throw new ReprodError('STAGE_NOT_FOUND', `'${t}' does not exist`, { remedy: 'Name a dvc.yaml of the workspace, or a stage.' });
    throw unknownStage(t, stageNames(dag.stages));
  }
  const roots =
    targets.length === 0
      ? dag.stages.map((s) => s.name)
      : dag.stages.filter((s) => targets.includes(s.name) || targets.includes(s.group) || targets.includes(s.source.file)).map((s) => s.name);

  const selected = new Set<string>();
  if (opts.single || targets.length === 0) {
    roots.forEach((r) => selected.add(r));
  } else {
    const edges = opts.downstream ? dag.downstream : dag.upstream;
    const walk = (n: string) => {
      if (selected.has(n)) return;
      selected.add(n);
      for (const m of edges.get(n) ?? []) walk(m);
    };
    roots.forEach(walk);
  }

  const order: Stage[] = [];
  const seen = new Set<string>();
  const post = (n: string) => {
    if (seen.has(n) || !selected.has(n)) return;
    seen.add(n);
    for (const up of dag.upstream.get(n) ?? []) post(up);
    order.push(dag.byName.get(n)!);
  };
  for (const s of dag.stages) post(s.name);
  return order;
}

/** A target naming a whole pipeline file (`dvc.yaml`, `sub/dvc.yaml`) rather than a stage. */
function isPipelineFileTarget(t: string): boolean {
  return t === 'dvc.yaml' || t.endsWith('/dvc.yaml');
}

/** Every stage downstream of `name` (not including it). */
export function downstreamOf(dag: Dag, name: string): Set<string> {
  const out = new Set<string>();
  const walk = (n: string) => {
    for (const d of dag.downstream.get(n) ?? []) {
      if (!out.has(d)) {
        out.add(d);
        walk(d);
      }
    }
  };
  walk(name);
  return out;
}
