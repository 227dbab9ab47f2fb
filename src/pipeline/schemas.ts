import { createHash } from 'node:crypto';
import type { Ajv2020, Options, ValidateFunction } from 'ajv/dist/2020.js';

/**
 * The JSON Schemas of `schemas/`, loaded and compiled in one place, with one
 * ajv setup (draft 2020-12). Every file reprod reads or writes by a schema is
 * checked through here; {@link ./schema-errors.ts} turns the errors into words.
 *
 * Compiling them costs more than all the rest of a warm `reprod status`, so
 * `npm run build` compiles them ahead of time into
 * `dist/pipeline/schema-validators.mjs` (scripts/schema-validators.ts, ajv's
 * standalone code). That module is used only when it was made from these
 * very schema files (it carries their hash); otherwise, and when running
 * from the sources, ajv compiles each schema on first use.
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

// Loaded through the module system, so that the schemas stay plain JSON files
// beside the code (schemas/ sits two levels above both src/pipeline/ and
// dist/pipeline/), in the source tree and in the published package alike.
const documents = new Map<SchemaName, Record<string, unknown>>(
  await Promise.all(
    SCHEMA_NAMES.map(async (name): Promise<[SchemaName, Record<string, unknown>]> => {
      const url = new URL(`../../schemas/${SCHEMA_FILES[name]}`, import.meta.url);
      const mod: unknown = await import(url.href, { with: { type: 'json' } });
      const doc: unknown = mod !== null && typeof mod === 'object' && 'default' in mod ? mod.default : undefined;
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new TypeError(`${schemaFile(name)} is not a JSON object`);
      return [name, doc as Record<string, unknown>];
    }),
  ),
);

/** A schema as a plain object (for tools that want to export it). */
export function schemaDocument(name: SchemaName): Record<string, unknown> {
  const doc = documents.get(name);
  if (doc === undefined) throw new TypeError(`no schema named '${name}'`);
  return doc;
}

/** The sha256 of every schema as loaded: what compiled validators were made from. */
export function schemasHash(): string {
  const h = createHash('sha256');
  for (const name of SCHEMA_NAMES) h.update(`${name}\n${JSON.stringify(schemaDocument(name))}\n`);
  return h.digest('hex');
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

/** The validators compiled by `npm run build`, when they were made from these schemas. */
async function loadCompiled(): Promise<Map<SchemaName, ValidateFunction> | undefined> {
  let mod: unknown;
  try {
    const ns: unknown = await import(new URL('./schema-validators.mjs', import.meta.url).href);
    mod = ns !== null && typeof ns === 'object' && 'default' in ns ? ns.default : undefined;
  } catch (err) {
    // running from the sources, or not built: compile here
    if (typeof err === 'object' && err !== null && 'code' in err && err.code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
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

// With the compiled module, ajv's compiler is never loaded.
const compiled = await loadCompiled();
const compiler: AjvClass | undefined = compiled === undefined ? (await import('ajv/dist/2020.js')).Ajv2020 : undefined;
let ajv: Ajv2020 | undefined;

/**
 * The compiled validator of a schema. `T` is the shape the schema accepts,
 * stated by the caller: the schema file is what guarantees it. Each schema
 * is compiled (or taken from the compiled module) on first use and kept.
 */
export function schemaValidator<T = unknown>(name: SchemaName): ValidateFunction<T> {
  const ready = compiled?.get(name);
  if (ready) return ready as ValidateFunction<T>;
  if (compiler === undefined) throw new TypeError(`${schemaFile(name)} is missing from the compiled validators`);
  ajv ??= schemaAjv(compiler);
  const validate = ajv.getSchema<T>(name);
  if (validate === undefined) throw new TypeError(`${schemaFile(name)} did not compile`);
  return validate;
}
