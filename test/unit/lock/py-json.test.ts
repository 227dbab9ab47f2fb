import { describe, expect, it } from 'vitest';
import { PyFloat } from '../../../src/core/pyvalue.js';
import { pyJsonDumps } from '../../../src/lock/py-json.js';

describe("pyJsonDumps prints what Python's json.dumps prints", () => {
  it('uses ", " and ": " separators and keeps mapping order', () => {
    expect(pyJsonDumps({ train: [{ 'changed deps': { 'params.yaml': { epochs: 'modified' } } }] })).toBe(
      '{"train": [{"changed deps": {"params.yaml": {"epochs": "modified"}}}]}',
    );
    // a Map keeps integer-like keys where they were put; a plain object would move them first
    expect(pyJsonDumps(new Map<string, unknown>([['b', 1], ['2', 2], ['1', ['changed command']]]))).toBe(
      '{"b": 1, "2": 2, "1": ["changed command"]}',
    );
  });

  it('escapes every non-ASCII character as \\uXXXX, astral ones as surrogate pairs', () => {
    expect(pyJsonDumps({ 'café/ü.txt': 'modified', '😀': 'a"b\\c\n\u007f' })).toBe(
      '{"caf\\u00e9/\\u00fc.txt": "modified", "\\ud83d\\ude00": "a\\"b\\\\c\\n\\u007f"}',
    );
  });

  it('prints floats by repr and ints exactly', () => {
    expect(pyJsonDumps([new PyFloat(1), 0.1 + 0.2, 2, 10n ** 20n, new PyFloat(1e-5), new PyFloat(NaN), -0.5])).toBe(
      '[1.0, 0.30000000000000004, 2, 100000000000000000000, 1e-05, NaN, -0.5]',
    );
    expect(pyJsonDumps([true, false, null, {}, []])).toBe('[true, false, null, {}, []]');
  });

  it('refuses what json.dumps cannot encode', () => {
    expect(() => pyJsonDumps({ a: undefined })).toThrow(TypeError);
    expect(() => pyJsonDumps(new Date(0))).toThrow(TypeError);
  });
});
