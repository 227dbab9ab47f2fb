import { pathEscapeError, ReprodError } from '../core/errors.js';
import type { Hasher, HashResult, ObjectCache, Workspace } from '../core/ports.js';
import type { Failure } from './data-sync.js';
import type { Listings } from './listings.js';
import { isDirOid, objectKey } from './layout.js';
import type { CacheStore } from '../core/ports.js';
import type { TrackedOut } from './tracked.js';

export interface CheckoutDeps {
  hasher: Hasher;
  cache: ObjectCache;
  store: CacheStore;
  ws: Pick<Workspace, 'escapeOf'>;
}

export interface CheckoutResult {
  /** Paths restored where nothing was (`A`), and paths replaced (`M`); directories end in `/`. */
  added: string[];
  modified: string[];
  failed: Failure[];
}

/** One change checkout will make, decided before any is made. */
type Step =
  | { kind: 'out'; out: TrackedOut; label: string; existed: boolean }
  | { kind: 'file'; path: string; key: string; existed: boolean };

const UNSAVED = 'not checked out: it has changes that are not in the cache (use --force to overwrite them)';

/**
 * `reprod checkout`, and the checkout half of `pull`: makes each output's
 * workspace path hold its recorded content. A path that already matches is
 * left alone; one whose object is not (entirely) in the cache is reported
 * as failed, and the others are still restored (DVC's CheckoutError).
 *
 * Two phases, as DVC's `checkout` (dvc/repo/checkout.py): first everything
 * is decided, reading only; then the changes are made. Deciding refuses,
 * before anything is written:
 *
 *   - a listing or md5 that is not one DVC writes (OBJECT_INVALID, from the cache);
 *   - a path under a symlinked folder that leads out of the workspace (PATH_OUTSIDE);
 *   - without `force`, any file that checkout would overwrite or delete while
 *     its content is not in the cache (CHECKOUT_UNSAVED, naming every such
 *     path): DVC's "Can't remove the following unsaved files without
 *     confirmation. Use `--force` to force." Nothing is changed then; the
 *     work is kept.
 *
 * A granular target (a path inside a directory) restores just the files under it.
 */
export async function checkoutTracked(d: CheckoutDeps, outs: readonly TrackedOut[], listings: Listings, opts: { force?: boolean } = {}): Promise<CheckoutResult> {
  const force = opts.force === true;
  const result: CheckoutResult = { added: [], modified: [], failed: [] };
  const steps: Step[] = [];
  const unsaved: string[] = [];
  const done = new Set<string>();
  for (const o of outs) {
    if (o.optional) continue;
    const id = `${o.path}\0${o.only ?? ''}`;
    if (done.has(id)) continue;
    done.add(id);
    const esc = await d.ws.escapeOf(o.path);
    if (esc) throw pathEscapeError(esc, { subject: `output of '${o.owner}'` });
    if (o.only !== undefined) {
      await planPart(d, o, listings, { steps, unsaved, failed: result.failed }, force);
      continue;
    }
    const actual = await d.hasher.hash(o.path);
    if (actual?.info.md5 === o.oid) continue;
    if (!(await d.cache.has(o.oid))) {
      result.failed.push({ name: o.path, key: objectKey(o.oid), reason: 'not checked out: not (entirely) in the cache' });
      continue;
    }
    if (actual && !force) unsaved.push(...(await unsavedPaths(d.store, o.path, actual)));
    steps.push({ kind: 'out', out: o, label: isDirOid(o.oid) ? `${o.path}/` : o.path, existed: actual !== null });
  }
  if (unsaved.length > 0) throw unsavedError(unsaved);

  for (const s of steps) {
    if (s.kind === 'out') await d.cache.checkout(s.out.path, s.out.oid);
    else await d.store.copyOut(s.key, s.path);
    (s.existed ? result.modified : result.added).push(s.kind === 'out' ? s.label : s.path);
  }
  return result;
}

/** The workspace files under `path` whose content the cache lacks: what replacing `actual` would lose. */
async function unsavedPaths(store: CacheStore, path: string, actual: HashResult): Promise<string[]> {
  const files = actual.entries ? actual.entries.map((e) => ({ path: `${path}/${e.relpath}`, key: objectKey(e.md5) })) : [{ path, key: objectKey(actual.info.md5) }];
  const present = await store.sizes(files.map((f) => f.key));
  return files.filter((f) => !present.has(f.key)).map((f) => f.path);
}

function unsavedError(paths: readonly string[]): ReprodError {
  const SHOWN = 20;
  const lines = paths.slice(0, SHOWN).map((p) => `  ${p}: ${UNSAVED}`);
  if (paths.length > SHOWN) lines.push(`  … and ${paths.length - SHOWN} more`);
  const n = paths.length;
  return new ReprodError(
    'CHECKOUT_UNSAVED',
    `nothing was checked out: it would overwrite or delete ${n} file${n === 1 ? '' : 's'} whose content is not in the cache, kept as they are:\n${lines.join('\n')}`,
  );
}

async function planPart(
  d: CheckoutDeps,
  o: TrackedOut,
  listings: Listings,
  into: { steps: Step[]; unsaved: string[]; failed: Failure[] },
  force: boolean,
): Promise<void> {
  const only = o.only as string;
  const rows = (listings.get(o.oid) ?? []).filter((r) => r.relpath === only || r.relpath.startsWith(`${only}/`));
  if (rows.length === 0) {
    into.failed.push({ name: `${o.path}/${only}`, key: objectKey(o.oid), reason: 'not checked out: not in the listing of its directory' });
    return;
  }
  for (const row of rows) {
    const path = `${o.path}/${row.relpath}`;
    const esc = await d.ws.escapeOf(path);
    if (esc) throw pathEscapeError(esc, { subject: `output of '${o.owner}'` });
    const actual = await d.hasher.hash(path);
    if (actual?.info.md5 === row.md5) continue;
    const key = objectKey(row.md5);
    const present = await d.store.sizes([key]);
    if (!present.has(key)) {
      into.failed.push({ name: path, key, reason: 'not checked out: not in the cache' });
      continue;
    }
    if (actual && !force) into.unsaved.push(...(await unsavedPaths(d.store, path, actual)));
    into.steps.push({ kind: 'file', path, key, existed: actual !== null });
  }
}
