import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv2020, Options, ValidateFunction } from 'ajv/dist/2020.js';

/**
 * The JSON Schemas of `schemas/`, loaded and compiled in one place, with one
 * ajv setup (draft 2020-12). Every file reprod reads or writes by a schema is
 * checked through here; {@link ./schema-errors.ts} turns the errors into words.
 *
 * Compiling them costs more than all the rest of a warm `reprod status`, so
 * `npm run build` compiles them ahead of time into
 * `dist/pipeline/schema-validators.cjs` (scripts/schema-validators.ts, ajv's
 * standalone code). That file is used only when it was made from these very
 * schema files (it carries a hash of their text); otherwise, and when
 * running from the sources, ajv compiles each schema on first use.
 *
 * Nothing is read or loaded before the first call: a command that validates
 * nothing pays nothing for this module.
 */

/** Each schema by the file it describes. */
export type SchemaName = 'dvc.yaml' | 'dvc.lock' | 'manifest' | 'status';

const SCHEMA_FILES: Readonly<Record<SchemaName, string>> = {
  'dvc.yaml': 'dvc.schema.json',
  'dvc.lock': 'dvc.lock.schema.json',
  manifest: 'manifest.schema.json',
  status: 'status.schema.json',
};

export const SCHEMA_NAMES: readonly SchemaName[] = ['dvc.yaml', 'dvc.lock', 'manifest', 'status'];

/** `schemas/<file>`, for messages. */
export function schemaFile(name: SchemaName): string {
  return `schemas/${SCHEMA_FILES[name]}`;
}

/**
 * CommonJS loading beside this module: the compiled validators (ajv writes
 * CommonJS; required, Node does not scan their 230 KB for export names as an
 * import would) and ajv itself when they are missing.
 */
const localRequire = createRequire(import.meta.url);

const texts = new Map<SchemaName, string>();
const documents = new Map<SchemaName, Record<string, unknown>>();

/**
 * A schema file's text, read on first use. The schemas stay plain JSON files
 * beside the code (schemas/ sits two levels above both src/pipeline/ and
 * dist/pipeline/), in the source tree and in the published package alike.
 */
function schemaText(name: SchemaName): string {
  let text = texts.get(name);
  if (text === undefined) {
    if (!Object.hasOwn(SCHEMA_FILES, name)) throw new TypeError(`no schema named '${name}'`);
    text = readFileSync(new URL(`../../schemas/${SCHEMA_FILES[name]}`, import.meta.url), 'utf8');
    texts.set(name, text);
  }
  return text;
}

/** A schema as a plain object (for tools that want to export it). */
export function schemaDocument(name: SchemaName): Record<string, unknown> {
  let doc = documents.get(name);
  if (doc === undefined) {
    const parsed: unknown = JSON.parse(schemaText(name));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TypeError(`${schemaFile(name)} is not a JSON object`);
    doc = parsed as Record<string, unknown>;
    documents.set(name, doc);
  }
  return doc;
}

/**
 * cyrb53, a 53-bit non-cryptographic hash: enough to tell whether the
 * compiled validators were made from the schema files at hand, without
 * loading node:crypto for it.
 */
function cyrb53(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0');
}

/** A hash of every schema file's text as read: what compiled validators were made from. */
export function schemasHash(): string {
  return cyrb53(SCHEMA_NAMES.map((name) => `${name}\n${schemaText(name)}\n`).join(''));
}

/**
 * The one ajv setup: every error (not only the first), strict about the
 * schemas themselves except for two rules that dvc.schema.json, a mirror of
 * DVC's own validator, does not follow (`required` keys defined in a
 * sibling branch, `additionalProperties` on values that may also be lists).
 */
export const AJV_OPTIONS: Readonly<Options> = { allErrors: true, strict: true, strictRequired: false, strictTypes: false, allowUnionTypes: true };

/** The export of each schema's validator in the compiled module. */
export const VALIDATOR_EXPORTS: Readonly<Record<SchemaName, string>> = { 'dvc.yaml': 'dvcYaml', 'dvc.lock': 'dvcLock', manifest: 'manifest', status: 'status' };

/** ajv's draft 2020-12 class: what compiles the schemas. */
export type AjvClass = typeof Ajv2020;

/** ajv (`Ajv`, the class) with every schema added, for the compiled module's generator (`code` options) and for compiling here. */
export function schemaAjv(Ajv: AjvClass, options: Options = {}): Ajv2020 {
  const ajv = new Ajv({ ...AJV_OPTIONS, ...options });
  for (const name of SCHEMA_NAMES) ajv.addSchema(schemaDocument(name), name);
  return ajv;
}

/** The compiled validators' file, beside this module (dist/pipeline/). */
const COMPILED = './schema-validators.cjs';

/**
 * The compiled validators' module, or undefined when there is none (running
 * from the sources, or not built: ajv compiles here). The CLI bundle holds
 * the validators it was built with: scripts/bundle-cli.ts replaces this
 * function, whole, by a require that esbuild follows.
 */
function requireCompiled(): unknown {
  if (!existsSync(new URL(COMPILED, import.meta.url))) return undefined;
  return localRequire(COMPILED);
}

/** The validators compiled by `npm run build`, when they were made from these schemas. */
function loadCompiled(): Map<SchemaName, ValidateFunction> | undefined {
  const mod = requireCompiled();
  if (typeof mod !== 'object' || mod === null || !('schemasHash' in mod) || mod.schemasHash !== schemasHash()) return undefined;
  const exported = mod as Record<string, unknown>;
  const out = new Map<SchemaName, ValidateFunction>();
  for (const name of SCHEMA_NAMES) {
    const fn = exported[VALIDATOR_EXPORTS[name]];
    if (typeof fn !== 'function') return undefined;
    out.set(name, fn as ValidateFunction);
  }
  return out;
}

/** The compiled validators (looked for on the first call; null: none fit), else ajv compiling the schemas. */
let compiled: Map<SchemaName, ValidateFunction> | null | undefined;
let ajv: Ajv2020 | undefined;

/**
 * The compiled validator of a schema. `T` is the shape the schema accepts,
 * stated by the caller: the schema file is what guarantees it. Each schema
 * is taken from the compiled validators, or else compiled by ajv, on first
 * use and kept; with the compiled validators, ajv's compiler is never loaded.
 */
export function schemaValidator<T = unknown>(name: SchemaName): ValidateFunction<T> {
  if (compiled === undefined) compiled = loadCompiled() ?? null;
  if (compiled !== null) {
    const ready = compiled.get(name);
    if (ready === undefined) throw new TypeError(`${schemaFile(name)} is missing from the compiled validators`);
    return ready as ValidateFunction<T>;
  }
  ajv ??= schemaAjv((localRequire('ajv/dist/2020.js') as { Ajv2020: AjvClass }).Ajv2020);
  const validate = ajv.getSchema<T>(name);
  if (validate === undefined) throw new TypeError(`${schemaFile(name)} did not compile`);
  return validate;
}
