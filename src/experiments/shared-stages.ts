import type { Stage } from '../core/types.js';
import type { Assignment } from './sweep.js';

/**
 * The stages a sweep cannot change: no experiment sets a param they track,
 * and nothing upstream of them is changed. They are the same in every
 * experiment, so `exp run` runs them once, before the experiments fork; the
 * others run in each experiment (or come from the run-cache when two
 * experiments give a stage the same inputs).
 *
 *   ingest ─► preprocess ─► train(train.*) ─► evaluate
 *   -S train.C=...  →  shared: ingest, preprocess
 */
export function sharedStages(stages: readonly Stage[], experiments: readonly (readonly Assignment[])[]): string[] {
  const swept = experiments.flat();
  const affected = new Set<string>();
  const tracksSwept = (s: Stage) =>
    s.params.some((p) =>
      swept.some((a) => {
        if (a.file !== p.path && a.file !== p.defPath) return false;
        if (p.keys === null || p.keys.length === 0) return true;
        return p.keys.some((k) => k === a.key || a.key.startsWith(`${k}.`) || k.startsWith(`${a.key}.`));
      }),
    );
  const within = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
  let changed = true;
  while (changed) {
    changed = false;
    for (const s of stages) {
      if (affected.has(s.name)) continue;
      const upstream = stages.some((u) => affected.has(u.name) && u.outs.some((o) => s.deps.some((d) => within(d.path, o.path))));
      if (tracksSwept(s) || upstream) {
        affected.add(s.name);
        changed = true;
      }
    }
  }
  return stages.filter((s) => !affected.has(s.name)).map((s) => s.name);
}
