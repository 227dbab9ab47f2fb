import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

/**
 * The JSON Schemas of `schemas/`, loaded and compiled in one place, with one
 * ajv setup (draft 2020-12). Every file reprod reads or writes by a schema is
 * checked through here; {@link ./schema-errors.ts} turns the errors into words.
 */

/** Each schema by the file it describes. */
export type SchemaName = 'dvc.yaml' | 'dvc.lock' | 'manifest' | 'status';

const SCHEMA_FILES: Readonly<Record<SchemaName, string>> = {
  'dvc.yaml': 'dvc.schema.json',
  'dvc.lock': 'dvc.lock.schema.json',
  manifest: 'manifest.schema.json',
  status: 'status.schema.json',
};

const NAMES: readonly SchemaName[] = ['dvc.yaml', 'dvc.lock', 'manifest', 'status'];

/** `schemas/<file>`, for messages. */
export function schemaFile(name: SchemaName): string {
  return `schemas/${SCHEMA_FILES[name]}`;
}

// Loaded through the module system, so that the schemas stay plain JSON files
// beside the code (schemas/ sits two levels above both src/pipeline/ and
// dist/pipeline/), in the source tree and in the published package alike.
const documents = new Map<SchemaName, Record<string, unknown>>(
  await Promise.all(
    NAMES.map(async (name): Promise<[SchemaName, Record<string, unknown>]> => {
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

let ajv: Ajv2020 | undefined;

/**
 * The one ajv setup: every error (not only the first), strict about the
 * schemas themselves except for two rules that dvc.schema.json, a mirror of
 * DVC's own validator, does not follow (`required` keys defined in a
 * sibling branch, `additionalProperties` on values that may also be lists).
 * Each schema is compiled on first use and kept.
 */
function instance(): Ajv2020 {
  if (ajv === undefined) {
    ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false, strictTypes: false, allowUnionTypes: true });
    for (const name of NAMES) ajv.addSchema(schemaDocument(name), name);
  }
  return ajv;
}

/**
 * The compiled validator of a schema. `T` is the shape the schema accepts,
 * stated by the caller: the schema file is what guarantees it.
 */
export function schemaValidator<T = unknown>(name: SchemaName): ValidateFunction<T> {
  const validate = instance().getSchema<T>(name);
  if (validate === undefined) throw new TypeError(`${schemaFile(name)} did not compile`);
  return validate;
}
