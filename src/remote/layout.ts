import { ReprodError } from '../core/errors.js';
import { oidProblem } from '../core/oid.js';

/**
 * DVC 3's object layout, shared by the local cache and every remote (the
 * one place these paths are spelled out):
 *
 *   files/md5/<first 2 hex>/<other 30 hex>        a file's bytes
 *   files/md5/<first 2 hex>/<other 30 hex>.dir    a directory listing (JSON)
 *   runs/<key[0:2]>/<key>/<value>                 a run-cache entry (YAML)
 *
 * Keys are `/`-separated and relative to the cache directory or the remote's
 * root (a folder, or `s3://bucket/prefix`). An object id (oid) is the md5 as
 * dvc.lock writes it: 32 hex digits, plus `.dir` for a listing.
 */

export const OBJECTS_PREFIX = 'files/md5/';
export const RUNS_PREFIX = 'runs/';

const OBJECT_KEY_RE = /^files\/md5\/([0-9a-f]{2})\/([0-9a-f]{30}(?:\.dir)?)$/;
const RUN_KEY_RE = /^runs\/([0-9a-f]{2})\/([0-9a-f]{64})\/([0-9a-f]{64})$/;

// what an oid is lives in core (dvc.lock's reader checks them too); the layout's users take it from here
export { isOid, oidProblem } from '../core/oid.js';

export function isDirOid(oid: string): boolean {
  return oid.endsWith('.dir');
}

/** The md5 the object's bytes must have: the oid without `.dir`. */
export function expectedMd5(oid: string): string {
  return isDirOid(oid) ? oid.slice(0, -4) : oid;
}

/**
 * The key of an object. Throws OBJECT_INVALID for anything that is not an
 * oid: the one place a path is made from an md5, and the last line of
 * defence when a caller forgot to check what it read.
 */
export function objectKey(oid: string): string {
  const problem = oidProblem(oid);
  if (problem !== undefined) throw new ReprodError('OBJECT_INVALID', `refusing to address the cache or a remote with ${problem}`);
  return `${OBJECTS_PREFIX}${oid.slice(0, 2)}/${oid.slice(2)}`;
}

/** The oid a key names, or undefined for anything else (temporary files, foreign objects). */
export function oidOfKey(key: string): string | undefined {
  const m = OBJECT_KEY_RE.exec(key);
  return m ? `${m[1]}${m[2]}` : undefined;
}

/** A run-cache entry's key, split; undefined for anything else. */
export function parseRunKey(key: string): { key: string; value: string } | undefined {
  const m = RUN_KEY_RE.exec(key);
  if (!m || !(m[2] as string).startsWith(m[1] as string)) return undefined;
  return { key: m[2] as string, value: m[3] as string };
}

/** The folder of a run-cache key's entries: `runs/<key[0:2]>/<key>`. */
export function runDirKey(key: string): string {
  return `${RUNS_PREFIX}${key.slice(0, 2)}/${key}`;
}

export function runKey(key: string, value: string): string {
  return `${runDirKey(key)}/${value}`;
}
