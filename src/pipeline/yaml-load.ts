import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { ReprodError } from '../core/errors.js';
import { PyFloat, type PyDict, type PyValue } from '../core/pyvalue.js';

/** A key path into a YAML document: `['stages', 'train', 'deps', 0]`. */
export type KeyPath = readonly (string | number)[];

export interface LoadedYaml {
  value: PyValue;
  /** 1-based line of the node at `path` (or of its nearest existing ancestor). */
  lineOf(path: KeyPath): number | undefined;
}

const INT_RE = /^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$/;

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
 * the column (the parser's offset, counted in `text`: a caller that loads a
 * piece of a file pads it with the lines before it).
 */
export function loadYaml(text: string, file: string): LoadedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, version: '1.2' });
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
    const firstLine = err.message.split('\n')[0] ?? err.message;
    throw new ReprodError('YAML_SYNTAX', `invalid YAML: ${firstLine.replace(/ at line \d+, column \d+:?$/, '')}`, {
      source: { file, ...(pos ? { line: pos.line, column: pos.col } : {}) },
      cause: err,
    });
  }
  const value = doc.contents === null ? null : toPy(doc.contents, doc, file, lineCounter);
  return {
    value,
    lineOf(path: KeyPath): number | undefined {
      for (let n = path.length; n >= 0; n--) {
        const node = nodeAt(doc, path.slice(0, n));
        if (node?.range) return lineCounter.linePos(node.range[0]).line;
      }
      return undefined;
    },
  };
}

function nodeAt(doc: Document, path: KeyPath): Node | undefined {
  let cur: unknown = doc.contents;
  for (const p of path) {
    if (isAlias(cur)) cur = cur.resolve(doc);
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

function toPy(node: unknown, doc: Document, file: string, lc: LineCounter): PyValue {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) return toPy(node.resolve(doc), doc, file, lc);
  if (isMap(node)) {
    const out: PyDict = new Map();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? pair.key.value : pair.key;
      if (key !== null && typeof key === 'object') {
        const line = isScalar(pair.key) || !pair.key ? undefined : (pair.key as Node).range?.[0];
        throw new ReprodError('YAML_SYNTAX', 'complex mapping keys are not supported', {
          source: { file, ...(line !== undefined ? { line: lc.linePos(line).line } : {}) },
        });
      }
      // `<<` merge keys: YAML 1.1 only; in 1.2 they are ordinary keys, as in ruamel's safe loader.
      out.set(String(key), toPy(pair.value, doc, file, lc));
    }
    return out;
  }
  if (isSeq(node)) return node.items.map((it) => toPy(it, doc, file, lc));
  if (isScalar(node)) {
    const v = node.value;
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
  return null;
}
