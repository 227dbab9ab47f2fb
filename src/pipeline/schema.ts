import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ReprodError } from '../core/errors.js';
import { isPyDict, PyFloat, type PyValue } from '../core/pyvalue.js';
import { isFalsy, withYamlErrorLine } from './params-file.js';
import { formatKeyPath, loadYaml, pointerToKeyPath, type KeyPath, type LoadedYaml } from './yaml-load.js';

/**
 * dvc.yaml's JSON Schema (`schemas/dvc.schema.json`) checked with ajv, with
 * errors a human can act on: `dvc.yaml:7: stages.train: unknown key 'extra'`.
 * The schema applies to the file as written, before `${}` is resolved, which
 * is also when DVC checks it.
 */

// Loaded through the module system so that the schema stays a plain JSON file
// beside the code, in the source tree and in the published package alike.
const SCHEMA_URL = new URL('../../schemas/dvc.schema.json', import.meta.url);
const schemaModule: unknown = await import(SCHEMA_URL.href, { with: { type: 'json' } });

function schemaObject(): Record<string, unknown> {
  const m = schemaModule;
  if (m !== null && typeof m === 'object' && 'default' in m) {
    const d: unknown = m.default;
    if (d !== null && typeof d === 'object' && !Array.isArray(d)) return d as Record<string, unknown>;
  }
  throw new Error(`${SCHEMA_URL.pathname} is not a JSON object`);
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (compiled === undefined) {
    const ajv = new Ajv2020({ allErrors: true, allowUnionTypes: true, strictTypes: false });
    compiled = ajv.compile(schemaObject());
  }
  return compiled;
}

/** The dvc.yaml JSON Schema as an object (for tools that want to export it). */
export function dvcYamlSchema(): Record<string, unknown> {
  return schemaObject();
}

/** Line of a key path, the key's own line for mapping entries. */
export type KeyLineOf = (path: KeyPath) => number | undefined;

/**
 * Checks a loaded dvc.yaml against the schema. `keyLineOf` (see
 * {@link yamlKeyLines}) places an unknown key on its own line even when its
 * value starts on the next one; without it, `loaded.lineOf` is used.
 */
export function validateDvcYamlSchema(loaded: LoadedYaml, file: string, keyLineOf?: KeyLineOf): ReprodError[] {
  // An empty document is an empty pipeline, as for DVC (`load() or {}`).
  const value = isFalsy(loaded.value) ? new Map<string, PyValue>() : loaded.value;
  const data = toJson(value);
  const validate = validator();
  if (validate(data)) return [];

  const lineOf = (p: KeyPath): number | undefined => keyLineOf?.(p) ?? loaded.lineOf(p);
  const seen = new Set<string>();
  const out: { err: ReprodError; line: number; order: number }[] = [];
  for (const e of validate.errors ?? []) {
    const d = describe(e, value);
    if (d === undefined) continue;
    const id = `${formatKeyPath(d.path)}\u0000${d.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const line = lineOf(d.linePath);
    const key = formatKeyPath(d.path);
    out.push({
      err: new ReprodError('SCHEMA', d.message, {
        source: { file, ...(key !== '' ? { key } : {}), ...(line !== undefined ? { line } : {}) },
      }),
      line: line ?? 0,
      order: out.length,
    });
  }
  out.sort((a, b) => a.line - b.line || a.order - b.order);
  return out.map((x) => x.err);
}

/** `reprod validate --schema-only`: YAML syntax and schema, nothing read besides the text. */
export function validateDvcYamlText(text: string, file: string): ReprodError[] {
  let loaded: LoadedYaml;
  try {
    loaded = loadYaml(text, file);
  } catch (e) {
    if (e instanceof ReprodError) return [withYamlErrorLine(e, text)];
    throw e;
  }
  return validateDvcYamlSchema(loaded, file, yamlKeyLines(text));
}

// ---------------------------------------------------------------- messages

interface Described {
  /** The mapping or item the message is about. */
  path: KeyPath;
  /** Where to point: the offending key itself for unknown keys. */
  linePath: KeyPath;
  message: string;
}

function describe(e: ErrorObject, root: PyValue): Described | undefined {
  const path = pointerToKeyPath(root, e.instancePath);
  const params: Record<string, unknown> = e.params;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      return {
        path,
        linePath: [...path, key],
        message: path.length === 0 ? `unknown top-level key '${key}'` : `unknown key '${key}'`,
      };
    }
    case 'required':
      return { path, linePath: path, message: `missing required key '${String(params.missingProperty)}'` };
    case 'type': {
      const want = Array.isArray(params.type) ? params.type.map(String) : [String(params.type)];
      const got = valueAt(root, path);
      return { path, linePath: path, message: `expected ${joinOr(want.map(typeWord))}, got ${got === undefined ? 'nothing' : actualWord(got)}` };
    }
    case 'minProperties':
      return { path, linePath: path, message: 'must not be empty' };
    case 'if':
    case 'anyOf':
    case 'oneOf':
      // the branch's own errors say what is wrong
      return undefined;
    default:
      return { path, linePath: path, message: e.message ?? `fails '${e.keyword}'` };
  }
}

function typeWord(t: string): string {
  switch (t) {
    case 'string':
      return 'a string';
    case 'array':
      return 'a list';
    case 'object':
      return 'a mapping';
    case 'boolean':
      return 'true or false';
    case 'null':
      return 'nothing (null)';
    case 'number':
    case 'integer':
      return 'a number';
    default:
      return t;
  }
}

function actualWord(v: PyValue): string {
  if (v === null) return 'nothing (null)';
  if (typeof v === 'boolean') return `a boolean (${v ? 'true' : 'false'})`;
  if (typeof v === 'number' || typeof v === 'bigint' || v instanceof PyFloat) return `a number (${String(v)})`;
  if (typeof v === 'string') return 'a string';
  if (Array.isArray(v)) return 'a list';
  return 'a mapping';
}

function joinOr(words: string[]): string {
  if (words.length <= 1) return words[0] ?? '';
  return `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}


function valueAt(root: PyValue, path: KeyPath): PyValue | undefined {
  let cur: PyValue | undefined = root;
  for (const p of path) {
    if (Array.isArray(cur) && typeof p === 'number') cur = cur[p];
    else if (cur !== undefined && isPyDict(cur)) cur = cur.get(String(p));
    else return undefined;
  }
  return cur;
}

/** Plain JSON for ajv; mappings become prototype-less objects so that any key is just a key. */
function toJson(v: PyValue): unknown {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (isPyDict(v)) {
    const o = Object.create(null) as Record<string, unknown>;
    for (const [k, x] of v) o[k] = toJson(x);
    return o;
  }
  return v;
}

// ---------------------------------------------------------------- key lines

/**
 * Line lookup that gives a mapping entry the line of its key (`lineOf` of
 * yaml-load gives the line where the value starts, which for a block value
 * is the next line). Parses the text again, once, on first use.
 */
export function yamlKeyLines(text: string): KeyLineOf {
  let state: { doc: Document; lc: LineCounter } | null | undefined;
  return (path) => {
    if (state === undefined) {
      const lc = new LineCounter();
      const doc = parseDocument(text, { lineCounter: lc, version: '1.2' });
      state = doc.errors.length > 0 ? null : { doc, lc };
    }
    if (state === null) return undefined;
    return keyLine(state.doc, state.lc, path);
  };
}

function keyLine(doc: Document, lc: LineCounter, path: KeyPath): number | undefined {
  let cur: unknown = doc.contents;
  let line: number | undefined = cur !== null && isMap(cur) && cur.range ? lc.linePos(cur.range[0]).line : undefined;
  for (const p of path) {
    if (isAlias(cur)) cur = cur.resolve(doc);
    if (isMap(cur)) {
      const pair = cur.items.find((it) => (isScalar(it.key) ? String(it.key.value) : String(it.key)) === String(p));
      if (!pair) return line;
      const k: unknown = pair.key;
      if (isScalar(k) && k.range) line = lc.linePos(k.range[0]).line;
      cur = pair.value;
    } else if (isSeq(cur) && typeof p === 'number') {
      const item: unknown = cur.items[p];
      if (item === undefined) return line;
      if ((isScalar(item) || isMap(item) || isSeq(item)) && item.range) line = lc.linePos(item.range[0]).line;
      cur = item;
    } else {
      return line;
    }
  }
  return line;
}
