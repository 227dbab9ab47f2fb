import { isPyDict, PyFloat, pyFloatRepr, type PyDict, type PyScalar, type PyValue } from '../core/pyvalue.js';

/**
 * Block-style YAML exactly as DVC writes it: ruamel.yaml's round-trip dumper
 * with `default_flow_style = False` and its defaults (line width 80, map and
 * sequence indent 2, sequences not indented under their key, unicode allowed,
 * YAML 1.2 resolution), so that a file reprod writes is byte-identical to the
 * one DVC would write from the same data.
 *
 * Contract, for every value this module accepts:
 * - strings are plain when ruamel would leave them plain, else single-quoted,
 *   else double-quoted with escapes; a string that would read back as another
 *   type (`'2.0'`, `'true'`, `'null'`, `'123'`, `''`) is quoted, `yes` is not;
 * - plain and quoted scalars fold at a single space once the line has passed
 *   column 80; continuation lines are indented two past their container;
 * - empty lists and mappings are written `[]` and `{}`;
 * - `null` is written as nothing after `key:` (ruamel's round-trip style);
 * - floats are Python's `repr` (`.nan`, `.inf`, `-.inf` for the specials).
 *
 * Widths count code points, as Python's `len` does.
 */
export function emitYaml(root: PyDict | PyValue[]): string {
  const w = new BlockWriter();
  w.document(root);
  return w.text();
}

const BEST_WIDTH = 80;
const INDENT_STEP = 2;
/** ruamel writes longer (or multi-line) keys in the explicit `? key` form. */
const MAX_SIMPLE_KEY_LENGTH = 128;

const LINE_BREAKS = new Set(['\n', '\x85', '\u2028', '\u2029']);
const BLANK_OR_BREAK = new Set(['\0', ' ', '\t', '\r', '\n', '\x85', '\u2028', '\u2029']);
const LEADING_INDICATORS = new Set([...'#,[]{}&*!|>\'"%@`']);

type Style = 'plain' | 'single' | 'double';

interface ScalarText {
  text: string;
  /** A string (must read back as a string); other scalars carry their own type. */
  isStr: boolean;
}

interface Analysis {
  empty: boolean;
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
}

interface NodeContext {
  /** The node is an item of a block sequence. */
  sequence: boolean;
  /** The node is a key or a value of a block mapping. */
  mapping: boolean;
  /** The node is a key written in the implicit `key:` form. */
  simpleKey: boolean;
}

const NO_CONTEXT: NodeContext = { sequence: false, mapping: false, simpleKey: false };

function codePoints(s: string): string[] {
  return Array.from(s);
}

function isBreak(ch: string | undefined): boolean {
  return ch !== undefined && LINE_BREAKS.has(ch);
}

/** Printable characters that ruamel (with `allow_unicode`) writes as they are. */
function isPrintableUnicode(cp: number): boolean {
  return (
    cp === 0x85 ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  ) && cp !== 0xfeff;
}

function scalarText(v: PyScalar): ScalarText {
  if (v === null) return { text: '', isStr: false };
  if (typeof v === 'boolean') return { text: v ? 'true' : 'false', isStr: false };
  if (typeof v === 'bigint') return { text: v.toString(), isStr: false };
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return { text: Object.is(v, -0) ? '0' : BigInt(v).toString(), isStr: false };
    return { text: floatText(v), isStr: false };
  }
  if (v instanceof PyFloat) return { text: floatText(v.value), isStr: false };
  return { text: v, isStr: true };
}

function floatText(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (x === Infinity) return '.inf';
  if (x === -Infinity) return '-.inf';
  return pyFloatRepr(x).toLowerCase();
}

// YAML 1.2 implicit types as ruamel resolves plain scalars; each applies only
// when the first character is one of those listed (ruamel's dispatch).
const IMPLICIT_TYPES: readonly { first: string; re: RegExp }[] = [
  { first: 'tTfF', re: /^(?:true|True|TRUE|false|False|FALSE)$/ },
  {
    first: '-+0123456789.',
    re: /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/,
  },
  { first: '-+0123456789', re: /^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$/ },
  { first: '<', re: /^(?:<<)$/ },
  { first: '~nN', re: /^(?:~|null|Null|NULL)$/ },
  {
    first: '0123456789',
    re: /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/,
  },
  { first: '=', re: /^(?:=)$/ },
  { first: '!&*', re: /^(?:!|&|\*)$/ },
];

/** True when a plain scalar with this text would read back as a string. */
export function plainReadsAsString(text: string): boolean {
  // The empty plain scalar is null.
  if (text === '') return false;
  const first = codePoints(text)[0] as string;
  // Python's `$` also matches before a final newline.
  const candidates = text.endsWith('\n') ? [text, text.slice(0, -1)] : [text];
  for (const { first: firsts, re } of IMPLICIT_TYPES) {
    if (firsts.includes(first) && candidates.some((c) => re.test(c))) return false;
  }
  return true;
}

function analyze(cps: readonly string[]): Analysis {
  if (cps.length === 0) {
    return { empty: true, multiline: false, allowBlockPlain: true, allowSingleQuoted: true };
  }
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;

  const head = cps.slice(0, 3).join('');
  if (head === '---' || head === '...') blockIndicators = true;

  let precededByBlank = true;
  let followedByBlank = cps.length === 1 || BLANK_OR_BREAK.has(cps[1] as string);
  let previousSpace = false;
  let previousBreak = false;

  for (let i = 0; i < cps.length; i++) {
    const ch = cps[i] as string;
    if (i === 0) {
      if (LEADING_INDICATORS.has(ch)) blockIndicators = true;
      if ((ch === '?' || ch === ':') && followedByBlank) blockIndicators = true;
      if (ch === '-' && followedByBlank) blockIndicators = true;
    } else {
      if (ch === ':' && followedByBlank) blockIndicators = true;
      if (ch === '#' && precededByBlank) blockIndicators = true;
    }

    if (isBreak(ch)) lineBreaks = true;
    const cp = ch.codePointAt(0) as number;
    if (!(ch === '\n' || (cp >= 0x20 && cp <= 0x7e)) && !isPrintableUnicode(cp)) special = true;

    if (ch === ' ') {
      if (i === 0) leadingSpace = true;
      if (i === cps.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(ch)) {
      if (i === 0) leadingBreak = true;
      if (i === cps.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }

    precededByBlank = BLANK_OR_BREAK.has(ch);
    followedByBlank = i + 2 >= cps.length || BLANK_OR_BREAK.has(cps[i + 2] as string);
  }

  const plainBlocked =
    leadingSpace || leadingBreak || trailingSpace || trailingBreak || breakSpace || special || spaceBreak || lineBreaks || blockIndicators;
  return {
    empty: false,
    multiline: lineBreaks,
    allowBlockPlain: !plainBlocked,
    allowSingleQuoted: !(breakSpace || special || spaceBreak),
  };
}

function chooseStyle(s: ScalarText, a: Analysis, simpleKey: boolean): Style {
  const plainKeepsType = !s.isStr || plainReadsAsString(s.text);
  if (plainKeepsType && !(simpleKey && (a.empty || a.multiline)) && a.allowBlockPlain) return 'plain';
  if (s.text.includes("'") || s.text.includes('\n')) return 'double';
  if (a.allowSingleQuoted && !(simpleKey && a.multiline)) return 'single';
  return 'double';
}

const DOUBLE_QUOTE_ESCAPES: ReadonlyMap<string, string> = new Map([
  ['\0', '0'],
  ['\x07', 'a'],
  ['\x08', 'b'],
  ['\t', 't'],
  ['\n', 'n'],
  ['\x0b', 'v'],
  ['\x0c', 'f'],
  ['\r', 'r'],
  ['\x1b', 'e'],
  ['"', '"'],
  ['\\', '\\'],
  ['\x85', 'N'],
  ['\xa0', '_'],
  ['\u2028', 'L'],
  ['\u2029', 'P'],
]);

function hex(cp: number, digits: number): string {
  return cp.toString(16).toUpperCase().padStart(digits, '0');
}

function doubleQuoteEscape(ch: string): string {
  const named = DOUBLE_QUOTE_ESCAPES.get(ch);
  if (named !== undefined) return `\\${named}`;
  const cp = ch.codePointAt(0) as number;
  if (cp <= 0xff) return `\\x${hex(cp, 2)}`;
  if (cp <= 0xffff) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

function needsDoubleQuoteEscape(ch: string): boolean {
  if ('"\\\x85\u2028\u2029\ufeff'.includes(ch)) return true;
  const cp = ch.codePointAt(0) as number;
  return !((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd));
}

/**
 * Writes one document with the layout state ruamel's emitter keeps: the
 * current column, whether the last character written was blank, and whether
 * the line so far holds only indentation and indicators.
 */
class BlockWriter {
  private readonly out: string[] = [];
  private column = 0;
  private whitespace = true;
  private indention = true;
  private indent: number | null = null;
  private readonly indents: (number | null)[] = [];

  text(): string {
    return this.out.join('');
  }

  document(root: PyDict | PyValue[]): void {
    this.node(root, NO_CONTEXT);
    this.writeIndent();
  }

  private node(v: PyValue, ctx: NodeContext): void {
    if (Array.isArray(v)) {
      if (v.length === 0) this.emptyFlow('[', ']');
      else this.blockSequence(v, ctx);
    } else if (isPyDict(v)) {
      if (v.size === 0) this.emptyFlow('{', '}');
      else this.blockMapping(v);
    } else {
      this.scalar(v, ctx);
    }
  }

  private increaseIndent(flow: boolean, indentless = false): void {
    this.indents.push(this.indent);
    if (this.indent === null) this.indent = flow ? null : 0;
    else if (!indentless) this.indent += INDENT_STEP;
  }

  private popIndent(): void {
    this.indent = this.indents.pop() ?? null;
  }

  private emptyFlow(open: string, close: string): void {
    this.writeIndicator(open, true, true);
    this.writeIndicator(close, false);
    this.writeLineBreak();
  }

  private blockSequence(items: PyValue[], ctx: NodeContext): void {
    // Under a `key:` the dashes stay at the key's indentation.
    this.increaseIndent(false, ctx.mapping && !this.indention);
    for (const item of items) {
      this.writeIndent();
      this.writeIndicator('-', true, false, true);
      this.node(item, { sequence: true, mapping: false, simpleKey: false });
    }
    this.popIndent();
  }

  private blockMapping(map: PyDict): void {
    this.increaseIndent(false);
    for (const [key, value] of map) {
      this.writeIndent();
      const keyPoints = codePoints(key);
      const simple = keyPoints.length < MAX_SIMPLE_KEY_LENGTH && !analyze(keyPoints).multiline;
      if (simple) {
        this.node(key, { sequence: false, mapping: true, simpleKey: true });
        this.writeIndicator(':', false);
      } else {
        this.writeIndicator('?', true, false, true);
        this.node(key, { sequence: false, mapping: true, simpleKey: false });
        this.writeIndent();
        this.writeIndicator(':', true, false, true);
      }
      this.node(value, { sequence: false, mapping: true, simpleKey: false });
    }
    this.popIndent();
  }

  private scalar(v: PyScalar, ctx: NodeContext): void {
    if (this.indent === null) throw new TypeError('emitYaml: a document must be a mapping or a list');
    this.increaseIndent(true);
    const s = scalarText(v);
    const cps = codePoints(s.text);
    const style = chooseStyle(s, analyze(cps), ctx.simpleKey);
    const split = !ctx.simpleKey;
    if (ctx.sequence) this.writeIndent();
    if (style === 'plain') this.writePlain(cps, split);
    else if (style === 'single') this.writeSingleQuoted(cps, split);
    else this.writeDoubleQuoted(cps, split);
    this.popIndent();
  }

  // ------------------------------------------------------------ low level

  private raw(data: string): void {
    this.column += codePoints(data).length;
    this.out.push(data);
  }

  private writeIndicator(indicator: string, needWhitespace: boolean, whitespace = false, indention = false): void {
    const data = this.whitespace || !needWhitespace ? indicator : ` ${indicator}`;
    this.whitespace = whitespace;
    this.indention = this.indention && indention;
    this.raw(data);
  }

  private writeIndent(): void {
    const indent = this.indent ?? 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) {
      this.writeLineBreak();
    }
    if (this.column < indent) {
      this.whitespace = true;
      this.out.push(' '.repeat(indent - this.column));
      this.column = indent;
    }
  }

  private writeLineBreak(data = '\n'): void {
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
    this.out.push(data);
  }

  private writeLineBreaks(run: readonly string[]): void {
    if (run[0] === '\n') this.writeLineBreak();
    for (const br of run) this.writeLineBreak(br);
    this.writeIndent();
  }

  private writePlain(cps: readonly string[], split: boolean): void {
    if (cps.length === 0) return;
    if (!this.whitespace) this.raw(' ');
    this.whitespace = false;
    this.indention = false;
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= cps.length; end++) {
      const ch = cps[end];
      if (spaces) {
        if (ch !== ' ') {
          if (start + 1 === end && this.column > BEST_WIDTH && split) {
            this.writeIndent();
            this.whitespace = false;
            this.indention = false;
          } else {
            this.raw(cps.slice(start, end).join(''));
          }
          start = end;
        }
      } else if (breaks) {
        if (!isBreak(ch)) {
          this.writeLineBreaks(cps.slice(start, end));
          this.whitespace = false;
          this.indention = false;
          start = end;
        }
      } else if (ch === undefined || ch === ' ' || isBreak(ch)) {
        this.raw(cps.slice(start, end).join(''));
        start = end;
      }
      if (ch !== undefined) {
        spaces = ch === ' ';
        breaks = isBreak(ch);
      }
    }
  }

  private writeSingleQuoted(cps: readonly string[], split: boolean): void {
    this.writeIndicator("'", true);
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= cps.length; end++) {
      const ch = cps[end];
      if (spaces) {
        if (ch !== ' ') {
          if (start + 1 === end && this.column > BEST_WIDTH && split && start !== 0 && end !== cps.length) {
            this.writeIndent();
          } else {
            this.raw(cps.slice(start, end).join(''));
          }
          start = end;
        }
      } else if (breaks) {
        if (!isBreak(ch)) {
          this.writeLineBreaks(cps.slice(start, end));
          start = end;
        }
      } else if (ch === undefined || ch === ' ' || ch === "'" || isBreak(ch)) {
        if (start < end) {
          this.raw(cps.slice(start, end).join(''));
          start = end;
        }
      }
      if (ch === "'") {
        this.raw("''");
        start = end + 1;
      }
      if (ch !== undefined) {
        spaces = ch === ' ';
        breaks = isBreak(ch);
      }
    }
    this.writeIndicator("'", false);
  }

  private writeDoubleQuoted(cps: readonly string[], split: boolean): void {
    this.writeIndicator('"', true);
    let start = 0;
    for (let end = 0; end <= cps.length; end++) {
      const ch = cps[end];
      if (ch === undefined || needsDoubleQuoteEscape(ch)) {
        if (start < end) {
          this.raw(cps.slice(start, end).join(''));
          start = end;
        }
        if (ch !== undefined) {
          this.raw(doubleQuoteEscape(ch));
          start = end + 1;
        }
      }
      // Fold at a space (or right after an escape) once the line would pass the width;
      // a trailing backslash joins the lines, a leading one keeps a folded space.
      if (
        end > 0 &&
        end < cps.length - 1 &&
        (ch === ' ' || start >= end) &&
        this.column + (end - start) > BEST_WIDTH &&
        split
      ) {
        const data = `${cps.slice(start, end).join('')}\\`;
        if (start < end) start = end;
        this.raw(data);
        this.writeIndent();
        this.whitespace = false;
        this.indention = false;
        if (cps[start] === ' ') this.raw('\\');
      }
    }
    this.writeIndicator('"', false);
  }
}
