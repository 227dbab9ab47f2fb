import { isPyDict, type PyDict, type PyScalar, type PyValue } from '../core/pyvalue.js';
import { BEST_WIDTH, INDENT_STEP, MAX_SIMPLE_KEY_LENGTH, NO_CONTEXT, analyze, chooseStyle, codePoints, doubleQuoteEscape, isBreak, needsDoubleQuoteEscape, scalarText, type NodeContext } from './yaml-scalar.js';

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
