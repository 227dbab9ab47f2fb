import { createHash } from 'node:crypto';
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

/**
 * Compares two strings by Unicode code point, as Python compares `str`.
 * Plain `<` compares UTF-16 units, which puts astral characters (surrogates,
 * 0xD800–0xDFFF) before U+E000–U+FFFF; shifting the units of the first
 * difference restores code point order.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x < 0xd800 && y < 0xd800) return x - y;
      return codePointRank(x) - codePointRank(y);
    }
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xe000) return unit - 0x800;
  if (unit >= 0xd800) return unit + 0x2000;
  return unit;
}

const ASTRAL_OR_PRIVATE = /[\ud800-\uffff]/;

function compareUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The rows in listing order (by relpath, code point order); the input is not changed. */
export function sortEntries<T extends { relpath: string }>(entries: readonly T[]): T[] {
  const needsCodePoints = entries.some((e) => ASTRAL_OR_PRIVATE.test(e.relpath));
  return [...entries].sort((x, y) => (needsCodePoints ? compareCodePoints(x.relpath, y.relpath) : compareUnits(x.relpath, y.relpath)));
}

const NEEDS_ESCAPE = /[^\x20-\x21\x23-\x5b\x5d-\x7e]/;
const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
};

/** A JSON string literal exactly as Python's `json.dumps(s)` (ensure_ascii) writes it. */
export function pyJsonString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    if (unit >= 0x20 && unit <= 0x7e && unit !== 0x22 && unit !== 0x5c) {
      out += s[i];
    } else {
      out += SHORT_ESCAPES[unit] ?? `\\u${unit.toString(16).padStart(4, '0')}`;
    }
  }
  return `${out}"`;
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
