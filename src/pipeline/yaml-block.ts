import { PyFloat, type PyDict, type PyValue } from '../core/pyvalue.js';

/**
 * A reader for the plain block style that programs write: dvc.lock (by DVC's
 * ruamel and by reprod), status/*.yaml. Indented mappings and lists, plain
 * and quoted one-line scalars, `[]` and `{}`. It builds the values directly
 * from the lines, with none of the syntax tree the full parser keeps (for a
 * dvc.lock of 5,000 stages, tens of megabytes and a second of work).
 *
 * It reads only what it is sure of: anything else (anchors, tags, comments
 * after values, block or multi-line scalars, flow collections with items,
 * escapes, tabs, numbers other than plain decimal ints, keys that are not
 * plain strings, repeated keys, odd indentation, nesting deeper than
 * `maxDepth`) makes it return undefined, and the full parser reads the text,
 * with its errors and its limits. What it returns is what the full parser
 * would return.
 */
export function readBlockYaml(text: string, maxDepth: number): PyValue | undefined {
  if (text.includes('\r') || text.includes('\t') || text.charCodeAt(0) === 0xfeff) return undefined;
  const lines: Line[] = [];
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    let indent = start;
    while (indent < end && text.charCodeAt(indent) === 32) indent++;
    // blank lines and whole-line comments carry nothing
    if (indent < end && text.charCodeAt(indent) !== 35) lines.push({ indent: indent - start, text: text.slice(indent, end).trimEnd() });
    start = end + 1;
  }
  if (lines.length === 0) return null;
  const first = lines[0] as Line;
  if (first.indent !== 0) return undefined;
  const reader = new BlockReader(lines, maxDepth);
  try {
    const value = reader.block(0, 1);
    return reader.done() ? value : undefined;
  } catch (e) {
    if (e === UNSURE) return undefined;
    throw e;
  }
}

interface Line {
  indent: number;
  text: string;
}

/** Thrown inside the reader when the text needs the full parser. */
const UNSURE = Symbol('unsure');

function unsure(): never {
  throw UNSURE;
}

/** First characters that make a plain scalar something else (YAML's indicators), or that need care. */
const INDICATORS = new Set([...'-?:,[]{}#&*!|>\'"%@`']);
const PLAIN_KEY = /^[A-Za-z_/.][^:#'"]*$/;
const DECIMAL = /^-?(?:0|[1-9][0-9]*)$/;
/** YAML 1.2 core schema values other than strings: left to the full parser (ints as DECIMAL excepted). */
const NOT_A_STRING = /^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
/** Floats as YAML 1.2's core schema writes them (a decimal point or an exponent; no sign but `-`). */
const FLOAT = /^-?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+|\.[0-9]+[eE][-+]?[0-9]+)$/;
const NULLS = new Set(['~', 'null', 'Null', 'NULL']);
const BOOLS = new Map([
  ['true', true],
  ['True', true],
  ['TRUE', true],
  ['false', false],
  ['False', false],
  ['FALSE', false],
]);

class BlockReader {
  private i = 0;

  constructor(
    private readonly lines: Line[],
    private readonly maxDepth: number,
  ) {}

  done(): boolean {
    return this.i === this.lines.length;
  }

  /** The mapping or list whose first line is the current one, at its indentation; `depth` counts it. */
  block(indent: number, depth: number): PyValue {
    // at the limit the full parser decides (and reports what goes past it)
    if (depth >= this.maxDepth) unsure();
    const line = this.lines[this.i] as Line;
    if (line.indent !== indent) unsure();
    return isItem(line.text) ? this.list(indent, depth) : this.mapping(indent, depth);
  }

  /** `indentless`: the list of a key at the key's own indentation, which ends at the next key. */
  private list(indent: number, depth: number, indentless = false): PyValue[] {
    const out: PyValue[] = [];
    for (;;) {
      const line = this.lines[this.i];
      if (line === undefined || line.indent < indent) return out;
      if (indentless && line.indent === indent && !isItem(line.text)) return out;
      if (line.indent > indent || !isItem(line.text)) unsure();
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.i++;
        out.push(this.nested(indent, depth, false));
      } else if (isItem(rest)) {
        unsure();
      } else if (keyEnd(rest) >= 0) {
        // `- key: value`: a mapping whose lines are indented as far as its first key
        this.lines[this.i] = { indent: indent + line.text.length - rest.length, text: rest };
        out.push(this.block(indent + line.text.length - rest.length, depth + 1));
      } else {
        this.i++;
        out.push(this.scalar(rest));
        this.after(indent);
      }
    }
  }

  private mapping(indent: number, depth: number): PyDict {
    const out: PyDict = new Map();
    for (;;) {
      const line = this.lines[this.i];
      if (line === undefined || line.indent < indent) return out;
      if (line.indent > indent || isItem(line.text)) {
        // a list at a key's own indentation belongs to the key before it (handled there)
        unsure();
      }
      const end = keyEnd(line.text);
      if (end < 0) unsure();
      const key = readKey(line.text.slice(0, end));
      if (out.has(key)) unsure();
      const rest = line.text.slice(end + 1).trimStart();
      this.i++;
      if (rest === '') {
        out.set(key, this.nested(indent, depth, true));
      } else {
        out.set(key, this.scalar(rest));
        this.after(indent);
      }
    }
  }

  /** The value of a key or item with nothing after it on its line: a block below it, or null. */
  private nested(indent: number, depth: number, ofKey: boolean): PyValue {
    const next = this.lines[this.i];
    if (next === undefined || next.indent < indent) return null;
    if (next.indent > indent) return this.block(next.indent, depth + 1);
    // a key's list may start at the key's own indentation (`deps:\n- path: …`, as ruamel writes it)
    if (ofKey && isItem(next.text)) return this.list(indent, depth + 1, true);
    return null;
  }

  /** After a scalar on its line: a more indented line would continue it (a multi-line scalar). */
  private after(indent: number): void {
    const next = this.lines[this.i];
    if (next !== undefined && next.indent > indent) unsure();
  }

  private scalar(s: string): PyValue {
    const c = s[0] as string;
    if (c === "'") {
      const body = s.slice(1, -1);
      if (s.length < 2 || !s.endsWith("'") || body.replaceAll("''", '').includes("'")) unsure();
      return body.replaceAll("''", "'");
    }
    if (c === '"') {
      const body = s.slice(1, -1);
      if (s.length < 2 || !s.endsWith('"') || body.includes('"') || body.includes('\\')) unsure();
      return body;
    }
    if (s === '[]') return [];
    if (s === '{}') return new Map();
    if ((INDICATORS.has(c) && !(c === '-' && s.length > 1 && s[1] !== ' ')) || s.includes(': ') || s.includes(' #') || s.endsWith(':')) unsure();
    if (NULLS.has(s)) return null;
    const b = BOOLS.get(s);
    if (b !== undefined) return b;
    if (DECIMAL.test(s) && s !== '-0') {
      const n = Number(s);
      if (Number.isSafeInteger(n)) return n;
    }
    if (FLOAT.test(s)) return new PyFloat(Number.parseFloat(s));
    if (NOT_A_STRING.test(s)) unsure();
    return s;
  }
}

function isItem(text: string): boolean {
  return text === '-' || text.startsWith('- ');
}

/** Where the `:` that ends a key is (followed by a space or the end of the line), -1 when none. */
function keyEnd(text: string): number {
  if (text[0] === "'" || text[0] === '"') {
    const close = text.indexOf(text[0], 1);
    return close > 0 && text[close + 1] === ':' && (close + 2 === text.length || text[close + 2] === ' ') ? close + 1 : -1;
  }
  const colon = text.indexOf(':');
  return colon > 0 && (colon + 1 === text.length || text[colon + 1] === ' ') ? colon : -1;
}

/** A key as a string: plain ones that are strings in YAML's core schema, or quoted ones with no escapes. */
function readKey(k: string): string {
  const q = k[0];
  if (q === "'" || q === '"') {
    const body = k.slice(1, -1);
    if (body.includes('\\') || body.includes(q)) unsure();
    return body;
  }
  if (!PLAIN_KEY.test(k) || k.endsWith(' ') || NULLS.has(k) || BOOLS.has(k) || NOT_A_STRING.test(k)) unsure();
  return k;
}
