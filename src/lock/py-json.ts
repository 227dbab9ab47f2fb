import { isPyDict, PyFloat, pyFloatRepr, pyJsonString, pyStrCompare, type PyValue } from '../core/pyvalue.js';

/**
 * Python's `json.dumps(value, sort_keys=True)` with its defaults: `", "` and
 * `": "` separators, every non-ASCII character escaped as `\uXXXX` (astral
 * ones as surrogate pairs), floats by `repr` (`NaN`, `Infinity`), ints exact,
 * keys sorted by code point. DVC hashes these bytes for its run-cache, so
 * they must match to the byte.
 */
export function pyJsonDumpsSorted(v: PyValue): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v).toString() : floatJson(v);
  if (v instanceof PyFloat) return floatJson(v.value);
  if (typeof v === 'string') return pyJsonString(v);
  if (Array.isArray(v)) return `[${v.map(pyJsonDumpsSorted).join(', ')}]`;
  if (isPyDict(v)) {
    const keys = [...v.keys()].sort(pyStrCompare);
    return `{${keys.map((k) => `${pyJsonString(k)}: ${pyJsonDumpsSorted(v.get(k) as PyValue)}`).join(', ')}}`;
  }
  throw new TypeError('pyJsonDumpsSorted: unsupported value');
}

function floatJson(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  return pyFloatRepr(x);
}

