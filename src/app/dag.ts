import path from 'node:path';
import type { Dag } from '../pipeline/dag.js';
import { dagOfTarget } from '../pipeline/dag-format.js';
import { addressFrom } from '../pipeline/stage-address.js';
import { loadPipeline } from './project.js';

/**
 * `dag [target]`: the pipeline's graph; with a target, only that stage (or
 * group) and the stages upstream of it, with the edges among them. Started
 * in a sub-folder (`cwd`, workspace-relative), stages are named from there,
 * as DVC names them (`inner`, `../dvc.yaml:top`).
 */
export function pipelineDag(root: string, target: string | undefined, cwd = '.'): Dag {
  const { dag } = loadPipeline(path.resolve(root));
  const chosen = target ? dagOfTarget(dag, target) : dag;
  return cwd === '.' ? chosen : namedFrom(chosen, cwd);
}

/** The graph with every stage named as seen from folder `cwd`. */
function namedFrom(dag: Dag, cwd: string): Dag {
  const name = (n: string) => addressFrom(n, cwd);
  const stages = dag.stages.map((s) => ({ ...s, name: name(s.name), group: name(s.group) }));
  const byName = new Map(stages.map((s) => [s.name, s]));
  const edges = (m: ReadonlyMap<string, string[]>) => new Map([...m].map(([k, v]) => [name(k), v.map(name)]));
  const producers = new Map([...dag.producers].map(([p, { stage, out }]) => [p, { stage: byName.get(name(stage.name)) ?? stage, out }]));
  return { stages, byName, upstream: edges(dag.upstream), downstream: edges(dag.downstream), producers };
}
