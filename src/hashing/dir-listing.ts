import { createHash } from '../core/crypto.js';
import { pyJsonString, pyStrCompare } from '../core/pyvalue.js';
import type { DirEntry, HashInfo } from '../core/types.js';

/**
 * DVC's `.dir` listing: the bytes whose md5 is a directory's hash.
 *
 * DVC writes `json.dumps(sorted(rows, key=relpath), sort_keys=True)` with
 * Python's defaults, so the bytes are pinned down by three Python behaviours
 * that JavaScript does not share: strings sort by code point (not by UTF-16
 * unit), separators are `", "` and `": "`, and every character outside
 * printable ASCII is written as a lowercase `\uXXXX` escape (astral characters
 * as a surrogate pair). The exec bit and sizes are not part of the listing.
 */

/** The rows in listing order (by relpath, code point order); the input is not changed. */
export function sortEntries<T extends { relpath: string }>(entries: readonly T[]): T[] {
  // UTF-16 order equals code point order below U+D800; the native compare is 3× faster on big folders
  const compare = entries.some((e) => ASTRAL_OR_PRIVATE.test(e.relpath)) ? pyStrCompare : compareUnits;
  return [...entries].sort((x, y) => compare(x.relpath, y.relpath));
}

const ASTRAL_OR_PRIVATE = /[\ud800-\uffff]/;

function compareUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The `.dir` listing of these rows, byte for byte as DVC 3 writes it (ASCII
 * only, no trailing newline). Rows may come in any order.
 */
export function dirListingJson(entries: readonly DirEntry[]): string {
  return listingOfSorted(sortEntries(entries));
}

function listingOfSorted(sorted: readonly DirEntry[]): string {
  const rows = new Array<string>(sorted.length);
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i] as DirEntry;
    rows[i] = `{"md5": ${pyJsonString(e.md5)}, "relpath": ${pyJsonString(e.relpath)}}`;
  }
  return `[${rows.join(', ')}]`;
}

/** md5 of text that is known to be ASCII (a listing). */
function md5Ascii(text: string): string {
  return createHash('md5').update(text, 'latin1').digest('hex');
}

/** A directory's hash as dvc.lock records it: `<md5 of listing>.dir`, total bytes, file count. */
export function dirHashInfo(entries: readonly DirEntry[]): HashInfo {
  return dirHash(entries).info;
}

/**
 * The sorted rows, their listing and the resulting HashInfo in one pass, for
 * callers that also need the listing bytes (the cache stores them as the
 * `.dir` object) or the rows in listing order.
 */
export function dirHash<T extends DirEntry>(entries: readonly T[]): { info: HashInfo; listing: string; sorted: T[] } {
  const sorted = sortEntries(entries);
  const listing = listingOfSorted(sorted);
  let size = 0;
  for (const e of sorted) size += e.size;
  return { info: { md5: `${md5Ascii(listing)}.dir`, size, nfiles: sorted.length }, listing, sorted };
}
