import type { Hasher, ObjectCache } from '../core/ports.js';
import type { Failure, Listings } from './data-sync.js';
import { isDirOid, objectKey } from './layout.js';
import type { CacheStore } from '../core/ports.js';
import type { TrackedOut } from './tracked.js';

export interface CheckoutDeps {
  hasher: Hasher;
  cache: ObjectCache;
  store: CacheStore;
}

export interface CheckoutResult {
  /** Paths restored where nothing was (`A`), and paths replaced (`M`); directories end in `/`. */
  added: string[];
  modified: string[];
  failed: Failure[];
}

/**
 * The checkout half of `pull`: makes each output's workspace path hold its
 * recorded content. A path that already matches is left alone. A path whose
 * current content is not in the cache is never overwritten without `force`
 * (its changes would be lost), as DVC refuses too. A granular target
 * (a path inside a directory) restores just the files under it.
 */
export async function checkoutTracked(d: CheckoutDeps, outs: readonly TrackedOut[], listings: Listings, opts: { force?: boolean } = {}): Promise<CheckoutResult> {
  const result: CheckoutResult = { added: [], modified: [], failed: [] };
  const done = new Set<string>();
  for (const o of outs) {
    if (o.optional) continue;
    const id = `${o.path}\0${o.only ?? ''}`;
    if (done.has(id)) continue;
    done.add(id);
    const label = isDirOid(o.oid) ? `${o.path}/` : o.path;
    if (o.only !== undefined) {
      await checkoutPart(d, o, listings, result, opts.force === true);
      continue;
    }
    const actual = await d.hasher.hash(o.path);
    if (actual?.info.md5 === o.oid) continue;
    if (!(await d.cache.has(o.oid))) {
      result.failed.push({ name: o.path, key: objectKey(o.oid), reason: 'not checked out: not (entirely) in the cache' });
      continue;
    }
    if (actual && !opts.force) {
      const keys = actual.entries ? actual.entries.map((e) => objectKey(e.md5)) : [objectKey(actual.info.md5)];
      const present = await d.store.sizes(keys);
      if (keys.some((k) => !present.has(k))) {
        result.failed.push({ name: o.path, key: objectKey(o.oid), reason: 'not checked out: it has changes that are not in the cache (use --force to overwrite them)' });
        continue;
      }
    }
    await d.cache.checkout(o.path, o.oid);
    (actual ? result.modified : result.added).push(label);
  }
  return result;
}

async function checkoutPart(d: CheckoutDeps, o: TrackedOut, listings: Listings, result: CheckoutResult, force: boolean): Promise<void> {
  const only = o.only as string;
  const rows = (listings.get(o.oid) ?? []).filter((r) => r.relpath === only || r.relpath.startsWith(`${only}/`));
  if (rows.length === 0) {
    result.failed.push({ name: `${o.path}/${only}`, key: objectKey(o.oid), reason: 'not checked out: not in the listing of its directory' });
    return;
  }
  for (const row of rows) {
    const path = `${o.path}/${row.relpath}`;
    const actual = await d.hasher.hash(path);
    if (actual?.info.md5 === row.md5) continue;
    const key = objectKey(row.md5);
    const present = await d.store.sizes(actual && !actual.entries ? [key, objectKey(actual.info.md5)] : [key]);
    if (!present.has(key)) {
      result.failed.push({ name: path, key, reason: 'not checked out: not in the cache' });
      continue;
    }
    if (actual && !force && (actual.entries || !present.has(objectKey(actual.info.md5)))) {
      result.failed.push({ name: path, key, reason: 'not checked out: it has changes that are not in the cache (use --force to overwrite them)' });
      continue;
    }
    await d.store.copyOut(key, path);
    (actual ? result.modified : result.added).push(path);
  }
}
