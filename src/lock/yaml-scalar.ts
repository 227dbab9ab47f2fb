import { PyFloat, pyFloatRepr, type PyScalar } from '../core/pyvalue.js';

/**
 * The scalar side of emitYaml (yaml-emit.ts): which style ruamel.yaml would
 * give a scalar (plain, single- or double-quoted), with its text and escapes,
 * and the layout constants it folds by. Widths count code points.
 */

export const BEST_WIDTH = 80;
export const INDENT_STEP = 2;
/** ruamel writes longer (or multi-line) keys in the explicit `? key` form. */
export const MAX_SIMPLE_KEY_LENGTH = 128;

export const LINE_BREAKS = new Set(['\n', '\x85', '\u2028', '\u2029']);
export const BLANK_OR_BREAK = new Set(['\0', ' ', '\t', '\r', '\n', '\x85', '\u2028', '\u2029']);
export const LEADING_INDICATORS = new Set([...'#,[]{}&*!|>\'"%@`']);

export type Style = 'plain' | 'single' | 'double';

export interface ScalarText {
  text: string;
  /** A string (must read back as a string); other scalars carry their own type. */
  isStr: boolean;
}

export interface Analysis {
  empty: boolean;
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
}

export interface NodeContext {
  /** The node is an item of a block sequence. */
  sequence: boolean;
  /** The node is a key or a value of a block mapping. */
  mapping: boolean;
  /** The node is a key written in the implicit `key:` form. */
  simpleKey: boolean;
}

export const NO_CONTEXT: NodeContext = { sequence: false, mapping: false, simpleKey: false };

export function codePoints(s: string): string[] {
  return Array.from(s);
}

export function isBreak(ch: string | undefined): boolean {
  return ch !== undefined && LINE_BREAKS.has(ch);
}

/** Printable characters that ruamel (with `allow_unicode`) writes as they are. */
export function isPrintableUnicode(cp: number): boolean {
  return (
    cp === 0x85 ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  ) && cp !== 0xfeff;
}

export function scalarText(v: PyScalar): ScalarText {
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

export function floatText(x: number): string {
  if (Number.isNaN(x)) return '.nan';
  if (x === Infinity) return '.inf';
  if (x === -Infinity) return '-.inf';
  return pyFloatRepr(x).toLowerCase();
}

// YAML 1.2 implicit types as ruamel resolves plain scalars; each applies only
// when the first character is one of those listed (ruamel's dispatch).
export const IMPLICIT_TYPES: readonly { first: string; re: RegExp }[] = [
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

export function analyze(cps: readonly string[]): Analysis {
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

export function chooseStyle(s: ScalarText, a: Analysis, simpleKey: boolean): Style {
  const plainKeepsType = !s.isStr || plainReadsAsString(s.text);
  if (plainKeepsType && !(simpleKey && (a.empty || a.multiline)) && a.allowBlockPlain) return 'plain';
  if (s.text.includes("'") || s.text.includes('\n')) return 'double';
  if (a.allowSingleQuoted && !(simpleKey && a.multiline)) return 'single';
  return 'double';
}

export const DOUBLE_QUOTE_ESCAPES: ReadonlyMap<string, string> = new Map([
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

export function hex(cp: number, digits: number): string {
  return cp.toString(16).toUpperCase().padStart(digits, '0');
}

export function doubleQuoteEscape(ch: string): string {
  const named = DOUBLE_QUOTE_ESCAPES.get(ch);
  if (named !== undefined) return `\\${named}`;
  const cp = ch.codePointAt(0) as number;
  if (cp <= 0xff) return `\\x${hex(cp, 2)}`;
  if (cp <= 0xffff) return `\\u${hex(cp, 4)}`;
  return `\\U${hex(cp, 8)}`;
}

export function needsDoubleQuoteEscape(ch: string): boolean {
  if ('"\\\x85\u2028\u2029\ufeff'.includes(ch)) return true;
  const cp = ch.codePointAt(0) as number;
  return !((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd));
}
