import type { ObjectRef } from './objects.js';

/**
 * `dvc status -c` for one object: `new` (in the cache, not on the remote),
 * `deleted` (on the remote, not in the cache) or `missing` (in neither).
 * Objects in both are in sync and not reported.
 */
export type CloudState = 'new' | 'deleted' | 'missing';

/**
 * Name → state, in DVC's order (every `deleted`, then `new`, then `missing`;
 * within a state, in the order of `refs`). This is the object `dvc status -c
 * --json` prints.
 */
export function cloudStatus(refs: readonly ObjectRef[], inCache: ReadonlySet<string>, onRemote: ReadonlySet<string>): Map<string, CloudState> {
  const by: Record<CloudState, string[]> = { deleted: [], new: [], missing: [] };
  for (const r of refs) {
    const local = inCache.has(r.key);
    const remote = onRemote.has(r.key);
    if (local && remote) continue;
    if (r.optional && !local) continue;
    by[local ? 'new' : remote ? 'deleted' : 'missing'].push(r.name);
  }
  const out = new Map<string, CloudState>();
  for (const state of ['deleted', 'new', 'missing'] as const) for (const name of by[state]) if (!out.has(name)) out.set(name, state);
  return out;
}

/** The text `dvc status -c` prints: a tab, the state padded to 20 columns, the name. */
export function formatCloudStatus(status: ReadonlyMap<string, CloudState>, remoteName: string): string {
  if (status.size === 0) return `Cache and remote '${remoteName}' are in sync.\n`;
  return [...status].map(([name, state]) => `\t${`${state}:`.padEnd(20)}${name}\n`).join('');
}
