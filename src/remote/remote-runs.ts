import { ReprodError } from '../core/errors.js';
import type { RemoteStore } from '../core/ports.js';
import type { LockStage } from '../core/types.js';
import { parseLockStage } from '../lock/lockfile.js';
import { objectKey, parseRunKey, runDirKey } from './layout.js';
import { verifyRunEntry } from './data-sync.js';

/**
 * A remote's run-cache entries for one key, as `dvc push --run-cache` lays
 * them out (`runs/<key[0:2]>/<key>/<value>`), read straight from the remote:
 * a task with no cache of its own asks the remote what these inputs gave.
 *
 * An entry whose bytes do not hash to its own key and value is corrupt, and
 * an error (never skipped as if absent: that would rerun a stage, or worse,
 * restore from a neighbour's entry). Entries come in the order of their
 * values, so that every task that reads one key picks the same entry.
 */
export async function remoteRunEntries(remote: RemoteStore, key: string, signal?: AbortSignal): Promise<LockStage[]> {
  const found: string[] = [];
  for await (const k of remote.list(`${runDirKey(key)}/`, signal ? { signal } : {})) {
    if (parseRunKey(k)?.key === key) found.push(k);
  }
  found.sort();
  const out: LockStage[] = [];
  for (const k of found) {
    const bytes = await remote.read(k, signal ? { signal } : {});
    if (bytes === null) continue; // removed between the listing and the read: as if never listed
    if (!verifyRunEntry(k, bytes)) {
      throw new ReprodError('REMOTE', `${remote.display}: run-cache entry '${k}' does not match its name (corrupt)`, {
        remedy: 'Delete that object from the remote; the stage then runs again and records a new entry.',
      });
    }
    out.push(parseLockStage(new TextDecoder('utf-8').decode(bytes), `${remote.display}/${k}`));
  }
  return out;
}

/** The first entry whose output objects are all on the remote (a listing stands for its directory, as push guarantees). */
export async function completeRemoteEntry(remote: RemoteStore, entries: readonly LockStage[], jobs: number): Promise<LockStage | undefined> {
  for (const entry of entries) {
    const keys = entry.outs.map((o) => objectKey(o.md5));
    const present = await remote.existing(keys, { jobs });
    if (keys.every((k) => present.has(k))) return entry;
  }
  return undefined;
}
