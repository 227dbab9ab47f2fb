import { isPyDict, PyFloat, pyFloatRepr, pyJsonString, pyStrCompare, type PyValue } from '../core/pyvalue.js';

/**
 * Python's `json.dumps(value, sort_keys=True)` with its defaults: `", "` and
 * `": "` separators, every non-ASCII character escaped as `\uXXXX` (astral
 * ones as surrogate pairs), floats by `repr` (`NaN`, `Infinity`), ints exact,
 * keys sorted by code point. DVC hashes these bytes for its run-cache, so
 * they must match to the byte.
 */
export function pyJsonDumpsSorted(v: PyValue): string {
  const scalar = scalarJson(v);
  if (scalar !== undefined) return scalar;
  if (Array.isArray(v)) return `[${v.map(pyJsonDumpsSorted).join(', ')}]`;
  if (isPyDict(v)) {
    const keys = [...v.keys()].sort(pyStrCompare);
    return `{${keys.map((k) => `${pyJsonString(k)}: ${pyJsonDumpsSorted(v.get(k) as PyValue)}`).join(', ')}}`;
  }
  throw new TypeError('pyJsonDumpsSorted: unsupported value');
}

/** A scalar as json.dumps writes it; undefined for lists, mappings and the rest. */
function scalarJson(v: unknown): string | undefined {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v).toString() : floatJson(v);
  if (v instanceof PyFloat) return floatJson(v.value);
  if (typeof v === 'string') return pyJsonString(v);
  return undefined;
}

function floatJson(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return pyFloatRepr(x);
}


/**
 * Python's `json.dumps(value)` with its defaults and no sorting: what DVC's
 * `--json` outputs print (`ui.write_json` on a pipe). `", "` and `": "`
 * separators, `\uXXXX` escapes, floats by `repr`, mappings in their own order.
 *
 * Takes reprod's Python values (`Map`s, `PyFloat`, bigints) and plain JSON
 * data (arrays, objects, strings, booleans, null, numbers: a JS number is an
 * int when it is integral, else a float). Anything else (undefined, functions)
 * is a programming error and throws, as `json.dumps` raises TypeError.
 */
export function pyJsonDumps(v: unknown): string {
  const scalar = scalarJson(v);
  if (scalar !== undefined) return scalar;
  if (Array.isArray(v)) return `[${v.map(pyJsonDumps).join(', ')}]`;
  if (v instanceof Map) {
    return `{${[...v].map(([k, x]) => `${pyJsonString(jsonKey(k))}: ${pyJsonDumps(x)}`).join(', ')}}`;
  }
  if (typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype) {
    return `{${Object.entries(v).map(([k, x]) => `${pyJsonString(k)}: ${pyJsonDumps(x)}`).join(', ')}}`;
  }
  throw new TypeError(`pyJsonDumps: unsupported value of type ${typeof v}`);
}

/** `json.dumps` turns None, booleans and numbers used as keys into their JSON text. */
function jsonKey(k: unknown): string {
  if (typeof k === 'string') return k;
  if (k === null) return 'null';
  if (typeof k === 'boolean' || typeof k === 'number' || typeof k === 'bigint') return pyJsonDumps(k);
  throw new TypeError(`pyJsonDumps: unsupported key of type ${typeof k}`);
}
