import { isPyDict, PyFloat, pyFloatRepr, type PyValue } from '../core/pyvalue.js';

/**
 * Python's `str()` and `repr()` of values read from metrics and params files,
 * and its `round()`: DVC's tables print `str(round(x, 5))`, and its diffs
 * compare lists as their `str()`.
 */

/** Python's `str(value)`. */
export function pyStrOf(v: PyValue): string {
  return typeof v === 'string' ? v : pyRepr(v);
}

/** Python's `repr(value)`: strings quoted and escaped as CPython does, containers with `, ` and `: `. */
export function pyRepr(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v).toString() : pyFloatRepr(v);
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof PyFloat) return pyFloatRepr(v.value);
  if (typeof v === 'string') return pyStrRepr(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (isPyDict(v)) return `{${[...v].map(([k, x]) => `${pyStrRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  return String(v);
}

// Unicode's non-printable characters as CPython's str.isprintable() sees them (the space is printable).
const NON_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** CPython's `unicode_repr`: single quotes unless the text has `'` and no `"`. */
function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\t') out += '\\t';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x7f) out += ch;
    else if (ch !== ' ' && NON_PRINTABLE.test(ch)) out += cp <= 0xff ? `\\x${hex(cp, 2)}` : cp <= 0xffff ? `\\u${hex(cp, 4)}` : `\\U${hex(cp, 8)}`;
    else out += ch;
  }
  return out + quote;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/**
 * Python's `round(x, ndigits)` for a float: the exact binary value rounded
 * half to even at `ndigits` decimals (JS's `toFixed` rounds exact ties up),
 * then read back as the nearest double.
 */
export function pyRound(x: number, ndigits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const { mantissa, exponent } = decompose(Math.abs(x));
  if (exponent >= 0) return x; // an integer already
  const k = -exponent; // the exact value is digits / 10^k
  if (k <= ndigits) return x;
  const digits = mantissa * 5n ** BigInt(k);
  const drop = 10n ** BigInt(k - ndigits);
  let q = digits / drop;
  const r = digits % drop;
  const half = drop / 2n;
  if (r > half || (r === half && q % 2n === 1n)) q += 1n;
  const text = q.toString().padStart(ndigits + 1, '0');
  const magnitude = Number(ndigits === 0 ? text : `${text.slice(0, -ndigits)}.${text.slice(-ndigits)}`);
  return x < 0 ? -magnitude : magnitude;
}

/** A positive finite double as mantissa · 2^exponent. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  return biased === 0 ? { mantissa: fraction, exponent: -1074 } : { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}
