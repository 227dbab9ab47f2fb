import { Composer, isAlias, isMap, isScalar, isSeq, LineCounter, Lexer, Parser, visit, YAMLParseError, type Alias, type Document, type Node } from 'yaml';
import type { CST, Scalar, YAMLMap } from 'yaml';
import { ReprodError } from '../core/errors.js';
import { DEFAULT_INPUT_LIMITS, limitRemedy, type InputLimits } from '../core/input-limits.js';
import { PyFloat, type PyDict, type PyValue } from '../core/pyvalue.js';
import { readBlockYaml } from './yaml-block.js';

/** A key path into a YAML document: `['stages', 'train', 'deps', 0]`. */
export type KeyPath = readonly (string | number)[];

export interface LoadedYaml {
  value: PyValue;
  /** 1-based line of the node at `path` (or of its nearest existing ancestor). */
  lineOf(path: KeyPath): number | undefined;
}

export interface LoadYamlOptions {
  /** Nesting and alias bounds (see {@link InputLimits}); the defaults where absent. */
  limits?: Partial<Pick<InputLimits, 'maxDepth' | 'maxAliasValues'>>;
  /** Lines of the file before `text` (a piece of a file loaded alone): added to every line reported. */
  lineOffset?: number;
  /**
   * Text a program wrote (dvc.lock, status files): read by {@link readBlockYaml}
   * when it is in the plain block style, with lines looked up (a full parse)
   * only when an error asks for one.
   */
  written?: boolean;
}

const INT_RE = /^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$/;
const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/** Renders a key path as `stages.train.deps[0]`. */
export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out;
}

/**
 * Parses YAML 1.2 (as ruamel, DVC's parser, does: `yes` is a string) into
 * {@link PyValue}s, keeping ints and floats apart and mappings ordered.
 * A syntax error becomes a YAML_SYNTAX error naming the file, the line and
 * the column.
 *
 * Bounded, whatever the text: nesting deeper than `maxDepth` is refused while
 * the text is parsed (before any recursive step could exhaust the stack), and
 * aliases are expanded only until they have added `maxAliasValues` values
 * (a "billion laughs" of 12 levels is refused after ten thousand, not after
 * 10^13). Both are INPUT_LIMIT errors at the line where the limit was passed.
 */
export function loadYaml(text: string, file: string, opts: LoadYamlOptions = {}): LoadedYaml {
  const limits = { ...DEFAULT_INPUT_LIMITS, ...opts.limits };
  if (opts.written) {
    const value = readBlockYaml(text, limits.maxDepth);
    if (value !== undefined) {
      let full: LoadedYaml | undefined;
      return { value, lineOf: (path) => (full ??= loadYaml(text, file, { ...opts, written: false })).lineOf(path) };
    }
  }
  const lineOffset = opts.lineOffset ?? 0;
  const lineCounter = new LineCounter();
  const lineAt = (offset: number): { line: number; column: number } => {
    const p = lineCounter.linePos(offset);
    return { line: p.line + lineOffset, column: p.col };
  };
  const doc = composeBounded(text, file, lineCounter, limits.maxDepth, lineAt);
  const err = doc.errors[0];
  if (err) {
    const pos = lineAt(err.pos[0]);
    const firstLine = err.message.split('\n')[0] ?? err.message;
    throw new ReprodError('YAML_SYNTAX', `invalid YAML: ${firstLine.replace(/ at line \d+, column \d+:?$/, '')}`, {
      source: { file, line: pos.line, column: pos.column },
      cause: err,
    });
  }
  const targets = aliasTargets(doc);
  const value = doc.contents === null ? null : new Converter(file, targets, limits, lineAt).value(doc.contents);
  return {
    value,
    lineOf(path: KeyPath): number | undefined {
      for (let n = path.length; n >= 0; n--) {
        const node = nodeAt(doc, targets, path.slice(0, n));
        if (node?.range) return lineAt(node.range[0]).line;
      }
      return undefined;
    },
  };
}

/**
 * yaml's parseDocument, with the nesting bound applied to the parser's stack
 * of open collections as each token arrives: yaml composes documents
 * recursively, so a deep document must be refused before it is composed.
 */
function composeBounded(
  text: string,
  file: string,
  lineCounter: LineCounter,
  maxDepth: number,
  lineAt: (offset: number) => { line: number; column: number },
): Document.Parsed {
  const parser = new Parser(lineCounter.addNewLine);
  function* tokens(): Generator<CST.Token> {
    lineCounter.addNewLine(0);
    for (const lexeme of new Lexer().lex(text)) {
      yield* parser.next(lexeme);
      if (parser.stack.length > maxDepth) {
        const open = parser.stack.filter((t) => COLLECTIONS.has(t.type));
        const deepest = open[maxDepth];
        if (deepest !== undefined && 'offset' in deepest) throw tooDeep(file, maxDepth, lineAt(deepest.offset));
      }
    }
    yield* parser.end();
  }
  // keys are checked for repeats while converting: yaml's own check compares each key with all before it (quadratic)
  const composer = new Composer({ uniqueKeys: false, version: '1.2' });
  let doc: Document.Parsed | undefined;
  for (const d of composer.compose(tokens(), true, text.length)) {
    if (doc === undefined) {
      doc = d;
    } else {
      doc.errors.push(new YAMLParseError([d.range[0], d.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents'));
      break;
    }
  }
  if (doc === undefined) throw new Error('yaml composed no document (it always composes one)');
  return doc;
}

function tooDeep(file: string, maxDepth: number, at: { line: number; column?: number }, key?: string): ReprodError {
  return new ReprodError('INPUT_LIMIT', `nested more than ${maxDepth} levels deep`, {
    source: { file, line: at.line, ...(key ? { key } : at.column !== undefined ? { column: at.column } : {}) },
    remedy: limitRemedy('maxDepth', 'Nest the data less deeply'),
  });
}

/**
 * What each alias refers to: the last node before it (in document order)
 * with its anchor, as YAML defines it. One walk of the document; yaml's own
 * `Alias.resolve` walks the whole document again for every alias it resolves.
 */
function aliasTargets(doc: Document): Map<Alias, Node | undefined> {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node | undefined>();
  visit(doc, {
    Alias(_key, alias) {
      targets.set(alias, anchors.get(alias.source));
    },
    Node(_key, node) {
      if (!isAlias(node) && node.anchor) anchors.set(node.anchor, node);
    },
  });
  return targets;
}

function nodeAt(doc: Document, targets: Map<Alias, Node | undefined>, path: KeyPath): Node | undefined {
  let cur: unknown = doc.contents;
  for (const p of path) {
    if (isAlias(cur)) cur = targets.get(cur);
    if (isMap(cur)) {
      const pair = cur.items.find((it) => (isScalar(it.key) ? String(it.key.value) : String(it.key)) === String(p));
      if (!pair) return undefined;
      cur = pair.value ?? pair.key;
    } else if (isSeq(cur) && typeof p === 'number') {
      cur = cur.items[p];
    } else {
      return undefined;
    }
  }
  return (cur ?? undefined) as Node | undefined;
}

/** yaml nodes → PyValues, aliases expanded within the limits. */
class Converter {
  /** Values created while expanding aliases so far. */
  private aliasValues = 0;
  /** The outermost alias being expanded, and its key path: where a limit is reported. */
  private alias: Alias | undefined;
  private aliasKey = '';
  private depth = 0;
  private readonly path: (string | number)[] = [];

  constructor(
    private readonly file: string,
    private readonly targets: Map<Alias, Node | undefined>,
    private readonly limits: Pick<InputLimits, 'maxDepth' | 'maxAliasValues'>,
    private readonly lineAt: (offset: number) => { line: number; column: number },
  ) {}

  /** Where the problem at the current node is reported: its alias's line when expanding one. */
  private where(node: Node | undefined): { line: number; column?: number } {
    const n = this.alias ?? node;
    return n?.range ? this.lineAt(n.range[0]) : { line: 1 };
  }

  value(node: unknown): PyValue {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) {
      const target = this.targets.get(node);
      if (target === undefined) {
        throw new ReprodError('YAML_SYNTAX', `invalid YAML: the alias *${node.source} names no anchor before it`, {
          source: { file: this.file, ...(node.range ? { line: this.lineAt(node.range[0]).line, column: this.lineAt(node.range[0]).column } : {}) },
        });
      }
      const outermost = this.alias === undefined;
      if (outermost) {
        this.alias = node;
        this.aliasKey = formatKeyPath(this.path);
      }
      try {
        return this.value(target);
      } finally {
        if (outermost) this.alias = undefined;
      }
    }
    if (this.alias !== undefined && ++this.aliasValues > this.limits.maxAliasValues) {
      throw new ReprodError('INPUT_LIMIT', `YAML aliases here expand to more than ${this.limits.maxAliasValues} values (at *${this.alias.source})`, {
        source: { file: this.file, line: this.where(undefined).line, ...(this.aliasKey ? { key: this.aliasKey } : {}) },
        remedy: limitRemedy('maxAliasValues', 'Use fewer aliases (`*name`) of large anchors'),
      });
    }
    if (isMap(node) || isSeq(node)) {
      if (++this.depth > this.limits.maxDepth) {
        const key = this.alias ? this.aliasKey : formatKeyPath(this.path);
        throw tooDeep(this.file, this.limits.maxDepth, this.where(node), key || undefined);
      }
      try {
        return isMap(node) ? this.mapping(node) : node.items.map((it, i) => this.at(i, it));
      } finally {
        this.depth--;
      }
    }
    if (isScalar(node)) return scalar(node);
    return null;
  }

  private at(key: string | number, node: unknown): PyValue {
    this.path.push(key);
    try {
      return this.value(node);
    } finally {
      this.path.pop();
    }
  }

  private mapping(node: YAMLMap): PyDict {
    const out: PyDict = new Map();
    // keys as yaml compares them: `1` and `'1'` differ
    const seen = new Set<unknown>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (seen.has(key)) {
        const offset = isScalar(pair.key) ? pair.key.range?.[0] : undefined;
        const at = offset === undefined ? this.where(node) : this.lineAt(offset);
        throw new ReprodError('YAML_SYNTAX', 'invalid YAML: Map keys must be unique', { source: { file: this.file, ...at } });
      }
      seen.add(key);
      if (key !== null && typeof key === 'object') {
        const offset = isScalar(pair.key) || !pair.key ? undefined : (pair.key as Node).range?.[0];
        throw new ReprodError('YAML_SYNTAX', 'complex mapping keys are not supported', {
          source: { file: this.file, ...(offset !== undefined ? { line: this.lineAt(offset).line } : {}) },
        });
      }
      // `<<` merge keys: YAML 1.1 only; in 1.2 they are ordinary keys, as in ruamel's safe loader.
      out.set(String(key), this.at(String(key), pair.value));
    }
    return out;
  }
}

function scalar(node: Scalar): PyValue {
  const v: unknown = node.value;
  if (typeof v === 'number') {
    const src = node.source ?? '';
    if (node.type === 'PLAIN' && INT_RE.test(src)) {
      const n = Number(v);
      if (Number.isSafeInteger(n)) return n;
      return BigInt(src.startsWith('+') ? src.slice(1) : src);
    }
    return new PyFloat(v);
  }
  if (typeof v === 'bigint') return v;
  if (typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  return String(v);
}
