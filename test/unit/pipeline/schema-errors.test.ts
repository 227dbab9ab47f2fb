import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { parseLockfile, parseLockStage } from '../../../src/lock/lockfile.js';
import { parseManifests } from '../../../src/pipeline/manifests.js';
import { parseParamsText } from '../../../src/pipeline/params-file.js';
import { checkSchema, pointerToKeyPath, problemErrors, problemText } from '../../../src/pipeline/schema-errors.js';
import { schemaDocument, schemaValidator, type SchemaName } from '../../../src/pipeline/schemas.js';
import { validateDvcYamlText } from '../../../src/pipeline/schema.js';
import { loadYaml } from '../../../src/pipeline/yaml-load.js';
import { statusSchemaErrors } from '../../../src/status/status-store.js';

const NAMES: SchemaName[] = ['dvc.yaml', 'dvc.lock', 'manifest', 'status'];

/** The first line of each error as the CLI prints it: `file:line: key: message`. */
function lines(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof ReprodError) return e.format().split('\n').filter((l) => !l.startsWith('  hint:'));
    throw e;
  }
  throw new Error('expected an error');
}

describe('schema loader', () => {
  it('loads every schema in one dialect and compiles each once', () => {
    for (const name of NAMES) {
      expect(schemaDocument(name)['$schema'], name).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schemaValidator(name), name).toBe(schemaValidator(name));
    }
  });
});

describe('checkSchema: one describer for every file', () => {
  it('places dvc.lock problems at their key and line, in the order of the file', () => {
    const text = "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    deps:\n    - path: a\n      size: big\n    frozen: true\n    outs: 3\n";
    expect(lines(() => parseLockfile(text))).toEqual([
      'dvc.lock:7: stages.s.deps[0].size: expected a number, got a string',
      "dvc.lock:8: stages.s.frozen: unknown key 'frozen'",
      'dvc.lock:9: stages.s.outs: expected a list, got a number (3)',
    ]);
  });

  it('names a missing key by the mapping that lacks it in dvc.lock, and says alternatives in the schema\'s words', () => {
    expect(lines(() => parseLockfile("schema: '2.0'\nstages:\n  s:\n    outs: []\n"))).toEqual(["dvc.lock:4: stages.s: missing required key 'cmd'"]);
    expect(lines(() => parseLockfile("schema: '2.0'\nstages:\n  s:\n    cmd: {a: 1}\n"))).toEqual(['dvc.lock:4: stages.s.cmd: must be a string or a list of strings']);
  });

  it('maps the paths of a wrapped document back to the file (a run-cache entry)', () => {
    expect(lines(() => parseLockStage('cmd: echo\nouts:\n- path: o\n  bogus: 1\n', 'runs/ab/k/v'))).toEqual(["runs/ab/k/v:4: outs[0].bogus: unknown key 'bogus'"]);
  });

  it('words dvc.yaml as DVC does: key errors on the stage, alternatives by what each wanted', () => {
    expect(validateDvcYamlText('stages:\n  a:\n    cmd: 5\n    outz: [x]\n', 'dvc.yaml').map((e) => e.format().split('\n')[0])).toEqual([
      'dvc.yaml:3: stages.a.cmd: expected a string or a list, got a number (5)',
      "dvc.yaml:4: stages.a: unknown key 'outz'",
    ]);
  });

  it('names manifest keys themselves, top-level ones as such, and env names in the schema\'s words', () => {
    const text = 'apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {}\nspec:\n  env: {1BAD: x}\nfoo: 1\n';
    expect(lines(() => parseManifests([{ path: 'm.yaml', text }]))).toEqual([
      "m.yaml:3: metadata.name: missing required key 'name'",
      "m.yaml:5: spec.env.1BAD: '1BAD' is not an environment variable name",
      "m.yaml:6: foo: unknown top-level key 'foo'",
    ]);
  });

  it('describes documents that have no file (status) on one line, key by key', () => {
    const text = statusSchemaErrors({ apiVersion: 'reprod.dev/v1', kind: 'StageStatus', metadata: { name: 's', generation: 1 }, status: {}, extra: 1 });
    expect(text).toContain("extra: unknown top-level key 'extra'");
    expect(text.split('; ').every((part) => part.length > 0)).toBe(true);
  });

  it('returns the value as plain JSON when valid, big ints as numbers', () => {
    const root = loadYaml("schema: '2.0'\nstages:\n  s:\n    cmd: x\n    deps:\n    - path: a\n      size: 123456789012345678901\n", 'dvc.lock').value;
    const checked = checkSchema('dvc.lock', root);
    expect(checked).toEqual({ valid: true, value: { schema: '2.0', stages: { s: { cmd: 'x', deps: [{ path: 'a', size: 123456789012345678901 }] } } } });
  });

  it('never reports an invalid document without a problem', () => {
    const checked = checkSchema('status', []);
    expect(checked.valid).toBe(false);
    if (checked.valid) return;
    expect(checked.problems.length).toBeGreaterThan(0);
    expect(problemText(checked.problems)).toContain('expected a mapping, got a list');
    expect(problemErrors(checked.problems, 'status/x.yaml', 'SCHEMA')[0]?.format().split('\n')[0]).toBe('status/x.yaml: expected a mapping, got a list');
  });

  it('reads JSON pointers into key paths, list indices as numbers', () => {
    const root = loadYaml('a:\n  b/c:\n  - x\n  - y\n', 'f.yaml').value;
    expect(pointerToKeyPath(root, '/a/b~1c/1')).toEqual(['a', 'b/c', 1]);
    expect(pointerToKeyPath({ a: [{ '0': 1 }] }, '/a/0/0')).toEqual(['a', 0, '0']);
    expect(pointerToKeyPath(root, '')).toEqual([]);
  });
});

describe('YAML syntax errors: line and column of the file', () => {
  it('in a plain file', () => {
    expect(lines(() => loadYaml('a: 1\nb: [\n', 'f.yaml'))[0]).toMatch(/^f\.yaml:3:1: invalid YAML: /);
  });

  it('in a later document of a manifest file', () => {
    const text = 'apiVersion: reprod.dev/v1\nkind: Pipeline\nmetadata: {name: p}\nspec: {}\n---\nkind: [\n';
    expect(lines(() => parseManifests([{ path: 'm.yaml', text }]))[0]).toMatch(/^m\.yaml:7:1: invalid YAML: /);
  });

  it('in a params file', () => {
    expect(lines(() => parseParamsText('a: 1\n\tb: 2\n', 'params.yaml'))[0]).toBe("params.yaml:2:1: 'params.yaml': invalid YAML: Tabs are not allowed as indentation");
  });
});
