import type { Hasher, ObjectCache } from '../core/ports.js';
import type { LockStage, Stage } from '../core/types.js';
import { parseLockStage } from '../lock/lockfile.js';
import { runCacheEntryYaml, runCacheKey, runCacheSkipReason, runCacheValue } from '../lock/run-cache.js';

interface RunCacheDeps {
  hasher: Hasher;
  cache: ObjectCache;
}

/** Whether DVC would use the run-cache for this stage with these inputs (see {@link runCacheSkipReason}). */
export function canUseRunCache(stage: Stage, inputs: LockStage): boolean {
  return runCacheSkipReason(stage, inputs) === undefined;
}

/** Same command, deps and params (the run-cache key ignores out hashes). */
function sameInputs(a: LockStage, b: LockStage): boolean {
  return runCacheKey({ ...a, outs: b.outs }) === runCacheKey(b);
}

/**
 * Restores a stage's outputs instead of running it, as `dvc repro` does: from
 * its own dvc.lock entry when only outputs changed, else from the newest
 * run-cache entry recorded for exactly these inputs. Returns the entry to lock,
 * or undefined when the outputs are not all in the cache (then the stage runs).
 */
export async function restoreFromRunCache(
  d: RunCacheDeps,
  stage: Stage,
  inputs: LockStage,
  locked: LockStage | undefined,
): Promise<LockStage | undefined> {
  if (!canUseRunCache(stage, inputs)) return undefined;
  const candidates: LockStage[] = [];
  const outsComplete = (e: LockStage) => stage.outs.every((o) => e.outs.some((x) => x.path === o.defPath));
  if (locked && outsComplete(locked) && sameInputs(inputs, locked)) candidates.push(locked);
  const key = runCacheKey({ ...inputs, outs: stage.outs.map((o) => ({ path: o.defPath })) });
  for (const text of await d.cache.runCacheEntries(key)) {
    candidates.push(parseLockStage(text, 'run-cache entry'));
  }
  for (const candidate of candidates) {
    if (!outsComplete(candidate) || !sameInputs(inputs, candidate)) continue;
    let cached = true;
    for (const out of candidate.outs) if (!(await d.cache.has(out.md5))) cached = false;
    if (!cached) continue;
    for (const out of stage.outs) {
      const entry = candidate.outs.find((x) => x.path === out.defPath);
      if (!entry) continue;
      const now = await d.hasher.hash(out.path);
      if (now?.info.md5 !== entry.md5) await d.cache.checkout(out.path, entry.md5);
    }
    return { ...inputs, outs: candidate.outs };
  }
  return undefined;
}

/** Records a finished run so that the same inputs can later be restored without running. */
export async function saveToRunCache(d: RunCacheDeps, stage: Stage, entry: LockStage): Promise<void> {
  if (!canUseRunCache(stage, entry)) return;
  await d.cache.writeRunCacheEntry(runCacheKey(entry), runCacheValue(entry), runCacheEntryYaml(entry));
}
