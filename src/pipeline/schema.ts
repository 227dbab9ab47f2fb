import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ReprodError } from '../core/errors.js';
import type { PyValue } from '../core/pyvalue.js';
import { isFalsy } from './params-file.js';
import { checkSchema, problemErrors, type SchemaWording } from './schema-errors.js';
import { schemaDocument } from './schemas.js';
import { loadYaml, type KeyPath, type LoadedYaml } from './yaml-load.js';

/**
 * dvc.yaml's JSON Schema (`schemas/dvc.schema.json`) checked with ajv, with
 * errors a human can act on: `dvc.yaml:7: stages.train: unknown key 'extra'`.
 * The schema applies to the file as written, before `${}` is resolved, which
 * is also when DVC checks it.
 */

/** The dvc.yaml JSON Schema as an object (for tools that want to export it). */
export function dvcYamlSchema(): Record<string, unknown> {
  return schemaDocument('dvc.yaml');
}

/** Line of a key path, the key's own line for mapping entries. */
export type KeyLineOf = (path: KeyPath) => number | undefined;

/**
 * DVC's wording: key errors name the stage (or other mapping) they are in;
 * a value that fits none of its alternatives is explained by what each
 * alternative wanted (`expected a string or a list, got a number (5)`).
 */
const DVC_YAML_WORDING: Partial<SchemaWording> = { unknownKeyAt: 'mapping', missingKeyAt: 'mapping', alternatives: 'branches' };

/**
 * Checks a loaded dvc.yaml against the schema. `keyLineOf` (see
 * {@link yamlKeyLines}) places an unknown key on its own line even when its
 * value starts on the next one; without it, `loaded.lineOf` is used.
 */
export function validateDvcYamlSchema(loaded: LoadedYaml, file: string, keyLineOf?: KeyLineOf): ReprodError[] {
  // An empty document is an empty pipeline, as for DVC (`load() or {}`).
  const value = isFalsy(loaded.value) ? new Map<string, PyValue>() : loaded.value;
  const lineOf = (p: KeyPath): number | undefined => keyLineOf?.(p) ?? loaded.lineOf(p);
  const checked = checkSchema('dvc.yaml', value, { lineOf, wording: DVC_YAML_WORDING });
  return checked.valid ? [] : problemErrors(checked.problems, file, 'SCHEMA');
}

/** `reprod validate --schema-only`: YAML syntax and schema, nothing read besides the text. */
export function validateDvcYamlText(text: string, file: string): ReprodError[] {
  let loaded: LoadedYaml;
  try {
    loaded = loadYaml(text, file);
  } catch (e) {
    if (e instanceof ReprodError) return [e];
    throw e;
  }
  return validateDvcYamlSchema(loaded, file, yamlKeyLines(text));
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
      // the text has been loaded (and bounded) already; yaml's unique-key check is quadratic, and done there
      const doc = parseDocument(text, { lineCounter: lc, version: '1.2', uniqueKeys: false });
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
