import { ReprodError } from '../core/errors.js';
import { cloudStatus, type CloudState } from './cloud-status.js';
import { gcPlan } from './gc-plan.js';
import { expectedMd5, isDirOid, objectKey, OBJECTS_PREFIX, parseRunKey, RUNS_PREFIX } from './layout.js';
import { cachedListings, remoteListing, runCacheOuts, runEntryProblem, type Listings } from './listings.js';
import { expandObjects, type ListingRow, type ObjectRef } from './objects.js';
import { forEachLimit } from './pool.js';
import { RemoteUnreachable, type CacheStore, type RemoteStore } from '../core/ports.js';
import type { Progress } from './progress.js';
import type { TrackedOut } from './tracked.js';

/** An object that did not move, and why. */
export interface Failure {
  /** Workspace path (or run-cache key) the object stands for. */
  name: string;
  key: string;
  reason: string;
  /** The copy on this remote (its display) is not what its name promises: fetching again gets the same bytes. */
  corrupt?: { remote: string };
}

/** The remote's copy of an object does not hash to its name. */
class CorruptObject extends Error {
  override readonly name = 'CorruptObject';
}

export interface SyncContext {
  cache: CacheStore;
  remote: RemoteStore;
  /** Transfers in flight at once. */
  jobs: number;
  progress: Progress;
  signal?: AbortSignal;
}

export interface SyncResult {
  /** Objects (and run-cache entries) moved. */
  moved: number;
  failed: Failure[];
  /** Things worth saying that are not failures (leftovers of an interrupted push cleared). */
  notes?: string[];
}

export type { Listings } from './listings.js';
export { readListingAnywhere, verifyRunEntry } from './listings.js';

/**
 * Stops the whole command: the remote refused the credentials or is unusable
 * (REMOTE_AUTH, REMOTE), or the user interrupted. Anything else concerns one object.
 */
function isFatal(e: unknown, signal: AbortSignal | undefined): boolean {
  return (e instanceof ReprodError && (e.code === 'REMOTE_AUTH' || e.code === 'REMOTE')) || signal?.aborted === true;
}

function reasonOf(e: unknown): string {
  if (e instanceof ReprodError) return e.message;
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

const NOT_ATTEMPTED = 'not attempted: the remote stopped answering';

/** Once the remote stops answering, the transfers not yet started are skipped rather than each failing slowly. */
class Halt {
  private cause: RemoteUnreachable | undefined;

  saw(e: unknown): void {
    if (e instanceof RemoteUnreachable) this.cause ??= e;
  }

  check(): void {
    if (this.cause) throw new Error(NOT_ATTEMPTED);
  }
}

/** Failures in the order worth reading: real errors first, objects never attempted last. */
function byImportance(failed: readonly Failure[]): Failure[] {
  return [...failed.filter((f) => f.reason !== NOT_ATTEMPTED), ...failed.filter((f) => f.reason === NOT_ATTEMPTED)];
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const k of it) out.push(k);
  return out;
}

function unique<T>(xs: Iterable<T>): T[] {
  return [...new Set(xs)];
}

/**
 * `push`: sends what the remote lacks of `outs` (those with `push: false`
 * stay home), and with `runCache` the run-cache entries and the objects they
 * name. Order makes an interrupted push safe to rerun: a directory's files go
 * before its listing, and a listing goes only once all its files are on the
 * remote, so a listing on the remote always means the whole directory is.
 * An object in neither the cache nor the remote is a failure; one only on
 * the remote is fine.
 */
export async function pushObjects(ctx: SyncContext, outs: readonly TrackedOut[], opts: { runCache?: boolean } = {}): Promise<SyncResult> {
  const { cache, remote, progress, signal } = ctx;
  const notes: string[] = [];
  const cleaned = await remote.cleanUp?.(signal ? { signal } : {});
  if (cleaned?.aborted) notes.push(`aborted ${cleaned.aborted} unfinished multipart upload${cleaned.aborted === 1 ? '' : 's'} an interrupted push left on ${remote.display}`);
  if (cleaned?.problem) notes.push(`could not look for unfinished uploads an interrupted push may have left on ${remote.display}: ${cleaned.problem}`);
  let selected = outs.filter((o) => o.push);
  let runKeys: string[] = [];
  const refusedRuns = new Map<string, string>();
  if (opts.runCache) {
    runKeys = (await collect(cache.list(RUNS_PREFIX))).filter((k) => parseRunKey(k) !== undefined).sort();
    const entries: { key: string; text: string }[] = [];
    for (const key of runKeys) {
      const bytes = await cache.read(key);
      if (!bytes) continue;
      // an entry a fetch would refuse is not spread to the remote either
      const problem = runEntryProblem(key, bytes);
      if (problem !== undefined) refusedRuns.set(key, problem);
      else entries.push({ key, text: new TextDecoder().decode(bytes) });
    }
    selected = [...selected, ...runCacheOuts(entries)];
  }
  const { listings, refused } = await cachedListings(cache, unique(selected.filter((o) => isDirOid(o.oid)).map((o) => o.oid)));
  const refs = expandObjects(selected, listings);
  const keys = refs.map((r) => r.key);
  const local = await cache.sizes([...keys, ...runKeys]);
  const remoteSizes = await remote.existing([...keys, ...runKeys], { jobs: ctx.jobs, ...(signal ? { signal } : {}) });
  // An object whose size differs from the cache's was cut off (a server that is not atomic died mid-upload): send it again.
  const onRemote = new Set([...remoteSizes].filter(([k, size]) => !local.has(k) || local.get(k) === size).map(([k]) => k));

  const failed: Failure[] = [];
  const failedKeys = new Set<string>();
  const fail = (f: Failure) => {
    failed.push(f);
    failedKeys.add(f.key);
  };
  for (const r of refs) {
    const problem = refused.get(r.oid);
    // a listing that is not one DVC writes is never spread to the remote
    if (problem !== undefined) fail({ name: r.name, key: r.key, reason: `not pushed: its listing in the cache is refused: ${problem}` });
    else if (!local.has(r.key) && !onRemote.has(r.key) && !r.optional) {
      fail({ name: r.name, key: r.key, reason: 'not in the cache, nor on the remote' });
    }
  }
  const toSend = refs.filter((r) => local.has(r.key) && !onRemote.has(r.key) && !refused.has(r.oid));
  const files = toSend.filter((r) => !isDirOid(r.oid));
  const dirs = toSend.filter((r) => isDirOid(r.oid));
  for (const [key, problem] of refusedRuns) fail({ name: key, key, reason: `not pushed: not an entry DVC writes: ${problem}` });
  const runs = runKeys.filter((k) => local.has(k) && !onRemote.has(k) && !refusedRuns.has(k));
  const sizeOf = (k: string) => local.get(k) ?? 0;
  progress.addTotal(toSend.length + runs.length, [...toSend.map((r) => r.key), ...runs].reduce((n, k) => n + sizeOf(k), 0));

  let moved = 0;
  const halt = new Halt();
  const send = async (name: string, key: string) => {
    let ok = false;
    try {
      halt.check();
      await remote.put(key, cache.pathOf(key), sizeOf(key), { ...(signal ? { signal } : {}), onBytes: (n) => progress.bytes(n) });
      moved++;
      ok = true;
    } catch (e) {
      if (isFatal(e, signal)) throw e;
      halt.saw(e);
      fail({ name, key, reason: reasonOf(e) });
    } finally {
      progress.objectDone(!ok);
    }
  };
  try {
    await forEachLimit(files, ctx.jobs, (r) => send(r.name, r.key), signal);
    const complete = dirs.filter((d) => {
      const rows = listings.get(d.oid) ?? [];
      const lacking = rows.filter((row) => {
        const k = objectKey(row.md5);
        return failedKeys.has(k) || (!local.has(k) && !onRemote.has(k));
      });
      if (lacking.length === 0) return true;
      fail({ name: d.name, key: d.key, reason: `not sent: ${lacking.length} of its files did not reach the remote` });
      progress.objectDone(true);
      return false;
    });
    await forEachLimit(complete, ctx.jobs, (r) => send(r.name, r.key), signal);
    await forEachLimit(runs, ctx.jobs, (k) => send(k, k), signal);
  } finally {
    progress.finish();
  }
  return { moved, failed: byImportance(failed), ...(notes.length ? { notes } : {}) };
}

export interface FetchResult extends SyncResult {
  /** Listings of the directory outputs now in the cache (for checkout). */
  listings: Listings;
}

/**
 * `fetch`: brings into the cache what it lacks of `outs` (and with
 * `runCache`, the remote's run-cache entries and the objects they name).
 * Listings come first, since they say which files a directory needs. Every
 * object is verified before it enters the cache (its md5 must be its name;
 * a listing must also read as one): a corrupt object is reported and left
 * out. Downloads land in temporary files renamed into place, so an
 * interrupted fetch leaves no partial object and a rerun picks up the rest.
 */
export async function fetchObjects(
  ctx: SyncContext,
  outs: readonly TrackedOut[],
  opts: { runCache?: boolean; /** With `runCache`: also the objects the entries name (default true). */ runCacheObjects?: boolean } = {},
): Promise<FetchResult> {
  const { cache, remote, progress, signal } = ctx;
  const sig = signal ? { signal } : {};
  const failed: Failure[] = [];
  let moved = 0;
  const halt = new Halt();
  const guard = async (name: string, key: string, fn: () => Promise<void>) => {
    let ok = false;
    try {
      halt.check();
      await fn();
      ok = true;
    } catch (e) {
      if (isFatal(e, signal)) throw e;
      halt.saw(e);
      failed.push({ name, key, reason: reasonOf(e), ...(e instanceof CorruptObject ? { corrupt: { remote: remote.display } } : {}) });
    } finally {
      progress.objectDone(!ok);
    }
  };
  let selected = [...outs];

  try {
    if (opts.runCache) {
      const remoteRuns = (await collect(remote.list(RUNS_PREFIX, sig))).filter((k) => parseRunKey(k) !== undefined).sort();
      const have = await cache.sizes(remoteRuns);
      const missing = remoteRuns.filter((k) => !have.has(k));
      progress.addTotal(missing.length);
      await forEachLimit(
        missing,
        ctx.jobs,
        (key) =>
          guard(key, key, async () => {
            const bytes = await remote.read(key, sig);
            if (bytes === null) throw new Error('gone from the remote while fetching');
            const problem = runEntryProblem(key, bytes);
            if (problem !== undefined) throw new Error(`refused: the entry on the remote is not one DVC writes: ${problem}`);
            progress.bytes(bytes.length);
            await cache.write(key, bytes);
            moved++;
          }),
        signal,
      );
      if (opts.runCacheObjects !== false) {
        const entries: { key: string; text: string }[] = [];
        for (const key of remoteRuns) {
          const bytes = await cache.read(key);
          if (bytes) entries.push({ key, text: new TextDecoder().decode(bytes) });
        }
        selected = [...selected, ...runCacheOuts(entries)];
      }
    }

    const dirOids = unique(selected.filter((o) => isDirOid(o.oid)).map((o) => o.oid));
    const { listings } = await cachedListings(cache, dirOids);
    const fetchDirs = dirOids.filter((oid) => listings.get(oid) === undefined);
    const optionalDir = (oid: string) => selected.every((o) => o.oid !== oid || o.optional);
    const nameOf = (oid: string) => selected.find((o) => o.oid === oid)?.path ?? oid;
    progress.addTotal(fetchDirs.length);
    await forEachLimit(
      fetchDirs,
      ctx.jobs,
      (oid) =>
        guard(nameOf(oid), objectKey(oid), async () => {
          const got = await remoteListing(remote, oid, signal);
          if ('absent' in got) {
            if (optionalDir(oid)) return;
            throw new Error('not on the remote');
          }
          if ('problem' in got) {
            if (got.corrupt) throw new CorruptObject('corrupt on the remote: not the listing its name promises');
            throw new Error(`refused: the listing on the remote is not one DVC writes: ${got.problem}`);
          }
          progress.bytes(got.bytes.length);
          await cache.write(objectKey(oid), got.bytes);
          listings.set(oid, got.rows);
          moved++;
        }),
      signal,
    );

    const refs = expandObjects(selected, listings).filter((r) => !isDirOid(r.oid));
    const have = await cache.sizes(refs.map((r) => r.key));
    const wanted = refs.filter((r) => !have.has(r.key));
    progress.addTotal(wanted.length);
    await forEachLimit(
      wanted,
      ctx.jobs,
      (r) =>
        guard(r.name, r.key, async () => {
          const temp = cache.tempFor(r.key);
          let adopted = false;
          try {
            const got = await remote.get(r.key, temp, { ...sig, onBytes: (n) => progress.bytes(n) });
            if (got === null) {
              if (r.optional) return;
              throw new Error('not on the remote');
            }
            if (got.md5 !== expectedMd5(r.oid)) throw new CorruptObject(`corrupt on the remote: its md5 is ${got.md5}, not ${expectedMd5(r.oid)}`);
            await cache.adopt(temp, r.key);
            adopted = true;
            moved++;
          } finally {
            if (!adopted) await cache.discard(temp);
          }
        }),
      signal,
    );
    return { moved, failed: byImportance(failed), listings };
  } finally {
    progress.finish();
  }
}

/**
 * `status --cloud`: each object of `outs` (those pushed) as new, deleted or
 * missing. A directory's listing is read from the cache, else from the
 * remote (in memory, checked); when neither has it, only the listing itself
 * is reported.
 */
export async function cloudStatusOf(ctx: Omit<SyncContext, 'progress'>, outs: readonly TrackedOut[]): Promise<Map<string, CloudState>> {
  const selected = outs.filter((o) => o.push);
  const dirOids = unique(selected.filter((o) => isDirOid(o.oid)).map((o) => o.oid));
  const { listings } = await cachedListings(ctx.cache, dirOids);
  for (const oid of dirOids) {
    if (listings.get(oid) !== undefined) continue;
    const got = await remoteListing(ctx.remote, oid, ctx.signal);
    if ('rows' in got) listings.set(oid, got.rows);
  }
  const refs = expandObjects(selected, listings);
  const keys = refs.map((r) => r.key);
  const local = new Set((await ctx.cache.sizes(keys)).keys());
  const onRemote = new Set((await ctx.remote.existing(keys, { jobs: ctx.jobs, ...(ctx.signal ? { signal: ctx.signal } : {}) })).keys());
  return cloudStatus(refs, local, onRemote);
}

/**
 * Every oid `outs` use: each output's, and each file of a directory output.
 * Throws when a directory's listing cannot be read from `read`: gc cannot
 * tell which files that directory needs, and guessing would delete them.
 */
export async function usedOids(outs: readonly TrackedOut[], read: (oid: string) => Promise<ListingRow[] | undefined>): Promise<Set<string>> {
  const used = new Set<string>();
  for (const o of outs) {
    used.add(o.oid);
    if (!isDirOid(o.oid)) continue;
    const rows = await read(o.oid);
    if (!rows) {
      throw new ReprodError('CACHE', `cannot read the listing of '${o.path}' (${o.oid}): gc cannot tell which files it needs`, {
        remedy: 'Fetch it first (`reprod fetch`), or check out and re-run the stage that makes it.',
      });
    }
    for (const r of rows) used.add(r.md5);
  }
  return used;
}

/** The cache's gc plan: objects under `files/md5/` that `used` does not name. */
export async function planCacheGc(cache: CacheStore, used: ReadonlySet<string>): Promise<{ remove: string[]; kept: number }> {
  return gcPlan(await collect(cache.list(OBJECTS_PREFIX)), used);
}

/** The remote's gc plan (`gc --cloud`). */
export async function planRemoteGc(remote: RemoteStore, used: ReadonlySet<string>, signal?: AbortSignal): Promise<{ remove: string[]; kept: number }> {
  return gcPlan(await collect(remote.list(OBJECTS_PREFIX, signal ? { signal } : {})), used);
}

export type { ObjectRef };
