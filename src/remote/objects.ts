import { relpathProblem } from '../pipeline/paths.js';
import { isDirOid, objectKey, oidProblem } from './layout.js';
import type { TrackedOut } from './tracked.js';

/** One row of a `.dir` listing. */
export interface ListingRow {
  md5: string;
  relpath: string;
}

/** A `.dir` object read: its rows, or why it is not a listing DVC could have written. */
export type ListingCheck = { rows: ListingRow[] } | { problem: string };

/**
 * Reads a `.dir` object and checks every row, since a listing decides where
 * checkout writes: a JSON array of `{md5, relpath}` (other keys, such as
 * DVC 2's `isexec`, are ignored), each md5 a file's (32 lowercase hex, no
 * `.dir`), each relpath normalised and relative (see {@link relpathProblem}),
 * and no path listed twice or both as a file and as a folder of another.
 */
export function checkListing(bytes: Uint8Array | string): ListingCheck {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    return { problem: `not UTF-8 JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (!Array.isArray(parsed)) return { problem: 'not a JSON list' };
  const rows: ListingRow[] = [];
  const files = new Set<string>();
  for (const [i, r] of parsed.entries()) {
    if (typeof r !== 'object' || r === null || Array.isArray(r)) return { problem: `row ${i} is not an object` };
    const { md5, relpath } = r as Record<string, unknown>;
    if (typeof relpath !== 'string') return { problem: `row ${i} has no string relpath` };
    if (typeof md5 !== 'string') return { problem: `row ${i} ('${relpath}') has no string md5` };
    const bad = relpathProblem(relpath);
    if (bad !== undefined) return { problem: `row ${i} names ${JSON.stringify(relpath)}: ${bad}` };
    const badMd5 = oidProblem(md5, 'file');
    if (badMd5 !== undefined) return { problem: `row ${i} ('${relpath}'): ${badMd5}` };
    if (files.has(relpath)) return { problem: `'${relpath}' is listed twice` };
    files.add(relpath);
    rows.push({ md5, relpath });
  }
  for (const f of files) {
    for (let i = f.indexOf('/'); i >= 0; i = f.indexOf('/', i + 1)) {
      if (files.has(f.slice(0, i))) return { problem: `'${f.slice(0, i)}' is listed both as a file and as the folder of '${f}'` };
    }
  }
  return { rows };
}

/** The rows of a `.dir` object, or undefined when {@link checkListing} finds a problem. */
export function parseListing(bytes: Uint8Array | string): ListingRow[] | undefined {
  const c = checkListing(bytes);
  return 'rows' in c ? c.rows : undefined;
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
