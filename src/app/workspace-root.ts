import { statSync } from 'node:fs';
import path from 'node:path';
import type { ChangeReason, Stage } from '../core/types.js';
import { addressFrom, pathFrom } from '../pipeline/stage-address.js';

/**
 * Where a command started in `dir` works, as DVC finds its repository: the
 * nearest folder at or above `dir` holding a `.dvc` folder, and `dir` as a
 * path relative to it (`.` when they are the same, `/`-separated). Without
 * a `.dvc` folder above, `dir` itself is the workspace.
 */
export function findWorkspaceRoot(dir: string): { root: string; cwd: string } {
  const start = path.resolve(dir);
  for (let at = start; ; at = path.dirname(at)) {
    if (isFolder(path.join(at, '.dvc'))) {
      const rel = path.relative(at, start).split(path.sep).join('/');
      return { root: at, cwd: rel === '' ? '.' : rel };
    }
    if (path.dirname(at) === at) return { root: start, cwd: '.' };
  }
}

function isFolder(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Targets given in a folder of the workspace, as the pipeline names them (see stage-address.ts). */
export { addressFrom, pathFrom, resolveTarget, resolveTargets } from '../pipeline/stage-address.js';

/**
 * Stale stages as DVC shows them in folder `cwd` (workspace-relative): stage
 * addresses and the paths of their reasons relative to it. From the root,
 * the same objects.
 */
export function staleFromFolder<T extends { stage: Stage; reasons: ChangeReason[] }>(stale: readonly T[], cwd: string): T[] {
  if (cwd === '.') return [...stale];
  return stale.map((s) => ({ ...s, stage: { ...s.stage, name: addressFrom(s.stage.name, cwd) }, reasons: s.reasons.map((r) => reasonFromFolder(r, cwd)) }));
}

/** A reason's paths (a dep's or out's path, a params file) as seen from folder `cwd`. */
function reasonFromFolder(r: ChangeReason, cwd: string): ChangeReason {
  return r.kind === 'dep' || r.kind === 'out' ? { ...r, path: pathFrom(r.path, cwd) } : r.kind === 'param' ? { ...r, file: pathFrom(r.file, cwd) } : r;
}

/**
 * A data source (`.dvc` file) as DVC shows it in folder `cwd`: its file and
 * the paths of its reasons relative to it. From the root, the same object.
 */
export function sourceFromFolder<T extends { file: string; reasons?: ChangeReason[] }>(source: T, cwd: string): T {
  if (cwd === '.') return source;
  return { ...source, file: pathFrom(source.file, cwd), ...(source.reasons ? { reasons: source.reasons.map((r) => reasonFromFolder(r, cwd)) } : {}) };
}
