import { ReprodError } from '../core/errors.js';

/**
 * `exp run -S` overrides, parsed as DVC parses them: DVC hands each
 * `[file:]key=value` to Hydra's override grammar and expands the sweeps with
 * Hydra's BasicSweeper, then takes the product across params files
 * (`dvc/utils/hydra.py` get_hydra_sweeps, `dict_product`).
 *
 * Forms accepted for the value (Hydra's basic sweeps):
 *   `0.1`                         one value
 *   `0.1,1,10`                    a list sweep
 *   `choice(a,b)`                 the same, spelled out
 *   `range(start,stop[,step])`    Python's range (stop excluded); floats allowed, as Hydra allows
 * and for the key: `key`, `+key` (add a key the file lacks), `file.yaml:key`.
 * Values are typed as Hydra types them: null, true/false, ints, floats, else
 * strings (quotes keep a string a string: `'1'`).
 */

/** A value as Hydra types it. Floats keep their text so `1.0` stays a float. */
export type SweepValue =
  | { kind: 'null' }
  | { kind: 'bool'; value: boolean }
  | { kind: 'int'; value: bigint }
  | { kind: 'float'; value: number }
  | { kind: 'str'; value: string };

export interface ParamOverride {
  /** The params file (default params.yaml). */
  file: string;
  /** The dotted key inside it. */
  key: string;
  /** `+key=`: the key may be new. */
  add: boolean;
  /** One value, or the values of a sweep, in order. */
  values: SweepValue[];
  /** The -S text as given, for messages. */
  text: string;
}

/** One experiment's settings: every override with one value. */
export interface Assignment {
  file: string;
  key: string;
  add: boolean;
  value: SweepValue;
}

export const DEFAULT_PARAMS = 'params.yaml';
/** The most experiments one `exp run` may expand to: a typo in range() must not start a million runs. */
export const MAX_GRID = 1000;

const KEY = /^[A-Za-z_][\w-]*(\.[A-Za-z_0-9][\w-]*)*$/;

function usage(text: string, why: string): ReprodError {
  return new ReprodError('USAGE', `-S '${text}': ${why}`, {
    remedy: "Write -S [file:]key=value, where value is one value, a,b,c, choice(a,b) or range(start,stop[,step]) (see docs/EXPERIMENTS.md).",
  });
}

/** Parses one `-S` argument. */
export function parseOverride(text: string, defaultFile = DEFAULT_PARAMS): ParamOverride {
  const eq = text.indexOf('=');
  if (eq < 0) throw usage(text, "no '=': expected key=value");
  let left = text.slice(0, eq).trim();
  const right = text.slice(eq + 1).trim();
  let file = defaultFile;
  const colon = left.lastIndexOf(':');
  if (colon >= 0) {
    file = left.slice(0, colon).trim();
    left = left.slice(colon + 1).trim();
    if (file === '') throw usage(text, 'empty params file name before ":"');
  }
  let add = false;
  if (left.startsWith('++')) throw usage(text, "'++' (force-add) is not supported; use '+key=' for a new key or 'key=' for an existing one");
  if (left.startsWith('~')) throw usage(text, "'~' (delete a key) is not supported");
  if (left.startsWith('+')) {
    add = true;
    left = left.slice(1);
  }
  if (!KEY.test(left)) throw usage(text, `'${left}' is not a key (dotted names: train.C)`);
  if (right === '') throw usage(text, 'no value after "="');
  return { file, key: left, add, values: parseSweep(right, text), text };
}

/** The values a right-hand side stands for. */
export function parseSweep(rhs: string, text = rhs): SweepValue[] {
  const fn = /^(choice|range)\s*\((.*)\)$/s.exec(rhs);
  if (fn) {
    const args = splitTop(fn[2] as string, text).map((a) => a.trim());
    if (args.some((a) => a === '')) throw usage(text, `empty argument in ${fn[1]}()`);
    if (fn[1] === 'choice') {
      if (args.length === 0) throw usage(text, 'choice() needs at least one value');
      return args.map((a) => parseScalar(a, text));
    }
    return expandRange(args.map((a) => parseScalar(a, text)), text);
  }
  if (/^[\w.]+\s*\(/.test(rhs)) throw usage(text, `unsupported sweep function (choice() and range() are)`);
  return splitTop(rhs, text).map((a) => {
    const v = a.trim();
    if (v === '') throw usage(text, 'empty value in a list sweep');
    return parseScalar(v, text);
  });
}

/** Splits at commas outside quotes and brackets. */
function splitTop(s: string, text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let cur = '';
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += ch;
  }
  if (quote) throw usage(text, `unclosed ${quote} quote`);
  parts.push(cur);
  return parts;
}

const INT = /^[+-]?\d(_?\d)*$/;
const FLOAT = /^[+-]?((\d(_?\d)*)?\.\d(_?\d)*([eE][+-]?\d+)?|\d(_?\d)*\.?([eE][+-]?\d+)|\d(_?\d)*\.)$/;

/** One primitive, typed as Hydra's grammar types it. */
export function parseScalar(s: string, text = s): SweepValue {
  if ((s.startsWith("'") && s.endsWith("'")) || (s.startsWith('"') && s.endsWith('"'))) {
    if (s.length < 2) throw usage(text, 'unclosed quote');
    return { kind: 'str', value: s.slice(1, -1) };
  }
  if (/^[[{]/.test(s)) throw usage(text, 'lists and mappings as values are not supported; give one value per key');
  const lower = s.toLowerCase();
  if (lower === 'null') return { kind: 'null' };
  if (lower === 'true' || lower === 'false') return { kind: 'bool', value: lower === 'true' };
  if (INT.test(s)) return { kind: 'int', value: BigInt(s.replace(/_/g, '')) };
  if (FLOAT.test(s)) return { kind: 'float', value: Number(s.replace(/_/g, '')) };
  if (/^[+-]?(inf|nan)$/.test(lower)) return { kind: 'float', value: lower.includes('nan') ? NaN : lower.startsWith('-') ? -Infinity : Infinity };
  return { kind: 'str', value: s };
}

function numberOf(v: SweepValue, text: string): number | bigint {
  if (v.kind === 'int' || v.kind === 'float') return v.value;
  throw usage(text, 'range() takes numbers');
}

/** Hydra's range sweep: start, start+step, ... while before stop; ints stay ints, any float makes them floats. */
function expandRange(args: SweepValue[], text: string): SweepValue[] {
  if (args.length < 1 || args.length > 3) throw usage(text, 'range() takes (stop), (start, stop) or (start, stop, step)');
  const nums = args.map((a) => numberOf(a, text));
  const [start, stop, step] = nums.length === 1 ? [0n, nums[0], 1n] : [nums[0], nums[1], nums[2] ?? 1n];
  const allInt = [start, stop, step].every((n) => typeof n === 'bigint');
  const out: SweepValue[] = [];
  if (allInt) {
    const [a, b, s] = [start as bigint, stop as bigint, step as bigint];
    if (s === 0n) throw usage(text, 'range() step must not be zero');
    for (let x = a; s > 0n ? x < b : x > b; x += s) {
      out.push({ kind: 'int', value: x });
      if (out.length > MAX_GRID) throw usage(text, `more than ${MAX_GRID} values`);
    }
    return out;
  }
  const [a, b, s] = [Number(start), Number(stop), Number(step)];
  if (s === 0 || !Number.isFinite(s) || !Number.isFinite(a) || !Number.isFinite(b)) throw usage(text, 'range() needs finite numbers and a step that is not zero');
  // start + i*step (not repeated addition), so that 0.1 steps do not drift
  for (let i = 0; ; i++) {
    const x = a + i * s;
    if (s > 0 ? x >= b : x <= b) break;
    out.push({ kind: 'float', value: x });
    if (out.length > MAX_GRID) throw usage(text, `more than ${MAX_GRID} values`);
  }
  return out;
}

/**
 * The grid of experiments: the product of every override's values, the first
 * override varying slowest (itertools.product's order, as BasicSweeper's),
 * overrides grouped by params file in the order the files first appear.
 */
export function sweepGrid(overrides: readonly ParamOverride[]): Assignment[][] {
  const seen = new Set<string>();
  for (const o of overrides) {
    const id = `${o.file}:${o.key}`;
    if (seen.has(id)) throw usage(o.text, `'${o.key}' of ${o.file} is set twice`);
    seen.add(id);
  }
  const files = [...new Set(overrides.map((o) => o.file))];
  const ordered = files.flatMap((f) => overrides.filter((o) => o.file === f));
  let grid: Assignment[][] = [[]];
  for (const o of ordered) {
    const next: Assignment[][] = [];
    for (const row of grid) for (const value of o.values) next.push([...row, { file: o.file, key: o.key, add: o.add, value }]);
    if (next.length > MAX_GRID) {
      throw new ReprodError('USAGE', `the -S sweeps make ${next.length}+ experiments, more than ${MAX_GRID}`, { remedy: 'Sweep fewer values at once.' });
    }
    grid = next;
  }
  return overrides.length === 0 ? [[]] : grid;
}

/** A value as the -S text for it (what `exp show` and messages print). */
export function sweepValueText(v: SweepValue): string {
  switch (v.kind) {
    case 'null':
      return 'null';
    case 'bool':
      return v.value ? 'true' : 'false';
    case 'int':
      return v.value.toString();
    case 'float':
      return Number.isInteger(v.value) ? `${v.value}.0` : String(v.value);
    case 'str':
      return v.value;
  }
}
