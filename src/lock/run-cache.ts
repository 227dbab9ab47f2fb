import { createHash } from '../core/crypto.js';
import { isPyDict, type PyDict, type PyValue } from '../core/pyvalue.js';
import type { LockFileEntry, LockStage, Stage } from '../core/types.js';
import { lockStageData } from './lockfile.js';
import { pyJsonDumpsSorted } from './py-json.js';
import { emitYaml } from './yaml-emit.js';

/**
 * DVC's run-cache: after a stage runs, DVC stores its lock entry at
 * `.dvc/cache/runs/<key[0:2]>/<key>/<value>` so that a later run with the same
 * command and inputs can restore the outputs instead of running.
 *
 * - key: sha256 of the entry with each out reduced to its path — what the run
 *   depends on (command, deps, params, which outs);
 * - value: sha256 of the full entry — what the run produced;
 * - both hash Python's `json.dumps(entry, sort_keys=True)` after dropping every
 *   `size` and `nfiles` key at any depth (params values included: DVC filters
 *   the whole tree);
 * - the file holds the entry as YAML, written the way dvc.lock is.
 */

/** Keys DVC leaves out of both hashes, wherever they occur. */
const EXCLUDED_KEYS = new Set(['size', 'nfiles']);

/** What the key needs: the entry, with outs known at least by path. */
export type RunCacheKeyInput = Pick<LockStage, 'cmd' | 'deps' | 'params'> & { outs: readonly Pick<LockFileEntry, 'path'>[] };

function withoutExcluded(v: PyValue): PyValue {
  if (Array.isArray(v)) return v.map(withoutExcluded);
  if (isPyDict(v)) {
    const out: PyDict = new Map();
    for (const [k, x] of v) if (!EXCLUDED_KEYS.has(k)) out.set(k, withoutExcluded(x));
    return out;
  }
  return v;
}

function sha256Of(entry: PyDict): string {
  return createHash('sha256').update(pyJsonDumpsSorted(withoutExcluded(entry)), 'utf8').digest('hex');
}

/** sha256 naming the inputs of a run: the entry with outs replaced by their paths. */
export function runCacheKey(entry: RunCacheKeyInput): string {
  // Outs need no hashes here; give lockStageData placeholders it will not keep.
  const data = lockStageData({
    cmd: entry.cmd,
    deps: entry.deps,
    params: entry.params,
    outs: entry.outs.map((o) => ({ path: o.path, md5: '' })),
  });
  const outs = data.get('outs');
  data.set('outs', Array.isArray(outs) ? outs.map((o) => (isPyDict(o) ? (o.get('path') ?? null) : o)) : []);
  return sha256Of(data);
}

/** sha256 naming the result of a run: the whole entry. */
export function runCacheValue(entry: LockStage): string {
  return sha256Of(lockStageData(entry));
}

/** The run-cache file's content: the stage's lock entry as a YAML document. */
export function runCacheEntryYaml(entry: LockStage): string {
  return emitYaml(lockStageData(entry));
}

/** `runs/<key[0:2]>/<key>/<value>`, relative to the cache directory (`.dvc/cache`). */
export function runCachePath(entry: LockStage): string {
  const key = runCacheKey(entry);
  return `runs/${key.slice(0, 2)}/${key}/${runCacheValue(entry)}`;
}

/**
 * Why DVC would not record this run in its run-cache, or undefined when it
 * would. DVC records a run only when the stage has a command, at least one dep
 * (a params file counts) and at least one out, is not `always_changed`, every
 * dep has a hash (a params dep with no values has none), no out is `persist`,
 * and no plain out (metrics and plots aside) has `cache: false`. Outs outside
 * the workspace or on remotes also prevent it; reprod rejects those earlier.
 */
export function runCacheSkipReason(stage: Stage, entry: LockStage): string | undefined {
  const hasCmd = Array.isArray(stage.cmd) ? stage.cmd.length > 0 : stage.cmd !== '';
  if (!hasCmd) return 'the stage has no command';
  if (stage.alwaysChanged) return 'the stage is always_changed';
  if (stage.deps.length === 0 && stage.params.length === 0) return 'the stage has no dependencies';
  if (stage.outs.length === 0) return 'the stage has no outputs';
  if (entry.deps.some((d) => d.md5 === '')) return 'a dependency has no hash';
  for (const p of stage.params) {
    const values = entry.params.get(p.defPath);
    if (!values || values.size === 0) return `params file '${p.defPath}' has no values`;
  }
  const persisted = stage.outs.find((o) => o.persist);
  if (persisted) return `output '${persisted.defPath}' is persist`;
  const uncached = stage.outs.find((o) => o.kind === 'out' && !o.cache);
  if (uncached) return `output '${uncached.defPath}' has cache: false`;
  return undefined;
}
