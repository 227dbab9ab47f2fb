import type { ErrorObject } from 'ajv';
import { ReprodError, type ErrorCode } from '../core/errors.js';
import { PyFloat } from '../core/pyvalue.js';
import { schemaFile, schemaValidator, type SchemaName } from './schemas.js';
import { formatKeyPath, type KeyPath } from './yaml-load.js';

/**
 * A document checked against one of reprod's schemas, and ajv's errors in
 * words a user can act on, each placed at a key path and a line, which
 * {@link ReprodError.format} prints as `dvc.yaml:7: stages.train: unknown key 'extra'`.
 *
 * One vocabulary serves every schema. What differs from file to file is a
 * {@link SchemaWording}: where a key error points, how a failed alternative
 * (oneOf/anyOf) is explained, and the few messages a schema says in its own
 * words.
 */

/** What a message is about: `path` is shown, `linePath` gives the line. */
export interface Described {
  path: KeyPath;
  linePath?: KeyPath;
  message: string;
}

export interface SchemaWording {
  /**
   * An unknown key is reported on the mapping that holds it (`stages.b:
   * unknown key 'outz'`, as DVC words it) or on the key itself
   * (`spec.imag: unknown key 'imag'`). Its line is the key's either way.
   */
  unknownKeyAt: 'mapping' | 'key';
  /** A missing key is reported on the mapping that lacks it, or on the key's would-be path. */
  missingKeyAt: 'mapping' | 'key';
  /**
   * A failed oneOf/anyOf is explained by its branches' own errors
   * (`branches`), or by one message for the value, the branches' errors at
   * the same place dropped (`summary`).
   */
  alternatives: 'branches' | 'summary';
  /**
   * A schema's own words for an error: a description, null to drop the
   * error (another one says it better), undefined for the common words.
   * `at` is the key path of the value the error concerns.
   */
  special?(e: ErrorObject, at: KeyPath): Described | null | undefined;
}

const DEFAULT_WORDING: SchemaWording = { unknownKeyAt: 'key', missingKeyAt: 'mapping', alternatives: 'summary' };

/** One problem found, placed. */
export interface SchemaProblem {
  path: KeyPath;
  /** `path` as `stages.train.deps[0]`; '' for the document itself. */
  key: string;
  line?: number;
  message: string;
}

export type SchemaCheck<T> = { valid: true; value: T } | { valid: false; problems: SchemaProblem[] };

export interface SchemaCheckOptions {
  /** Line of a key path in the file checked (none for documents reprod builds itself). */
  lineOf?(path: KeyPath): number | undefined;
  /** Rewrites a path of the checked value to one of the file (a document checked inside a wrapper). */
  mapPath?(path: KeyPath): KeyPath;
  wording?: Partial<SchemaWording>;
}

/**
 * Checks `data` (reprod's YAML values: ordered maps, `PyFloat`s, big ints;
 * or plain JSON) against the schema `name`. Valid: the value as plain JSON,
 * of the shape `T` the schema accepts. Invalid: every problem, once each,
 * in the order of the file's lines (never none).
 */
export function checkSchema<T = unknown>(name: SchemaName, data: unknown, opts: SchemaCheckOptions = {}): SchemaCheck<T> {
  const validate = schemaValidator<T>(name);
  const value = toJson(data);
  if (validate(value)) return { valid: true, value };
  const wording: SchemaWording = { ...DEFAULT_WORDING, ...opts.wording };
  const mapPath = opts.mapPath ?? ((p: KeyPath) => p);
  const seen = new Set<string>();
  const found: { problem: SchemaProblem; order: number }[] = [];
  for (const e of relevant(validate.errors ?? [], wording)) {
    const at = pointerToKeyPath(data, e.instancePath);
    const d = describe(e, at, data, wording);
    if (d === null) continue;
    const path = mapPath(d.path);
    const key = formatKeyPath(path);
    const id = `${key}\u0000${d.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const line = opts.lineOf?.(mapPath(d.linePath ?? d.path));
    found.push({ problem: { path, key, ...(line !== undefined ? { line } : {}), message: d.message }, order: found.length });
  }
  if (found.length === 0) found.push({ problem: { path: [], key: '', ...lineAt(opts, mapPath([])), message: `does not match ${schemaFile(name)}` }, order: 0 });
  found.sort((a, b) => (a.problem.line ?? 0) - (b.problem.line ?? 0) || a.order - b.order);
  return { valid: false, problems: found.map((f) => f.problem) };
}

function lineAt(opts: SchemaCheckOptions, path: KeyPath): { line?: number } {
  const line = opts.lineOf?.(path);
  return line !== undefined ? { line } : {};
}

/** The problems as errors of `file`: `file:line: key: message`. */
export function problemErrors(problems: readonly SchemaProblem[], file: string, code: ErrorCode): ReprodError[] {
  return problems.map(
    (p) => new ReprodError(code, p.message, { source: { file, ...(p.key !== '' ? { key: p.key } : {}), ...(p.line !== undefined ? { line: p.line } : {}) } }),
  );
}

/** The problems on one line each, `key: message` (for documents with no file to point into). */
export function problemText(problems: readonly SchemaProblem[]): string {
  return problems.map((p) => (p.key === '' ? p.message : `${p.key}: ${p.message}`)).join('; ');
}

// ---------------------------------------------------------------- choosing

function isAlternative(e: ErrorObject): boolean {
  return e.keyword === 'oneOf' || e.keyword === 'anyOf';
}

/** `if` only says that a `then` failed, whose own errors follow; a summary's branch errors at the same place go. */
function relevant(all: readonly ErrorObject[], w: SchemaWording): ErrorObject[] {
  const kept = all.filter((e) => e.keyword !== 'if');
  if (w.alternatives === 'branches') return kept;
  return kept.filter((e) => !all.some((o) => isAlternative(o) && o.instancePath === e.instancePath && e.schemaPath.startsWith(`${o.schemaPath}/`)));
}

// ---------------------------------------------------------------- words

function describe(e: ErrorObject, at: KeyPath, root: unknown, w: SchemaWording): Described | null {
  const own = w.special?.(e, at);
  if (own !== undefined) return own;
  const params: Record<string, unknown> = e.params;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const keyPath = [...at, key];
      return {
        path: w.unknownKeyAt === 'key' ? keyPath : at,
        linePath: keyPath,
        message: at.length === 0 ? `unknown top-level key '${key}'` : `unknown key '${key}'`,
      };
    }
    case 'required': {
      const key = String(params['missingProperty']);
      return { path: w.missingKeyAt === 'key' ? [...at, key] : at, message: `missing required key '${key}'` };
    }
    case 'type': {
      const want = Array.isArray(params['type']) ? params['type'].map(String) : [String(params['type'])];
      const got = valueAt(root, at);
      return { path: at, message: `expected ${joinOr(want.map(typeWord))}, got ${got === undefined ? 'nothing' : actualWord(got)}` };
    }
    case 'const':
      return { path: at, message: `must be ${JSON.stringify(params['allowedValue'])}` };
    case 'enum': {
      const allowed = params['allowedValues'];
      return { path: at, message: `must be one of: ${Array.isArray(allowed) ? allowed.map((v) => JSON.stringify(v)).join(', ') : '?'}` };
    }
    case 'minProperties':
      return { path: at, message: params['limit'] === 1 ? 'must not be empty' : `must have at least ${String(params['limit'])} keys` };
    case 'oneOf':
    case 'anyOf':
      return w.alternatives === 'branches' ? null : { path: at, message: 'has a value of the wrong type or form' };
    default:
      return { path: at, message: e.message ?? `fails '${e.keyword}'` };
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

function actualWord(v: unknown): string {
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

// ---------------------------------------------------------------- values and paths

function child(v: unknown, key: string | number): unknown {
  if (Array.isArray(v)) return typeof key === 'number' ? v[key] : undefined;
  if (v instanceof Map) return v.get(String(key));
  if (v !== null && typeof v === 'object') return Object.entries(v).find(([k]) => k === String(key))?.[1];
  return undefined;
}

function valueAt(root: unknown, path: KeyPath): unknown {
  let cur: unknown = root;
  for (const p of path) {
    cur = child(cur, p);
    if (cur === undefined) return undefined;
  }
  return cur;
}

/** A JSON pointer (as ajv reports it) as a key path: list indices as numbers, so that lines can be looked up. */
export function pointerToKeyPath(root: unknown, pointer: string): (string | number)[] {
  if (pointer === '') return [];
  const path: (string | number)[] = [];
  let cur: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = Array.isArray(cur) && /^\d+$/.test(seg) ? Number(seg) : seg;
    path.push(key);
    cur = child(cur, key);
  }
  return path;
}

/** Plain JSON for ajv; mappings become prototype-less objects, so that any key is just a key. */
function toJson(v: unknown): unknown {
  if (v instanceof PyFloat) return v.value;
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map(toJson);
  if (v instanceof Map) {
    const o = Object.create(null) as Record<string, unknown>;
    for (const [k, x] of v) o[String(k)] = toJson(x);
    return o;
  }
  return v;
}
