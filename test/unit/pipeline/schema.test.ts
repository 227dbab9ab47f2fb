import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import type { ReprodError } from '../../../src/core/errors.js';
import { dvcYamlSchema, validateDvcYamlText } from '../../../src/pipeline/schema.js';
import { conformance } from '../../helpers/conformance.js';

const EXAMPLES = pathToFileURL(`${conformance('dvcyaml-examples')}/`);

function examples(kind: 'valid' | 'invalid'): [string, string][] {
  const dir = new URL(`${kind}/`, EXAMPLES);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => [f, readFileSync(new URL(f, dir), 'utf8')]);
}

const lines = (errs: ReprodError[]): string[] => errs.map((e) => `${e.location ?? ''}: ${e.message}`);

describe('dvc.schema.json', () => {
  it('is a valid draft 2020-12 schema that ajv compiles in strict mode', () => {
    const ajv = new Ajv2020({ allowUnionTypes: true, strictTypes: false });
    expect(() => ajv.compile(dvcYamlSchema())).not.toThrow();
  });
});

describe('validateDvcYamlText: conformance examples (iterative/dvcyaml-schema)', () => {
  it.each(examples('valid'))('accepts valid/%s', (name, text) => {
    expect(lines(validateDvcYamlText(text, name))).toEqual([]);
  });

  const expected: Record<string, string[]> = {
    'artifacts.extra.dvc.yaml': [
      "artifacts.extra.dvc.yaml:2: artifacts.with-extra-field: missing required key 'path'",
      "artifacts.extra.dvc.yaml:4: artifacts.with-extra-field: unknown key 'extra'",
    ],
    'foreach.extra.dvc.yaml': ["foreach.extra.dvc.yaml:9: stages.test_dict: unknown key 'else'"],
    'matrix.extra.dvc.yaml': ["matrix.extra.dvc.yaml:7: stages.stage1: unknown key 'extra'"],
    'matrix.foreach.dvc.yaml': ["matrix.foreach.dvc.yaml:3: stages.stage1: unknown key 'matrix'"],
    'metrics.extra.dvc.yaml': ["metrics.extra.dvc.yaml:7: stages.generate-metrics.metrics[0].scores.json: unknown key 'extra'"],
    'outs.extra.dvc.yaml': ["outs.extra.dvc.yaml:11: stages.copy_multiple.outs[1].bar1: unknown key 'extra'"],
    'plots.extra.dvc.yaml': [
      "plots.extra.dvc.yaml:4: plots.ROC: unknown key 'extra'",
      "plots.extra.dvc.yaml:15: stages.stage_one.plots[1].plot2: unknown key 'extra'",
    ],
    'stage.extra.dvc.yaml': ["stage.extra.dvc.yaml:8: stages.stage1: unknown key 'extra'"],
    'toplevel.extra.dvc.yaml': ["toplevel.extra.dvc.yaml:1: unknown top-level key 'extra'"],
  };

  it.each(examples('invalid'))('rejects invalid/%s naming the key and its line', (name, text) => {
    const errs = validateDvcYamlText(text, name);
    expect(errs.every((e) => e.code === 'SCHEMA')).toBe(true);
    expect(lines(errs)).toEqual(expected[name]);
  });
});

describe('validateDvcYamlText: messages', () => {
  const check = (text: string): string[] => lines(validateDvcYamlText(text, 'dvc.yaml'));

  it('accepts an empty file (an empty pipeline, as for DVC)', () => {
    expect(check('')).toEqual([]);
    expect(check('# nothing yet\n')).toEqual([]);
  });

  it('reports YAML syntax errors with their line', () => {
    const errs = validateDvcYamlText('stages:\n  a:\n    cmd: [x\n  b: 1\n', 'dvc.yaml');
    expect(errs).toHaveLength(1);
    expect(errs[0]?.code).toBe('YAML_SYNTAX');
    expect(errs[0]?.source?.line).toBeGreaterThanOrEqual(3);
  });

  it('reports a missing cmd on the stage line', () => {
    expect(check('stages:\n  train:\n    deps: [a]\n')).toEqual(["dvc.yaml:2: stages.train: missing required key 'cmd'"]);
  });

  it('reports wrong types in plain words', () => {
    expect(check('stages:\n  a:\n    cmd: 5\n    frozen: "yes"\n    deps: a.txt\n')).toEqual([
      'dvc.yaml:3: stages.a.cmd: expected a string or a list, got a number (5)',
      'dvc.yaml:4: stages.a.frozen: expected true or false, got a string',
      'dvc.yaml:5: stages.a.deps: expected a list, got a string',
    ]);
    expect(check('stages:\n  a:\n    cmd: [echo, 1]\n')).toEqual(['dvc.yaml:3: stages.a.cmd[1]: expected a string, got a number (1)']);
    expect(check('stages:\n  a: echo hi\n')).toEqual(['dvc.yaml:2: stages.a: expected a mapping, got a string']);
    expect(check('- a\n')).toEqual(['dvc.yaml:1: expected a mapping, got a list']);
  });

  it('checks params entries: keys, {file: [keys]} or {file: null}', () => {
    expect(check('stages:\n  a:\n    cmd: x\n    params:\n      - lr\n      - p.yaml: [a, b]\n      - q.json:\n')).toEqual([]);
    expect(check('stages:\n  a:\n    cmd: x\n    params:\n      - p.yaml: a\n')).toEqual([
      'dvc.yaml:5: stages.a.params[0].p.yaml: expected nothing (null) or a list, got a string',
    ]);
  });

  it('checks out flags; outs need a mapping of flags, not null', () => {
    expect(check('stages:\n  a:\n    cmd: x\n    outs:\n      - m.pkl:\n          cache: false\n          persist: true\n          push: false\n          remote: r\n          desc: d\n          type: model\n          labels: [a]\n          meta: {k: 1}\n')).toEqual([]);
    expect(check('stages:\n  a:\n    cmd: x\n    outs:\n      - m.pkl:\n          cache: "no"\n')).toEqual([
      'dvc.yaml:6: stages.a.outs[0].m.pkl.cache: expected true or false, got a string',
    ]);
    expect(check('stages:\n  a:\n    cmd: x\n    outs:\n      - m.pkl:\n')).toEqual([
      'dvc.yaml:5: stages.a.outs[0].m.pkl: expected a mapping, got nothing (null)',
    ]);
  });

  it('treats a stage with foreach or do as a foreach group with exactly those two keys', () => {
    expect(check('stages:\n  a:\n    foreach: [1]\n')).toEqual(["dvc.yaml:2: stages.a: missing required key 'do'"]);
    expect(check('stages:\n  a:\n    do: {cmd: x}\n')).toEqual(["dvc.yaml:2: stages.a: missing required key 'foreach'"]);
    expect(check('stages:\n  a:\n    foreach: [1]\n    do:\n      cmd: x\n      extra: 1\n')).toEqual([
      "dvc.yaml:6: stages.a.do: unknown key 'extra'",
    ]);
    expect(check('stages:\n  a:\n    foreach: [1]\n    vars: [v.yaml]\n    do: {cmd: x}\n')).toEqual(["dvc.yaml:4: stages.a: unknown key 'vars'"]);
  });

  it('accepts matrix values that are lists or ${} strings', () => {
    expect(check('stages:\n  a:\n    matrix:\n      m: [x, y]\n      n: ${ns}\n    cmd: x\n')).toEqual([]);
    expect(check('stages:\n  a:\n    matrix:\n      m: 1\n    cmd: x\n')).toEqual([
      'dvc.yaml:4: stages.a.matrix.m: expected a string or a list, got a number (1)',
    ]);
  });

  it('accepts top-level sections and rejects a bad artifact', () => {
    expect(check('params: [p.yaml]\nmetrics: [m.json]\nplots: [a.png, {roc: {x: fpr, y: {r.json: tpr}}}]\ndatasets: [{name: d, type: dvc}]\nartifacts:\n  m:\n    path: m.pkl\n')).toEqual([]);
    expect(check('plots:\n  - {}\n')).toEqual(['dvc.yaml:2: plots[0]: must not be empty']);
  });

  it('reports every error at once, in line order', () => {
    expect(check('x: 1\nstages:\n  a:\n    cmd: x\n    foo: 1\n  b:\n    deps: [a]\n')).toEqual([
      "dvc.yaml:1: unknown top-level key 'x'",
      "dvc.yaml:5: stages.a: unknown key 'foo'",
      "dvc.yaml:6: stages.b: missing required key 'cmd'",
    ]);
  });
});
