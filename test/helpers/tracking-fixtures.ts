import type { LockStage, OutKind, Stage } from '../../src/core/types.js';
import { fileStage } from './stages.js';

/** A stage as the parser would give it, for tracking tests: deps, outs of a kind, params. */
export function trackedStage(
  name: string,
  deps: string[],
  outs: [string, OutKind][],
  params: Stage['params'] = [],
  cmd = `python3 stages/${name}.py`,
): Stage {
  return fileStage(name, deps, outs, { cmd, params, source: { file: 'dvc.yaml' } });
}

/** Its dvc.lock entry, with the md5s given (`x` for the others). */
export function lockOf(s: Stage, md5: Record<string, string>): LockStage {
  return {
    cmd: s.cmd,
    deps: s.deps.map((d) => ({ path: d.defPath, hash: 'md5', md5: md5[d.path] ?? 'x', size: 1 })),
    params: new Map(),
    outs: s.outs.map((o) => ({ path: o.defPath, hash: 'md5', md5: md5[o.path] ?? 'x', size: 1 })),
  };
}
