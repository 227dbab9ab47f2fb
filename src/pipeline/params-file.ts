import { parse as parseToml, TomlDate, TomlError } from 'smol-toml';
import { ReprodError } from '../core/errors.js';
import { DEFAULT_INPUT_LIMITS, limitRemedy, type InputLimits } from '../core/input-limits.js';
import { isPyDict, PyFloat, type PyDict, type PyValue } from '../core/pyvalue.js';
import { formatKeyPath, loadYaml } from './yaml-load.js';

/**
 * Params files (and `vars` files) as DVC reads them: the loader is chosen by
 * the lower-cased suffix (`.json`, `.toml`, `.py`; anything else is YAML), an
 * empty or falsy document reads as `{}`, and the result must be a mapping.
 */
export type ParamsFormat = 'yaml' | 'json' | 'toml' | 'py';

export function paramsFormatOf(file: string): ParamsFormat {
  const base = file.slice(file.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  // Python's PurePath.suffix: a leading dot alone (`.env`) is no suffix.
  const suffix = dot > 0 ? base.slice(dot).toLowerCase() : '';
  if (suffix === '.json') return 'json';
  if (suffix === '.toml') return 'toml';
  if (suffix === '.py') return 'py';
  return 'yaml';
}

/** The bounds that apply to params files: nesting in every format, aliases in YAML. */
export type ParamsLimits = Partial<Pick<InputLimits, 'maxDepth' | 'maxAliasValues'>>;

/**
 * Parses a params file into an ordered mapping, keeping ints and floats
 * apart. Nesting deeper than `limits.maxDepth` (any format) and aliases past
 * `limits.maxAliasValues` (YAML) are INPUT_LIMIT errors naming the file.
 */
export function parseParamsText(text: string, file: string, limits: ParamsLimits = {}): PyDict {
  const format = paramsFormatOf(file);
  const maxDepth = limits.maxDepth ?? DEFAULT_INPUT_LIMITS.maxDepth;
  let value: PyValue;
  switch (format) {
    case 'py':
      throw new ReprodError('PARAMS_FILE', `'${file}': Python params files are not supported`, {
        source: { file },
        remedy: 'Move the values into params.yaml (or a JSON or TOML file) and point the stage at it.',
      });
    case 'json':
      value = parseJsonText(text, file, maxDepth);
      break;
    case 'toml':
      value = parseTomlText(text, file, maxDepth);
      break;
    case 'yaml':
      value = loadParamsYaml(text, file, limits);
      break;
  }
  if (isFalsy(value)) return new Map();
  if (!isPyDict(value)) {
    throw new ReprodError('PARAMS_FILE', `'${file}': expected a dictionary, got '${pyTypeName(value)}'`, {
      source: { file, line: 1 },
    });
  }
  return value;
}

/** Python's name for the type of a value, as DVC's messages print it. */
export function pyTypeName(v: PyValue): string {
  if (v === null) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'int';
  if (typeof v === 'string') return 'str';
  if (v instanceof PyFloat) return 'float';
  if (Array.isArray(v)) return 'list';
  return 'dict';
}

/** Python truthiness: `None`, `False`, zero, and empty strings, lists and dicts are false. */
export function isFalsy(v: PyValue): boolean {
  if (v === null || v === false || v === '' || v === 0 || v === 0n) return true;
  if (v instanceof PyFloat) return v.value === 0;
  if (Array.isArray(v)) return v.length === 0;
  if (isPyDict(v)) return v.size === 0;
  return false;
}

function loadParamsYaml(text: string, file: string, limits: ParamsLimits): PyValue {
  try {
    return loadYaml(text, file, { limits }).value;
  } catch (cause) {
    // a limit passed is said as such (its code says which remedy applies), not as a broken file
    if (cause instanceof ReprodError && cause.code !== 'INPUT_LIMIT') {
      throw new ReprodError('PARAMS_FILE', `'${file}': ${cause.message}`, { source: cause.source ?? { file }, cause });
    }
    throw cause;
  }
}

function parseTomlText(text: string, file: string, maxDepth: number): PyValue {
  let table: unknown;
  try {
    // smol-toml counts inline arrays and tables only: it stops no document within the limit, and fromToml counts exactly
    table = parseToml(text, { integersAsBigInt: true, maxDepth });
  } catch (cause) {
    if (cause instanceof TomlError) {
      const first = cause.message.split('\n')[0] ?? cause.message;
      if (/excessively nested/.test(first)) throw tooDeep(file, maxDepth, { line: cause.line, column: cause.column });
      throw new ReprodError('PARAMS_FILE', `'${file}': invalid TOML: ${first}`, {
        source: { file, line: cause.line, column: cause.column },
        cause,
      });
    }
    throw cause;
  }
  return fromToml(table, 1, [], { file, maxDepth });
}

/** The INPUT_LIMIT error of a params file nested deeper than the limit. */
function tooDeep(file: string, maxDepth: number, at: { line?: number; column?: number; key?: string }): ReprodError {
  return new ReprodError('INPUT_LIMIT', `nested more than ${maxDepth} levels deep`, {
    source: { file, ...at },
    remedy: limitRemedy('maxDepth', 'Nest the data less deeply'),
  });
}

/**
 * TOML values as tomlkit unwraps them: integers are ints, every other number a
 * float, dates and times their TOML text. (Plain JS objects put integer-like
 * keys first, so a table keyed `2`, `a`, `1` comes out as `1`, `2`, `a`.)
 */
function fromToml(v: unknown, level: number, path: (string | number)[], at: { file: string; maxDepth: number }): PyValue {
  if (typeof v === 'bigint') {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  if (typeof v === 'number') return new PyFloat(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (v instanceof TomlDate) return v.toISOString();
  if (v === null || typeof v !== 'object') return null;
  // tables nested by dotted keys (`[a.b.c]`) are not inline: only this count sees them
  if (level > at.maxDepth) throw tooDeep(at.file, at.maxDepth, path.length ? { key: formatKeyPath(path) } : {});
  const child = (k: string | number, x: unknown): PyValue => {
    path.push(k);
    try {
      return fromToml(x, level + 1, path, at);
    } finally {
      path.pop();
    }
  };
  if (Array.isArray(v)) return v.map((x: unknown, i) => child(i, x));
  const out: PyDict = new Map();
  for (const [k, x] of Object.entries(v)) out.set(k, child(k, x));
  return out;
}

// ---------------------------------------------------------------- JSON

/**
 * JSON as Python's `json.loads` reads it: `1` is an int and `1.0` a float,
 * integers of any size, `NaN`/`Infinity`, a repeated key keeps its first
 * position and its last value, control characters inside strings are errors.
 */
export function parseJsonText(text: string, file: string, maxDepth: number = DEFAULT_INPUT_LIMITS.maxDepth): PyValue {
  const p = new JsonReader(text, file, maxDepth);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.pos < text.length) p.fail('extra data after the JSON value');
  return v;
}

class JsonReader {
  pos = 0;
  constructor(
    readonly text: string,
    readonly file: string,
    /** Levels of objects and arrays allowed (the top-level value's is 1). */
    readonly maxDepth: number,
  ) {}

  /** 1-based line and column of the current position. */
  where(): { line: number; column: number } {
    let line = 1;
    let col = 1;
    for (let i = 0; i < this.pos && i < this.text.length; i++) {
      if (this.text.charCodeAt(i) === 10) {
        line++;
        col = 1;
      } else {
        col++;
      }
    }
    return { line, column: col };
  }

  fail(what: string): never {
    throw new ReprodError('PARAMS_FILE', `'${this.file}': invalid JSON: ${what}`, { source: { file: this.file, ...this.where() } });
  }

  ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.pos++;
      else break;
    }
  }

  /** The value at the current position, inside `depth` objects and arrays. */
  value(depth: number): PyValue {
    const t = this.text;
    const c = t[this.pos];
    if ((c === '{' || c === '[') && depth + 1 > this.maxDepth) throw tooDeep(this.file, this.maxDepth, this.where());
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"') return this.string();
    if (t.startsWith('true', this.pos)) return this.word('true', true);
    if (t.startsWith('false', this.pos)) return this.word('false', false);
    if (t.startsWith('null', this.pos)) return this.word('null', null);
    if (t.startsWith('NaN', this.pos)) return this.word('NaN', new PyFloat(NaN));
    if (t.startsWith('Infinity', this.pos)) return this.word('Infinity', new PyFloat(Infinity));
    if (t.startsWith('-Infinity', this.pos)) return this.word('-Infinity', new PyFloat(-Infinity));
    return this.number();
  }

  word<T extends PyValue>(w: string, v: T): T {
    this.pos += w.length;
    return v;
  }

  number(): PyValue {
    const m = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(this.text.slice(this.pos, this.pos + 4096));
    if (!m || m[0] === '' || m[0] === '-') this.fail('expecting a value');
    const src = m[0];
    this.pos += src.length;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(src);
      if (n === 0) return 0; // Python has no negative zero int
      return Number.isSafeInteger(n) ? n : BigInt(src);
    }
    return new PyFloat(Number(src));
  }

  string(): string {
    const t = this.text;
    this.pos++; // opening quote
    let out = '';
    let start = this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated string');
      const c = t.charCodeAt(this.pos);
      if (c === 34) {
        out += t.slice(start, this.pos);
        this.pos++;
        return out;
      }
      if (c < 32) this.fail('invalid control character in string');
      if (c !== 92) {
        this.pos++;
        continue;
      }
      out += t.slice(start, this.pos);
      const e = t[this.pos + 1];
      this.pos += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          const hex = t.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('invalid \\uXXXX escape');
          // Surrogate pairs need no special care: JS strings are UTF-16 too.
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
          break;
        }
        default:
          this.pos -= 1;
          this.fail('invalid escape');
      }
      start = this.pos;
    }
  }

  array(depth: number): PyValue[] {
    this.pos++;
    const out: PyValue[] = [];
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return out;
      }
      this.fail("expecting ',' or ']'");
    }
  }

  object(depth: number): PyDict {
    this.pos++;
    const out: PyDict = new Map();
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail('expecting a property name in double quotes');
      const key = this.string();
      this.ws();
      if (this.text[this.pos] !== ':') this.fail("expecting ':'");
      this.pos++;
      this.ws();
      out.set(key, this.value(depth + 1));
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return out;
      }
      this.fail("expecting ',' or '}'");
    }
  }
}
