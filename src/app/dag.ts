import path from 'node:path';
import { selectStages, type Dag } from '../pipeline/dag.js';
import { loadPipeline } from './project.js';

/**
 * `dag [target]`: the pipeline's graph; with a target, only that stage (or
 * group) and the stages upstream of it, with the edges among them.
 */
export function pipelineDag(root: string, target: string | undefined): Dag {
  const { dag } = loadPipeline(path.resolve(root));
  if (!target) return dag;
  const keep = new Set(selectStages(dag, [target]).map((s) => s.name));
  return {
    ...dag,
    stages: dag.stages.filter((s) => keep.has(s.name)),
    upstream: new Map([...dag.upstream].filter(([k]) => keep.has(k))),
  };
}
