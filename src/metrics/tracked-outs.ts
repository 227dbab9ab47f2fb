import type { Pipeline } from '../core/types.js';
import { parseLockfile } from '../lock/lockfile.js';
import { parseDvcFile } from '../pipeline/dvc-file.js';
import { joinWsPath, wsDirname } from '../pipeline/paths.js';

/** A workspace path DVC tracks, and the cache object (`md5`, or `<md5>.dir` for a directory) that holds it. */
export interface TrackedOut {
  path: string;
  md5: string;
}

/**
 * The outputs each dvc.yaml's dvc.lock records, at workspace paths: what
 * DVC's file system reads from the cache when git (or the disk) lacks the
 * file, as it does for every cached output, which git ignores.
 */
export function lockedOutputs(pipelines: readonly Pipeline[], readLock: (file: string) => string | undefined): TrackedOut[] {
  const out: TrackedOut[] = [];
  for (const p of pipelines) {
    const file = joinWsPath(wsDirname(p.file), 'dvc.lock') ?? 'dvc.lock';
    const text = readLock(file);
    if (text === undefined || text.trim() === '') continue;
    const lock = parseLockfile(text, file);
    for (const stage of p.stages) {
      const entry = lock.stages.get(stage.name);
      if (!entry) continue;
      for (const o of stage.outs) {
        const locked = entry.outs.find((l) => l.path === o.defPath);
        if (locked) out.push({ path: o.path, md5: locked.md5 });
      }
    }
  }
  return out;
}

/**
 * The outputs the `.dvc` files of a revision record (what `dvc add` tracks,
 * which git ignores): read from the cache as the pipelines' outputs are.
 * DVC 2 entries (another cache layout) and `cache: false` outputs are not.
 */
export function dvcFileOutputs(files: readonly { file: string; text: string }[]): TrackedOut[] {
  return files.flatMap(({ file, text }) =>
    parseDvcFile(text, file).outs.flatMap((o) => (o.md5 !== undefined && o.cache && !o.legacy ? [{ path: o.path, md5: o.md5 }] : [])),
  );
}
