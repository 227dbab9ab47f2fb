import type { PyDict } from '../core/pyvalue.js';
import type { HashProgress, HashResult, Hasher, ObjectCache, Workspace } from '../core/ports.js';
import type { HashInfo, LockStage, Stage } from '../core/types.js';
import { parseParamsText } from '../pipeline/params-file.js';
import type { StageObservation } from '../pipeline/stage-status.js';

export interface Observed extends StageObservation {
  /** Full hash results (directory listings included) for deps and outs. */
  results: ReadonlyMap<string, HashResult | null>;
}

export interface ObserveDeps {
  ws: Workspace;
  hasher: Hasher;
  cache: ObjectCache;
}

/**
 * Reads the actual state of one stage from disk: hashes of its deps and outs,
 * its params files, and whether its locked outputs are in the cache.
 * Never trusts anything but the files (level-triggered).
 */
export async function observeStage(d: ObserveDeps, stage: Stage, lock: LockStage | undefined, progress?: HashProgress): Promise<Observed> {
  const paths = [...new Set([...stage.deps.map((x) => x.path), ...stage.outs.map((x) => x.path)])];
  const hashed = await Promise.all(paths.map(async (p) => [p, await d.hasher.hash(p, progress)] as const));
  const results = new Map<string, HashResult | null>(hashed);
  const hashes = new Map<string, HashInfo | null>(hashed.map(([p, r]) => [p, r ? r.info : null]));

  const params = new Map<string, PyDict | null>();
  for (const p of stage.params) {
    if (params.has(p.path)) continue;
    const text = await d.ws.readText(p.path);
    params.set(p.path, text === undefined ? null : parseParamsText(text, p.path));
  }

  const present = new Set<string>();
  for (const out of lock?.outs ?? []) {
    if (await d.cache.has(out.md5)) present.add(out.md5);
  }
  return { results, hashes, params, inCache: (md5) => present.has(md5) };
}
