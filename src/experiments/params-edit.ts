import { isMap, parseDocument, Scalar, type Document } from 'yaml';
import { ReprodError } from '../core/errors.js';
import type { Assignment, SweepValue } from './sweep.js';

/**
 * Writes an experiment's -S values into a params file's text, as DVC's
 * `apply_overrides` does: the file keeps its other keys, their order and (in
 * YAML) its comments; a key that is not there is an error unless it was given
 * as `+key=`. YAML and JSON files can be edited; TOML and Python ones cannot.
 */
export function applyAssignments(file: string, text: string, assignments: readonly Assignment[]): string {
  if (/\.json$/i.test(file)) return applyJson(file, text, assignments);
  if (!/\.ya?ml$/i.test(file)) {
    throw new ReprodError('USAGE', `-S cannot set values in '${file}': only YAML and JSON params files can be edited`, {
      remedy: 'Move the swept parameters to a YAML params file (params.yaml).',
    });
  }
  const doc: Document = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new ReprodError('PARAMS_FILE', `'${file}' is not valid YAML: ${e?.message ?? ''}`, {
      source: { file, ...(e?.linePos?.[0] ? { line: e.linePos[0].line } : {}) },
    });
  }
  if (doc.contents === null) doc.contents = doc.createNode({});
  for (const a of assignments) {
    const keyPath = a.key.split('.');
    let node: unknown = doc.contents;
    for (let i = 0; i < keyPath.length - 1; i++) {
      if (!isMap(node)) throw notAMapping(file, keyPath.slice(0, i).join('.') || '(top)', a.key);
      let child: unknown = node.get(keyPath[i], true);
      if (child === undefined) {
        if (!a.add) throw missingKey(file, a.key);
        child = doc.createNode({});
        node.set(keyPath[i], child);
      }
      node = child;
    }
    if (!isMap(node)) throw notAMapping(file, keyPath.slice(0, -1).join('.') || '(top)', a.key);
    const last = keyPath[keyPath.length - 1] as string;
    if (!a.add && !node.has(last)) throw missingKey(file, a.key);
    node.set(last, yamlNode(a.value));
  }
  return doc.toString({ lineWidth: 0 });
}

function yamlNode(v: SweepValue): Scalar {
  switch (v.kind) {
    case 'null':
      return new Scalar(null);
    case 'bool':
      return new Scalar(v.value);
    case 'int':
      return new Scalar(Number(v.value));
    case 'float': {
      const s = new Scalar(v.value);
      // 1.0 stays a float when read back (YAML would write 1)
      if (Number.isInteger(v.value)) s.minFractionDigits = 1;
      return s;
    }
    case 'str':
      return new Scalar(v.value);
  }
}

function applyJson(file: string, text: string, assignments: readonly Assignment[]): string {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ReprodError('PARAMS_FILE', `'${file}' is not valid JSON`, { source: { file }, cause: e });
  }
  for (const a of assignments) {
    const keyPath = a.key.split('.');
    let node = data;
    for (let i = 0; i < keyPath.length - 1; i++) {
      if (!isRecord(node)) throw notAMapping(file, keyPath.slice(0, i).join('.') || '(top)', a.key);
      const k = keyPath[i] as string;
      if (!(k in node)) {
        if (!a.add) throw missingKey(file, a.key);
        node[k] = {};
      }
      node = node[k];
    }
    if (!isRecord(node)) throw notAMapping(file, keyPath.slice(0, -1).join('.') || '(top)', a.key);
    const last = keyPath[keyPath.length - 1] as string;
    if (!a.add && !(last in node)) throw missingKey(file, a.key);
    node[last] = jsonValue(a.value);
  }
  return `${JSON.stringify(data, null, 4)}\n`;
}

function jsonValue(v: SweepValue): unknown {
  return v.kind === 'null' ? null : v.kind === 'int' ? Number(v.value) : v.value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function missingKey(file: string, key: string): ReprodError {
  return new ReprodError('PARAMS_MISSING', `-S ${key}: '${file}' has no key '${key}'`, {
    source: { file, key },
    remedy: `Check the key's spelling, or write -S +${key}=... to add it.`,
  });
}

function notAMapping(file: string, at: string, key: string): ReprodError {
  return new ReprodError('PARAMS_FILE', `-S ${key}: '${at}' in '${file}' is not a mapping`, { source: { file, key } });
}

