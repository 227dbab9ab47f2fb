import { ReprodError } from '../core/errors.js';
import { selectStages } from '../pipeline/dag.js';
import { checkoutTracked } from '../remote/checkout.js';
import type { TrackedOut } from '../remote/tracked.js';
import { loadPipeline, withProject } from './project.js';

/** A restored output: `A` where nothing was, `M` where other content was replaced. */
export interface RestoredOut {
  path: string;
  change: 'A' | 'M';
}

/**
 * `reprod checkout [targets]`: makes every cached output of the chosen stages
 * (all, or the targets alone) hold what dvc.lock records, from the cache, with
 * the checkout `pull` uses. Unlike `pull` it overwrites what is in the way,
 * as checking out is asked for by name. Each restored output is reported as
 * it lands; outputs not in the cache end it with one CACHE error naming them.
 */
export async function checkoutOutputs(root: string, targets: readonly string[], onRestored: (r: RestoredOut) => void): Promise<RestoredOut[]> {
  return withProject(root, undefined, async (project) => {
    const { dag } = loadPipeline(project.root);
    const lock = await project.lockStore.read();
    const stages = targets.length ? selectStages(dag, [...targets], { single: true }) : dag.stages;
    const deps = { hasher: project.hasher, cache: project.cache, store: project.cache };
    const restored: RestoredOut[] = [];
    const missing: string[] = [];
    for (const stage of stages) {
      const entry = lock.stages.get(stage.name);
      if (!entry) continue;
      for (const out of stage.outs) {
        const locked = entry.outs.find((o) => o.path === out.defPath);
        if (!locked || !out.cache) continue;
        const tracked: TrackedOut = { path: out.path, oid: locked.md5, owner: stage.name, push: out.push };
        const res = await checkoutTracked(deps, [tracked], new Map(), { force: true });
        if (res.failed.length > 0) {
          missing.push(out.path);
        } else if (res.added.length + res.modified.length > 0) {
          const r: RestoredOut = { path: out.path, change: res.added.length > 0 ? 'A' : 'M' };
          restored.push(r);
          onRestored(r);
        }
      }
    }
    await project.hasher.flush();
    if (missing.length) {
      throw new ReprodError('CACHE', `not in the cache, so not checked out: ${missing.join(', ')}`, {
        remedy: 'Run `reprod repro` to produce them, or pull them from a remote.',
      });
    }
    return restored;
  });
}
