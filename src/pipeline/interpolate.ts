import { isPyDict, pyStr, type PyDict, type PyValue } from '../core/pyvalue.js';

/**
 * DVC 3's `${}` expressions (dvc/parsing/interpolate.py), rewritten:
 *
 * - `${a.b}`, `${a[0]}`, `${a.b[0].c}`; a name is any run of characters other
 *   than `.`, `[` and `]` (spaces around a name are ignored when looking up);
 * - `\${x}` is not an interpolation, and every `\${` of a string that is not
 *   one whole `${...}` comes out as `${`;
 * - a string that is exactly one `${x}` takes x's value with its type; inside
 *   a longer string x is rendered by {@link toStr};
 * - stage keys other than `cmd` accept only scalars; `cmd` also accepts a
 *   mapping, rendered as command-line options.
 */

/** `[parsing]` of `.dvc/config`: how a mapping in `cmd` renders booleans and lists. */
export interface ParsingConfig {
  /** `store_true` (default): `--flag` or nothing; `boolean_optional`: `--flag` or `--no-flag`. */
  bool?: 'store_true' | 'boolean_optional';
  /** `nargs` (default): `--opt a b`; `append`: `--opt a --opt b`. */
  list?: 'nargs' | 'append';
}

/** A templating failure; the message is the part DVC prints after the location. */
export class TemplateError extends Error {
  constructor(
    message: string,
    /** What to do about it, when the catalogue's INTERPOLATION remedy does not fit. */
    readonly remedy?: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

export interface Interpolation {
  /** Offsets of the whole `${...}` in the string. */
  start: number;
  end: number;
  /** The text between the braces. */
  inner: string;
}

// Python's `.` stops at a newline only; a backslash right before `$` escapes it.
const INTERPOLATION_RE = /(?<!\\)\$\{([^\n]*?)\}/g;

export function findInterpolations(s: string): Interpolation[] {
  const out: Interpolation[] = [];
  for (const m of s.matchAll(INTERPOLATION_RE)) {
    const start = m.index;
    out.push({ start, end: start + m[0].length, inner: m[1] ?? '' });
  }
  return out;
}

const HAS_INTERPOLATION_RE = /(?<!\\)\$\{[^\n]*?\}/;

export function isInterpolated(s: string): boolean {
  return HAS_INTERPOLATION_RE.test(s);
}

/** True when the string is one `${...}` and nothing else (its value keeps its type). */
function isWholeInterpolation(s: string, found: readonly Interpolation[]): boolean {
  const only = found[0];
  return found.length === 1 && only !== undefined && only.start === 0 && only.end === s.length;
}

/**
 * Splits an expression into its names: `a.b[0]` → `['a', 'b', '0']`.
 * Throws a TemplateError when it is not `name ( .name | [name] )*`.
 */
export function parseExpression(inner: string): string[] {
  const parts: string[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new TemplateError(`cannot parse '\${${inner}}': ${what} at character ${i + 1}`);
  };
  const name = (): string => {
    const start = i;
    while (i < inner.length && !'.[]'.includes(inner[i] as string)) i++;
    if (i === start) fail('expected a name');
    return inner.slice(start, i);
  };
  parts.push(name());
  while (i < inner.length) {
    const c = inner[i];
    if (c === '.') {
      i++;
      parts.push(name());
    } else if (c === '[') {
      i++;
      parts.push(name());
      if (inner[i] !== ']') fail("expected ']'");
      i++;
    } else {
      fail("expected '.' or '['");
    }
  }
  return parts;
}

const PY_INT_RE = /^[+-]?[0-9]+(?:_[0-9]+)*$/;

/**
 * Follows names into a value like DVC's context: mapping keys, then list
 * indexes parsed as Python ints (negative indexes count from the end).
 */
export function selectPath(root: PyValue, parts: readonly string[]): { found: true; value: PyValue } | { found: false } {
  let cur: PyValue = root;
  for (const raw of parts) {
    const part = raw.trim();
    if (isPyDict(cur)) {
      if (!cur.has(part)) return { found: false };
      cur = cur.get(part) as PyValue;
    } else if (Array.isArray(cur)) {
      if (!PY_INT_RE.test(part)) return { found: false };
      let idx = Number(part.replace(/_/g, ''));
      if (idx < 0) idx += cur.length;
      if (!Number.isSafeInteger(idx) || idx < 0 || idx >= cur.length) return { found: false };
      cur = cur[idx] as PyValue;
    } else {
      return { found: false };
    }
  }
  return { found: true, value: cur };
}

/** DVC's `to_str`: booleans as `true`/`false`, mappings as options, the rest as Python's `str()`. */
export function toStr(v: PyValue, config: ParsingConfig = {}): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (isPyDict(v)) return formatDictArgs(v, config);
  return pyStr(v);
}

/** Python's `shlex.quote`. */
export function shellQuote(s: string): string {
  if (s === '') return "''";
  if (!/[^\w@%+=:,./-]/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

/**
 * A mapping rendered as command-line options, the way DVC renders
 * `${args}` in a `cmd`: nested keys joined with dots, strings shell-quoted,
 * `--k` for true, lists after one `--k` (or one `--k` each with `append`).
 */
export function formatDictArgs(d: PyDict, config: ParsingConfig = {}): string {
  let out = '';
  for (const [k, v] of flattenDotted(d)) {
    if (typeof v === 'boolean') {
      if (v) out += `--${k} `;
      else if (config.bool === 'boolean_optional') out += `--no-${k} `;
    } else if (typeof v === 'string') {
      out += `--${k} ${shellQuote(v)} `;
    } else if (Array.isArray(v)) {
      v.forEach((item, n) => {
        let s: string;
        if (typeof item === 'string') s = shellQuote(item);
        else if (Array.isArray(item) || isPyDict(item)) throw new TemplateError(`Cannot interpolate nested iterable in '${k}'`);
        else s = pyStr(item);
        out += config.list === 'append' || n === 0 ? `--${k} ${s} ` : `${s} `;
      });
    } else {
      out += `--${k} ${pyStr(v)} `;
    }
  }
  return out.trimEnd();
}

/** `flatten_dict.flatten(d, reducer="dot")`: empty nested mappings disappear. */
function flattenDotted(d: PyDict): [string, PyValue][] {
  const out: [string, PyValue][] = [];
  const seen = new Set<string>();
  const walk = (m: PyDict, prefix: string): void => {
    for (const [k, v] of m) {
      const key = prefix === '' ? k : `${prefix}.${k}`;
      if (isPyDict(v)) {
        walk(v, key);
        continue;
      }
      if (seen.has(key)) throw new TemplateError(`duplicated key '${key}'`);
      seen.add(key);
      out.push([key, v]);
    }
  };
  walk(d, '');
  return out;
}

/**
 * DVC's `validate_value`: under a stage key (`key` non-null) only scalars may
 * be interpolated, except a mapping in `cmd`. `foreach`/`matrix` data and
 * top-level sections pass `null` and accept anything.
 */
export function checkInterpolatedValue(value: PyValue, key: string | null): void {
  if (key === null || key.includes('foreach')) return;
  if (Array.isArray(value)) throw new TemplateError("Cannot interpolate data of type 'list'");
  if (isPyDict(value)) {
    if (key === 'cmd') return;
    throw new TemplateError("Cannot interpolate data of type 'dict'");
  }
}

/** Looks up one parsed expression; throws a TemplateError when nothing is there. */
export type Lookup = (parts: readonly string[]) => PyValue;

/**
 * Resolves one string: a whole `${x}` keeps x's type, anything else renders
 * each value into the text and un-escapes `\${`.
 */
export function interpolateString(
  src: string,
  found: readonly Interpolation[],
  parsed: readonly (readonly string[])[],
  lookup: Lookup,
  key: string | null,
  config: ParsingConfig,
): PyValue {
  const first = parsed[0];
  if (first !== undefined && isWholeInterpolation(src, found)) {
    const value = lookup(first);
    checkInterpolatedValue(value, key);
    return value;
  }
  let buf = '';
  let index = 0;
  found.forEach((m, i) => {
    const value = lookup(parsed[i] ?? []);
    checkInterpolatedValue(value, key);
    buf += src.slice(index, m.start) + toStr(value, config);
    index = m.end;
  });
  buf += src.slice(index);
  return buf.includes('\\${') ? buf.split('\\${').join('${') : buf;
}
