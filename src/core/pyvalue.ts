/**
 * Values read from params files and `vars`, kept with Python's distinctions.
 *
 * DVC reads params with Python, so reprod must keep what Python keeps: an int
 * and a float are different when written (`1` vs `1.0` in dvc.lock) but equal
 * when compared (`1 == 1.0`), and a mapping keeps its key order (dvc.lock keeps
 * nested sections in file order). Plain JS objects reorder integer-like keys,
 * so mappings are `Map`s.
 */
export class PyFloat {
  constructor(readonly value: number) {}
  toString(): string {
    return pyFloatRepr(this.value);
  }
}

export type PyScalar = null | boolean | number | bigint | string | PyFloat;
export type PyDict = Map<string, PyValue>;
export type PyValue = PyScalar | PyValue[] | PyDict;

export function isPyDict(v: PyValue | undefined): v is PyDict {
  return v instanceof Map;
}

function numeric(v: PyValue): number | bigint | undefined {
  if (typeof v === 'number' || typeof v === 'bigint') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof PyFloat) return v.value;
  return undefined;
}

/** Python's `==` on these values: `1 == 1.0 == True`, dicts ignore order, lists don't. */
export function pyEquals(a: PyValue, b: PyValue): boolean {
  const na = numeric(a);
  const nb = numeric(b);
  if (na !== undefined && nb !== undefined) {
    if (typeof na === 'bigint' || typeof nb === 'bigint') {
      try {
        return BigInt(na) === BigInt(nb);
      } catch {
        // a non-integral float never equals a bigint
        return false;
      }
    }
    return na === nb;
  }
  if (na !== undefined || nb !== undefined) return false;
  if (a === null || b === null) return a === b;
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => pyEquals(x, b[i] as PyValue));
  }
  if (isPyDict(a) && isPyDict(b)) {
    if (a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (!b.has(k) || !pyEquals(v, b.get(k) as PyValue)) return false;
    }
    return true;
  }
  return false;
}

/**
 * Python's `repr(float)`: the shortest string that round-trips, in exponent
 * form when the decimal exponent is < -4 or >= 16 (JS switches at -7 and 21).
 */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, expPart] = x.toExponential().split('e') as [string, string];
  const exp = Number(expPart);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  const sign = negative ? '-' : '';
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : `${Math.abs(exp)}`;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
}

/** Python's `str()` of a value, as DVC's `${}` interpolation renders scalars. */
export function pyStr(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return `[${v.map(pyReprInner).join(', ')}]`;
  return `{${[...v].map(([k, x]) => `${pyReprInner(k)}: ${pyReprInner(x)}`).join(', ')}}`;
}

function pyReprInner(v: PyValue): string {
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  return pyStr(v);
}

/** Converts to plain JSON-compatible data (for `--json` output and schema validation). */
export function toPlain(v: PyValue): unknown {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toPlain);
  if (isPyDict(v)) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) o[k] = toPlain(x);
    return o;
  }
  return v;
}

/** Looks up a dotted key (`train.optimizer.lr`) the way DVC's params do. */
export function getDotted(root: PyValue, key: string): { found: true; value: PyValue } | { found: false } {
  let cur: PyValue = root;
  for (const part of key.split('.')) {
    if (isPyDict(cur) && cur.has(part)) {
      cur = cur.get(part) as PyValue;
    } else if (Array.isArray(cur) && /^\d+$/.test(part) && Number(part) < cur.length) {
      cur = cur[Number(part)] as PyValue;
    } else {
      return { found: false };
    }
  }
  return { found: true, value: cur };
}

/**
 * Python's `str` ordering: by code point. JS's `<` compares UTF-16 units,
 * which puts astral characters (surrogates, 0xD800–0xDFFF) before
 * U+E000–U+FFFF; shifting the units of the first difference restores code
 * point order.
 */
export function pyStrCompare(a: string, b: string): number {
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

/**
 * A JSON string literal exactly as Python's `json.dumps(s)` writes it
 * (ensure_ascii): printable ASCII as is, everything else as a lowercase
 * `\uXXXX` escape, astral characters as their surrogate pair.
 */
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
