import { statSync } from 'node:fs';
import path from 'node:path';

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
export { resolveTarget, resolveTargets } from '../pipeline/stage-address.js';
