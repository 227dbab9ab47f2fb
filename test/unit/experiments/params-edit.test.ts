import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ReprodError } from '../../../src/core/errors.js';
import { applyAssignments } from '../../../src/experiments/params-edit.js';
import { parseOverride, sweepGrid } from '../../../src/experiments/sweep.js';

const PARAMS = `train:
  # logistic_regression or random_forest
  model: logistic_regression
  C: 1.0
  max_depth: 5
evaluate:
  champion_threshold: 0.95
`;

const one = (...sets: string[]) => sweepGrid(sets.map((s) => parseOverride(s)))[0] ?? [];

describe('applyAssignments: -S values written into a params file', () => {
  it('changes only the keys set, keeping order and comments', () => {
    const out = applyAssignments('params.yaml', PARAMS, one('train.C=0.01', 'train.model=random_forest'));
    expect(out).toBe(PARAMS.replace('C: 1.0', 'C: 0.01').replace('model: logistic_regression', 'model: random_forest'));
  });

  it('writes values with the types Hydra gave them', () => {
    const out = parse(applyAssignments('params.yaml', PARAMS, one('train.C=1.0', 'train.max_depth=null', "train.model='1'")));
    expect(out.train).toEqual({ model: '1', C: 1, max_depth: null });
    expect(applyAssignments('params.yaml', PARAMS, one('train.C=2.0'))).toContain('C: 2.0');
    expect(applyAssignments('params.yaml', PARAMS, one('train.C=2'))).toContain('C: 2\n');
  });

  it('a key the file lacks is an error naming file and key, unless added with +', () => {
    let err: unknown;
    try {
      applyAssignments('params.yaml', PARAMS, one('train.lr=0.1'));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).code).toBe('PARAMS_MISSING');
    expect((err as ReprodError).source).toEqual({ file: 'params.yaml', key: 'train.lr' });
    expect(parse(applyAssignments('params.yaml', PARAMS, one('+train.lr=0.1', '+extra.deep.k=x')))).toMatchObject({ train: { lr: 0.1 }, extra: { deep: { k: 'x' } } });
  });

  it('a key under a scalar is an error', () => {
    expect(() => applyAssignments('params.yaml', PARAMS, one('train.C.x=1'))).toThrow(/'train.C' in 'params.yaml' is not a mapping/);
  });

  it('JSON params files are edited too; TOML ones are refused', () => {
    expect(JSON.parse(applyAssignments('p.json', '{"a": {"b": 1, "c": 2}}', one('p.json:a.b=3')))).toEqual({ a: { b: 3, c: 2 } });
    expect(() => applyAssignments('p.toml', 'a = 1', one('p.toml:a=3'))).toThrow(/only YAML and JSON/);
  });

  it('broken YAML is a PARAMS_FILE error with its line', () => {
    let err: unknown;
    try {
      applyAssignments('params.yaml', 'train:\n  C: [1\n', one('train.C=2'));
    } catch (e) {
      err = e;
    }
    expect((err as ReprodError).code).toBe('PARAMS_FILE');
    expect((err as ReprodError).source?.file).toBe('params.yaml');
  });
});
