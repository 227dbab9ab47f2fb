import { describe, expect, it } from 'vitest';
import { checkExpName, expRefName, generateExpName, parseExpRef, sweepNames } from '../../../src/experiments/exp-refs.js';

const SHA = '2344570e769766b24433f093f0fad601c8199787';

describe("experiment refs in DVC's layout", () => {
  it('refs/exps/<sha[:2]>/<sha[2:]>/<name>', () => {
    expect(expRefName({ baseline: SHA, name: 'azure-walk' })).toBe('refs/exps/23/44570e769766b24433f093f0fad601c8199787/azure-walk');
  });

  it('parses back, and DVC working refs are not experiments', () => {
    expect(parseExpRef('refs/exps/23/44570e769766b24433f093f0fad601c8199787/azure-walk')).toEqual({ baseline: SHA, name: 'azure-walk' });
    expect(parseExpRef('refs/exps/exec/EXEC_BRANCH')).toBeUndefined();
    expect(parseExpRef('refs/exps/stash')).toBeUndefined();
    expect(parseExpRef('refs/exps/celery/stash')).toBeUndefined();
    expect(parseExpRef('refs/heads/main')).toBeUndefined();
    expect(parseExpRef('refs/exps/23/short/azure-walk')).toBeUndefined();
  });

  it('refuses a short sha', () => {
    expect(() => expRefName({ baseline: 'abc', name: 'x' })).toThrow(/full commit sha/);
  });
});

describe('experiment names', () => {
  it.each(['', 'a/b', 'a b', 'a..b', '-x', '.x', 'x.lock', 'x.', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', 'a@{1', '@', 'a\u0001'])('%j is refused', (n) => {
    expect(() => checkExpName(n)).toThrow(/cannot name an experiment/);
  });

  it.each(['lr-small', 'exp_1', 'C0.1'])('%s is accepted', (n) => {
    expect(() => checkExpName(n)).not.toThrow();
  });

  it('generated names are adjective-noun, chosen by the digest, and skip names in use', () => {
    const a = generateExpName('00000000000000', new Set());
    expect(a).toMatch(/^[a-z]+-[a-z]+$/);
    expect(generateExpName('00000000000000', new Set())).toBe(a);
    const b = generateExpName('00000000000000', new Set([a]));
    expect(b).not.toBe(a);
    expect(b).toMatch(/^[a-z]+-[a-z]+$/);
  });

  it('-n NAME numbers a sweep', () => {
    expect(sweepNames('lr', 1)).toEqual(['lr']);
    expect(sweepNames('lr', 3)).toEqual(['lr-1', 'lr-2', 'lr-3']);
  });
});
