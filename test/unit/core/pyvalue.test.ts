import { describe, expect, it } from 'vitest';
import { getDotted, pyEquals, PyFloat, pyFloatRepr, pyStr, pyStrCompare } from '../../../src/core/pyvalue.js';

describe('pyFloatRepr matches Python repr(float)', () => {
  const cases: [number, string][] = [
    [0.01, '0.01'],
    [1, '1.0'],
    [1e-5, '1e-05'],
    [0.0001, '0.0001'],
    [1e16, '1e+16'],
    [123456789012345678, '1.2345678901234568e+17'],
    [1234567890123456, '1234567890123456.0'],
    [0.1 + 0.2, '0.30000000000000004'],
    [-2.5, '-2.5'],
    [1.5e-10, '1.5e-10'],
    [1e100, '1e+100'],
    [0, '0.0'],
    [-0, '-0.0'],
    [Infinity, 'inf'],
    [NaN, 'nan'],
  ];
  for (const [x, want] of cases) it(`${x} → ${want}`, () => expect(pyFloatRepr(x)).toBe(want));
});

describe('pyEquals', () => {
  it('compares numbers across int, float and bool as Python does', () => {
    expect(pyEquals(1, new PyFloat(1))).toBe(true);
    expect(pyEquals(true, 1)).toBe(true);
    expect(pyEquals(new PyFloat(0.01), new PyFloat(1.0e-2))).toBe(true);
    expect(pyEquals(1, '1')).toBe(false);
    expect(pyEquals(10n ** 20n, 10n ** 20n)).toBe(true);
  });
  it('dicts ignore order, lists do not', () => {
    expect(pyEquals(new Map([['a', 1], ['b', 2]]), new Map([['b', 2], ['a', 1]]))).toBe(true);
    expect(pyEquals([1, 2], [2, 1])).toBe(false);
  });
});

describe('pyStr and getDotted', () => {
  it('renders like str()', () => {
    expect(pyStr(new PyFloat(1))).toBe('1.0');
    expect(pyStr(['a', 1, true])).toBe("['a', 1, True]");
  });
  it('looks up nested keys and list indexes', () => {
    const v = new Map<string, import('../../../src/core/pyvalue.js').PyValue>([['a', new Map([['b', [10, 20]]])]]);
    expect(getDotted(v, 'a.b.1')).toEqual({ found: true, value: 20 });
    expect(getDotted(v, 'a.c')).toEqual({ found: false });
  });
  it('orders strings by code point', () => {
    expect(['\u{1F600}', '\uFFFD', 'B', 'a'].sort(pyStrCompare)).toEqual(['B', 'a', '\uFFFD', '\u{1F600}']);
  });
});
