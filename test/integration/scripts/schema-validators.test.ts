/**
 * The validators `npm run build` compiles ahead of time must be the
 * validators ajv compiles at run time: the same verdict and the same errors
 * (which the describer turns into messages) on every document of the
 * conformance data and on broken variants of them. The compiled file is
 * written into the repository's .tmp/ (gitignored) and required as the built
 * CLI requires it.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SCHEMA_NAMES, VALIDATOR_EXPORTS, schemaValidator, schemasHash, type SchemaName } from '../../../src/pipeline/schemas.js';
import { schemaValidatorsCode } from '../../../scripts/schema-validators.js';
import { conformance } from '../../helpers/conformance.js';

const REPO = path.resolve(import.meta.dirname, '../../..');

function find(dir: string, name: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir).sort()) {
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...find(p, name));
    else if (e === name) out.push(p);
  }
  return out;
}

/** Valid documents of each kind, and broken variants: a key too many, a wrong type, a key missing. */
function documents(): { name: SchemaName; doc: unknown }[] {
  const docs: { name: SchemaName; doc: unknown }[] = [];
  const add = (name: SchemaName, doc: unknown) => {
    docs.push({ name, doc });
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return;
    const rec = doc as Record<string, unknown>;
    docs.push({ name, doc: { ...rec, bogus: 1 } });
    for (const k of Object.keys(rec)) {
      docs.push({ name, doc: { ...rec, [k]: 42 } });
      const rest = { ...rec };
      delete rest[k];
      docs.push({ name, doc: rest });
    }
  };
  for (const f of find(conformance(), 'dvc.yaml')) add('dvc.yaml', parse(readFileSync(f, 'utf8')));
  for (const f of find(conformance(), 'dvc.lock')) add('dvc.lock', parse(readFileSync(f, 'utf8')));
  for (const text of readFileSync(path.join(REPO, 'manifests', 'train.yaml'), 'utf8').split(/^---$/m)) add('manifest', parse(text));
  add('status', { apiVersion: 'reprod.dev/v1', kind: 'StageStatus', metadata: { name: 's', generation: 1 }, spec: {}, status: { phase: 'UpToDate' } });
  return docs;
}

const dir = path.join(REPO, '.tmp', 'schema-validators-test');
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `validators-${process.pid}.cjs`);
writeFileSync(file, schemaValidatorsCode());
const mod = createRequire(import.meta.url)(file) as Record<string, unknown>;

describe('schema validators compiled ahead of time', () => {
  afterAll(() => rmSync(file, { force: true }));

  it('say which schemas they were made from', () => {
    expect(mod['schemasHash']).toBe(schemasHash());
  });

  it('give the verdict and the errors ajv gives, document by document', () => {
    const docs = documents();
    expect(docs.length).toBeGreaterThan(200);
    const verdicts = new Set<boolean>();
    for (const name of SCHEMA_NAMES) {
      const compiled = mod[VALIDATOR_EXPORTS[name]] as ((d: unknown) => boolean) & { errors?: unknown };
      expect(typeof compiled, name).toBe('function');
      const ajv = schemaValidator(name);
      for (const { doc } of docs.filter((d) => d.name === name)) {
        const want = ajv(doc);
        verdicts.add(want);
        expect(compiled(doc), JSON.stringify(doc).slice(0, 200)).toBe(want);
        expect(compiled.errors ?? null).toEqual(ajv.errors ?? null);
      }
    }
    // both verdicts were exercised
    expect([...verdicts].sort()).toEqual([false, true]);
  });
});
