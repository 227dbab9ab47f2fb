import { createHash } from 'node:crypto';
import type { LockStage } from '../core/types.js';
import { parseLockStage } from '../lock/lockfile.js';
import { runCacheKey, runCacheValue } from '../lock/run-cache.js';
import { expectedMd5, objectKey, oidProblem, parseRunKey } from './layout.js';
import { checkListing, type ListingRow } from './objects.js';
import type { CacheStore, RemoteStore } from '../core/ports.js';
import type { TrackedOut } from './tracked.js';

/**
 * Reading what the cache or a remote says about other objects: directory
 * listings and run-cache entries. Neither is trusted: a remote (or a
 * shared cache) may be hostile, and what these objects name decides which
 * paths are read and written. Each is checked against its name (the md5 of
 * its bytes, the run-cache key and value) and for every md5 and path it
 * names, before anything uses it.
 */

/** Listings of directory outputs by oid; undefined where unknown (absent, or refused). */
export type Listings = Map<string, ListingRow[] | undefined>;

/**
 * One listing read: its rows; or absent; or refused, with why: `corrupt`
 * when its bytes do not match its name (damage, or a truncated transfer),
 * else it matches its name and is still not a listing DVC writes.
 */
export type ListingRead = { rows: ListingRow[]; bytes: Uint8Array } | { absent: true } | { problem: string; corrupt: boolean };

function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

/** Checks a listing's bytes against its oid, then its rows (see checkListing). */
export function checkListingBytes(oid: string, bytes: Uint8Array | null): ListingRead {
  if (bytes === null) return { absent: true };
  const md5 = md5Hex(bytes);
  if (md5 !== expectedMd5(oid)) return { problem: `its content does not match its name (its md5 is ${md5})`, corrupt: true };
  const checked = checkListing(bytes);
  return 'rows' in checked ? { rows: checked.rows, bytes } : { problem: checked.problem, corrupt: false };
}

/** The listings of `oids` in the cache, and why those that are there but refused are. */
export async function cachedListings(cache: CacheStore, oids: readonly string[]): Promise<{ listings: Listings; refused: Map<string, string> }> {
  const listings: Listings = new Map();
  const refused = new Map<string, string>();
  for (const oid of oids) {
    const got = checkListingBytes(oid, await cache.read(objectKey(oid)));
    listings.set(oid, 'rows' in got ? got.rows : undefined);
    if ('problem' in got) refused.set(oid, got.problem);
  }
  return { listings, refused };
}

/** A listing read from the remote, checked. */
export async function remoteListing(remote: RemoteStore, oid: string, signal?: AbortSignal): Promise<ListingRead> {
  return checkListingBytes(oid, await remote.read(objectKey(oid), signal ? { signal } : {}));
}

/** The listing of `oid` from the cache, else from the remote (checked, not cached). */
export async function readListingAnywhere(cache: CacheStore, remote: RemoteStore | undefined, oid: string): Promise<ListingRow[] | undefined> {
  const local = (await cachedListings(cache, [oid])).listings.get(oid);
  if (local || !remote) return local;
  const got = await remoteListing(remote, oid);
  return 'rows' in got ? got.rows : undefined;
}

/** Why a run-cache entry's outputs cannot be used (an md5 that names no object), or undefined. */
function runEntryOidProblem(entry: LockStage): string | undefined {
  for (const o of entry.outs) {
    const problem = o.md5 === '' ? undefined : oidProblem(o.md5);
    if (problem !== undefined) return `output '${o.path}': ${problem}`;
  }
  return undefined;
}

/**
 * Why a run-cache entry is refused, or undefined when it is sound: it must
 * be named by the hashes of its own content (key and value), and every md5
 * it records must be an oid.
 */
export function runEntryProblem(key: string, bytes: Uint8Array): string | undefined {
  const parsed = parseRunKey(key);
  if (!parsed) return 'not a run-cache key';
  let entry: LockStage;
  try {
    entry = parseLockStage(new TextDecoder('utf-8', { fatal: true }).decode(bytes), key);
  } catch (e) {
    return `not a run-cache entry (${e instanceof Error ? e.message : String(e)})`;
  }
  if (runCacheValue(entry) !== parsed.value || runCacheKey(entry) !== parsed.key) return 'its content does not match its name';
  return runEntryOidProblem(entry);
}

/** A run-cache entry is named by hashes of its own content: check both (and the md5s it records). */
export function verifyRunEntry(key: string, bytes: Uint8Array): boolean {
  return runEntryProblem(key, bytes) === undefined;
}

/**
 * The outputs recorded by run-cache entries, for `--run-cache`: they go with
 * the entries (as DVC's `push/fetch --run-cache` do), but an entry whose
 * objects are gone is no error. Entries that do not parse, or that record an
 * md5 naming no object, name no outputs.
 */
export function runCacheOuts(entries: readonly { key: string; text: string }[]): TrackedOut[] {
  const outs: TrackedOut[] = [];
  for (const e of entries) {
    let stage: LockStage;
    try {
      stage = parseLockStage(e.text, e.key);
    } catch {
      // an entry that does not parse names nothing to move (push and fetch refuse the entry itself)
      continue;
    }
    if (runEntryOidProblem(stage) !== undefined) continue;
    for (const o of stage.outs) if (o.md5 !== '') outs.push({ path: o.path, oid: o.md5, owner: e.key, push: true, optional: true });
  }
  return outs;
}
