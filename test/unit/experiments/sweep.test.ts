import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { MAX_GRID, parseOverride, parseScalar, parseSweep, sweepGrid, sweepValueText, type SweepValue } from '../../../src/experiments/sweep.js';

const texts = (vs: SweepValue[]) => vs.map(sweepValueText);

describe('parseOverride: DVC -S as Hydra reads it', () => {
  it('a key in params.yaml, one value', () => {
    const o = parseOverride('train.C=0.1');
    expect(o).toMatchObject({ file: 'params.yaml', key: 'train.C', add: false });
    expect(o.values).toEqual([{ kind: 'float', value: 0.1 }]);
  });

  it('file:key=value names another params file; +key adds a key', () => {
    expect(parseOverride('conf/train.yaml:lr=3')).toMatchObject({ file: 'conf/train.yaml', key: 'lr', values: [{ kind: 'int', value: 3n }] });
    expect(parseOverride('+train.new=x')).toMatchObject({ key: 'train.new', add: true });
  });

  it('a comma list, choice() and range() are sweeps', () => {
    expect(texts(parseOverride('train.C=0.01,0.1,1').values)).toEqual(['0.01', '0.1', '1']);
    expect(texts(parseOverride('train.model=choice(logistic_regression,random_forest)').values)).toEqual(['logistic_regression', 'random_forest']);
    expect(texts(parseSweep('range(1,5)'))).toEqual(['1', '2', '3', '4']);
    expect(texts(parseSweep('range(3)'))).toEqual(['0', '1', '2']);
    expect(texts(parseSweep('range(10,0,-4)'))).toEqual(['10', '6', '2']);
    expect(texts(parseSweep('range(0,0.5,0.1)'))).toEqual(['0.0', '0.1', '0.2', String(0 + 3 * 0.1), '0.4']);
  });

  it("types values as Hydra's grammar does", () => {
    expect(parseScalar('null')).toEqual({ kind: 'null' });
    expect(parseScalar('True')).toEqual({ kind: 'bool', value: true });
    expect(parseScalar('1_000')).toEqual({ kind: 'int', value: 1000n });
    expect(parseScalar('1e-3')).toEqual({ kind: 'float', value: 0.001 });
    expect(parseScalar('1.')).toEqual({ kind: 'float', value: 1 });
    expect(parseScalar("'1'")).toEqual({ kind: 'str', value: '1' });
    expect(parseScalar('adam')).toEqual({ kind: 'str', value: 'adam' });
    expect(sweepValueText({ kind: 'float', value: 1 })).toBe('1.0');
  });

  it('quotes keep commas inside a value', () => {
    expect(texts(parseSweep("'a,b',c"))).toEqual(['a,b', 'c']);
  });

  it.each([
    ['train.C', "no '='"],
    ['=1', 'is not a key'],
    ['train.C=', 'no value'],
    ['train.C=1,,2', 'empty value'],
    ['train.C=range(1,2,0)', 'step must not be zero'],
    ['train.C=range(a,2)', 'takes numbers'],
    ['train.C=glob(*)', 'unsupported sweep function'],
    ['train.C=[1,2]', 'lists and mappings'],
    ['~train.C', "no '='"],
    ['~train.C=1', "'~'"],
    ["train.C='open", 'unclosed'],
  ])('%s is a USAGE error (%s)', (text, why) => {
    let err: unknown;
    try {
      parseOverride(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).code).toBe('USAGE');
    expect((err as ReprodError).message).toContain(why);
    expect((err as ReprodError).message).toContain(text);
  });
});

describe('sweepGrid: several -S make a grid', () => {
  it('is the product, the first override varying slowest', () => {
    const grid = sweepGrid([parseOverride('train.C=0.01,0.1,1'), parseOverride('train.model=choice(lr,rf)')]);
    expect(grid.map((row) => row.map((a) => `${a.key}=${sweepValueText(a.value)}`).join(' '))).toEqual([
      'train.C=0.01 train.model=lr',
      'train.C=0.01 train.model=rf',
      'train.C=0.1 train.model=lr',
      'train.C=0.1 train.model=rf',
      'train.C=1 train.model=lr',
      'train.C=1 train.model=rf',
    ]);
  });

  it('groups overrides by params file in the order files first appear (DVC: per file, then across files)', () => {
    const grid = sweepGrid([parseOverride('a=1,2'), parseOverride('other.yaml:b=x,y'), parseOverride('c=3')]);
    expect(grid[0]?.map((a) => `${a.file}:${a.key}`)).toEqual(['params.yaml:a', 'params.yaml:c', 'other.yaml:b']);
    expect(grid).toHaveLength(4);
  });

  it('no -S is one experiment with no changes', () => {
    expect(sweepGrid([])).toEqual([[]]);
  });

  it('a key set twice, or a grid past the limit, is refused', () => {
    expect(() => sweepGrid([parseOverride('a=1'), parseOverride('a=2')])).toThrow(/set twice/);
    expect(() => sweepGrid([parseOverride('a=range(100)'), parseOverride('b=range(100)')])).toThrow(new RegExp(`more than ${MAX_GRID}`));
  });
});
