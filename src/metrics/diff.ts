import { ReprodError } from '../core/errors.js';
import { isPyDict, pyEquals, PyFloat, pyStrCompare, type PyDict, type PyValue } from '../core/pyvalue.js';
import { isFalsy, parseJsonText } from '../pipeline/params-file.js';
import type { Loaded } from './data-file.js';
import { pyRepr } from './py-format.js';

/**
 * `metrics diff` and `params diff`: DVC's `dvc.utils.diff` rewritten.
 *
 *   old {metrics.json: {acc: 0.53, loss: 0.33}}    new {metrics.json: {acc: 0.55, loss: 0.33}}
 *     → {metrics.json: {acc: {old: 0.53, new: 0.55, diff: 0.020000000000000018}}}
 *
 * Lists are compared as their Python `str()` (DVC's `format_dict`), nested
 * mappings by dotted key (`train.lr`), a file that failed to load as an empty
 * one, and `diff` is given when both sides are numbers. Unchanged values are
 * left out unless `withUnchanged` (`--all`).
 *
 * Order: DVC walks Python sets here, so its order changes from run to run
 * (string hashing is randomised per process); reprod sorts files and keys by
 * name, as DVC's own tables do.
 */
export interface ValueChange {
  old: PyValue;
  new: PyValue;
  diff?: PyValue;
}

export type DiffResult = Map<string, Map<string, ValueChange>>;

/** A value missing on one side of a mapping diff, and a side that is not a mapping at all. */
const MISSING = null;
const UNPARSABLE = 'unable to parse';

export function diffFiles(old: ReadonlyMap<string, Loaded>, next: ReadonlyMap<string, Loaded>, withUnchanged: boolean): DiffResult {
  const paths = [...new Set([...old.keys(), ...next.keys()])].sort(pyStrCompare);
  const out: DiffResult = new Map();
  for (const path of paths) {
    const changes = diffValues(dataOf(old.get(path)), dataOf(next.get(path)), withUnchanged);
    if (changes.size > 0) out.set(path, changes);
  }
  return out;
}

function dataOf(l: Loaded | undefined): PyValue {
  return l === undefined || 'error' in l ? new Map() : formatDict(l.data);
}

/** DVC's `format_dict`: lists (at any depth of mappings) become their `str()`. */
export function formatDict(v: PyValue): PyValue {
  if (Array.isArray(v)) return pyRepr(v);
  if (isPyDict(v)) return new Map([...v].map(([k, x]) => [k, formatDict(x)]));
  return v;
}

function diffValues(oldRaw: PyValue, newRaw: PyValue, withUnchanged: boolean): Map<string, ValueChange> {
  const o = parseRaw(oldRaw);
  const n = parseRaw(newRaw);
  const out = new Map<string, ValueChange>();
  if (isPyDict(o) || isPyDict(n)) {
    const fo = flattenSide(o);
    const fn = flattenSide(n);
    const keys = [...new Set([...fo.values.keys(), ...fn.values.keys()])].sort(pyStrCompare);
    for (const key of keys) {
      const c = diffValue(fo.values.get(key) ?? fo.missing, fn.values.get(key) ?? fn.missing, withUnchanged);
      if (c) out.set(key, c);
    }
    return out;
  }
  const c = diffValue(o, n, withUnchanged);
  if (c) out.set('', c);
  return out;
}

/** DVC's `_parse`: a top-level string that is JSON (a list's `str()` often is) is compared as that JSON. */
function parseRaw(v: PyValue): PyValue {
  if (typeof v !== 'string') return v;
  try {
    return parseJsonText(v, '<value>');
  } catch (e) {
    // not JSON: compared as the string it is (DVC's `except JSONDecodeError: return raw`)
    if (e instanceof ReprodError) return v;
    throw e;
  }
}

/** DVC's `_flatten`: empty → every key missing; a mapping → dotted keys; anything else → "unable to parse". */
function flattenSide(v: PyValue): { values: Map<string, PyValue>; missing: PyValue } {
  if (isFalsy(v)) return { values: new Map(), missing: MISSING };
  if (!isPyDict(v)) return { values: new Map(), missing: UNPARSABLE };
  return { values: flatten(v), missing: MISSING };
}

/** `flatten_dict.flatten(d, reducer="dot")`: nested keys joined by `.`, empty mappings dropped. */
export function flatten(d: PyDict, prefix = '', into: Map<string, PyValue> = new Map()): Map<string, PyValue> {
  for (const [k, v] of d) {
    const key = prefix === '' ? k : `${prefix}.${k}`;
    if (isPyDict(v)) flatten(v, key, into);
    else into.set(key, v);
  }
  return into;
}

function diffValue(o: PyValue, n: PyValue, withUnchanged: boolean): ValueChange | undefined {
  if (Array.isArray(o) && Array.isArray(n) && o.length === 1 && n.length === 1) {
    return diffValue(o[0] as PyValue, n[0] as PyValue, withUnchanged);
  }
  if (!withUnchanged && pyEquals(o, n)) return undefined;
  const change: ValueChange = { old: o, new: n };
  if (isNumber(o) && isNumber(n)) change.diff = subtract(n, o);
  return change;
}

function isNumber(v: PyValue): v is number | bigint | boolean | PyFloat {
  return typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || v instanceof PyFloat;
}

/** Python's `new - old`: int - int is an exact int, anything with a float is a float (a bool is 0 or 1). */
function subtract(n: number | bigint | boolean | PyFloat, o: number | bigint | boolean | PyFloat): PyValue {
  if (n instanceof PyFloat || o instanceof PyFloat) return new PyFloat(asFloat(n) - asFloat(o));
  const r = asInt(n) - asInt(o);
  return r >= BigInt(Number.MIN_SAFE_INTEGER) && r <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(r) : r;
}

function asFloat(v: number | bigint | boolean | PyFloat): number {
  return v instanceof PyFloat ? v.value : Number(v);
}

function asInt(v: number | bigint | boolean): bigint {
  return typeof v === 'boolean' ? (v ? 1n : 0n) : BigInt(v);
}

/** The `--json` shape: `{path: {key: {"old": ..., "new": ..., "diff": ...}}}`. */
export function diffJson(d: DiffResult): PyDict {
  const out: PyDict = new Map();
  for (const [path, changes] of d) {
    const file: PyDict = new Map();
    for (const [key, c] of changes) {
      const entry: PyDict = new Map([
        ['old', c.old],
        ['new', c.new],
      ]);
      if (c.diff !== undefined) entry.set('diff', c.diff);
      file.set(key, entry);
    }
    out.set(path, file);
  }
  return out;
}
