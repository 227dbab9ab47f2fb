import { normalizeWsPath } from '../pipeline/paths.js';
import { isDirOid, objectKey } from './layout.js';
import type { TrackedOut } from './tracked.js';

/** One row of a `.dir` listing. */
export interface ListingRow {
  md5: string;
  relpath: string;
}

/**
 * Reads a `.dir` object. Undefined when it is not a listing DVC could have
 * written: not a JSON array of `{md5, relpath}`, a file md5 that is not 32
 * hex digits, or a relpath that is absolute or climbs out of the directory
 * (such an object is treated as corrupt and never cached or checked out).
 */
export function parseListing(bytes: Uint8Array | string): ListingRow[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  const rows: ListingRow[] = [];
  for (const r of parsed) {
    if (typeof r !== 'object' || r === null) return undefined;
    const { md5, relpath } = r as Record<string, unknown>;
    if (typeof md5 !== 'string' || !/^[0-9a-f]{32}$/.test(md5)) return undefined;
    if (typeof relpath !== 'string' || normalizeWsPath(relpath) !== relpath || relpath === '.') return undefined;
    rows.push({ md5, relpath });
  }
  return rows;
}

/** One object to move or check, under the name DVC reports it by. */
export interface ObjectRef {
  oid: string;
  key: string;
  /** Workspace path: the output's, or `<dir out>/<relpath>` for a file of a directory. */
  name: string;
  /** For a file listed by a directory: that directory's oid. */
  parent?: string;
  /** See {@link TrackedOut.optional}. */
  optional?: boolean;
}

function selected(relpath: string, only: string | undefined): boolean {
  return only === undefined || relpath === only || relpath.startsWith(`${only}/`);
}

/**
 * The objects behind `outs`, each once (the first name wins, as in DVC's
 * `status -c`): a file output's object; a directory's listing followed by its
 * files when the listing is known (`listings`), else the listing alone. A
 * granular target (`only`) yields the chosen files, and the listing only
 * when `withGranularListing` (fetching needs it to find the files).
 */
export function expandObjects(
  outs: readonly TrackedOut[],
  listings: ReadonlyMap<string, readonly ListingRow[] | undefined>,
  opts: { withGranularListing?: boolean } = {},
): ObjectRef[] {
  const refs: ObjectRef[] = [];
  const seen = new Set<string>();
  const add = (ref: ObjectRef) => {
    if (seen.has(ref.oid)) return;
    seen.add(ref.oid);
    refs.push(ref);
  };
  const optional = (o: TrackedOut) => (o.optional ? { optional: true } : {});
  for (const o of outs) {
    if (!isDirOid(o.oid)) {
      add({ oid: o.oid, key: objectKey(o.oid), name: o.path, ...optional(o) });
      continue;
    }
    if (o.only === undefined || opts.withGranularListing) add({ oid: o.oid, key: objectKey(o.oid), name: o.path, ...optional(o) });
    for (const row of listings.get(o.oid) ?? []) {
      if (!selected(row.relpath, o.only)) continue;
      add({ oid: row.md5, key: objectKey(row.md5), name: `${o.path}/${row.relpath}`, parent: o.oid, ...optional(o) });
    }
  }
  return refs;
}
