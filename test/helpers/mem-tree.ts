import type { RevTree } from '../../src/metrics/rev-tree.js';

/** A revision's files held in memory, for the pure metrics and plots modules. */
export function memTree(files: Record<string, string>, rev = 'workspace'): RevTree {
  const enc = new TextEncoder();
  const paths = Object.keys(files).sort();
  const isDir = (p: string) => p === '.' || paths.some((f) => f.startsWith(`${p}/`));
  return {
    rev,
    read: (p) => (p in files ? enc.encode(files[p]) : undefined),
    isDir,
    find: (dir) => (isDir(dir) ? paths.filter((f) => dir === '.' || f.startsWith(`${dir}/`)) : []),
  };
}
