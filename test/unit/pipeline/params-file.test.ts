import { describe, expect, it } from 'vitest';
import { PyFloat, type PyValue } from '../../../src/core/pyvalue.js';
import { parseJsonText, parseParamsText, paramsFormatOf } from '../../../src/pipeline/params-file.js';
import { thrown } from '../../helpers/thrown.js';

describe('paramsFormatOf', () => {
  it('picks the loader by lower-cased suffix, YAML for anything else', () => {
    expect(paramsFormatOf('params.yaml')).toBe('yaml');
    expect(paramsFormatOf('conf/p.YML')).toBe('yaml');
    expect(paramsFormatOf('p.JSON')).toBe('json');
    expect(paramsFormatOf('a/b.toml')).toBe('toml');
    expect(paramsFormatOf('params.py')).toBe('py');
    expect(paramsFormatOf('params')).toBe('yaml');
    expect(paramsFormatOf('dir.json/params')).toBe('yaml');
    expect(paramsFormatOf('.json')).toBe('yaml');
  });
});

describe('parseParamsText: YAML', () => {
  it('keeps ints and floats apart and mappings in file order', () => {
    const d = parseParamsText('b: 1\na: 1.0\nc: 1e-3\nz: {y: 2, x: [1, 2.5]}\n', 'params.yaml');
    expect([...d.keys()]).toEqual(['b', 'a', 'c', 'z']);
    expect(d.get('b')).toBe(1);
    expect(d.get('a')).toEqual(new PyFloat(1));
    expect(d.get('c')).toEqual(new PyFloat(0.001));
    const z = d.get('z');
    expect(z instanceof Map && [...z.keys()]).toEqual(['y', 'x']);
  });

  it('reads an empty or falsy document as {}', () => {
    expect(parseParamsText('', 'params.yaml').size).toBe(0);
    expect(parseParamsText('# only a comment\n', 'params.yaml').size).toBe(0);
    expect(parseParamsText('[]\n', 'params.yaml').size).toBe(0);
  });

  it('refuses a document that is not a mapping', () => {
    const e = thrown(() => parseParamsText('- a\n- b\n', 'params.yaml'));
    expect(e.code).toBe('PARAMS_FILE');
    expect(e.message).toBe("'params.yaml': expected a dictionary, got 'list'");
  });

  it('names the file and line of a syntax error', () => {
    const e = thrown(() => parseParamsText('a: 1\nb: [1, 2\nc: 3\n', 'conf/p.yaml'));
    expect(e.code).toBe('PARAMS_FILE');
    expect(e.source?.file).toBe('conf/p.yaml');
    expect(e.source?.line).toBeGreaterThanOrEqual(2);
  });
});

describe('parseParamsText: JSON', () => {
  it('keeps int vs float as Python json does', () => {
    const d = parseParamsText('{"i": 1, "f": 1.0, "e": 1e2, "neg": -0, "big": 123456789012345678901234567890}', 'p.json');
    expect(d.get('i')).toBe(1);
    expect(d.get('f')).toEqual(new PyFloat(1));
    expect(d.get('e')).toEqual(new PyFloat(100));
    expect(d.get('neg')).toBe(0);
    expect(d.get('big')).toBe(123456789012345678901234567890n);
  });

  it('reads strings, escapes, nesting, NaN and Infinity', () => {
    const v = parseJsonText('{"s": "a\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00", "l": [true, false, null, {"x": []}], "n": NaN, "inf": -Infinity}', 'p.json');
    const expected: PyValue = new Map<string, PyValue>([
      ['s', 'a"b\\c/d\né😀'],
      ['l', [true, false, null, new Map([['x', []]])]],
      ['n', new PyFloat(NaN)],
      ['inf', new PyFloat(-Infinity)],
    ]);
    expect(v).toEqual(expected);
  });

  it('keeps the first position and the last value of a repeated key', () => {
    const d = parseParamsText('{"a": 1, "b": 2, "a": 3}', 'p.json');
    expect([...d.entries()]).toEqual([
      ['a', 3],
      ['b', 2],
    ]);
  });

  it('keeps integer-like keys in file order', () => {
    expect([...parseParamsText('{"b": 1, "2": 2, "1": 3}', 'p.json').keys()]).toEqual(['b', '2', '1']);
  });

  it('reads falsy documents as {} and refuses other non-mappings', () => {
    expect(parseParamsText('null', 'p.json').size).toBe(0);
    expect(parseParamsText('  {}  ', 'p.json').size).toBe(0);
    expect(thrown(() => parseParamsText('[1]', 'p.json')).message).toBe("'p.json': expected a dictionary, got 'list'");
  });

  it('reports errors with file and line', () => {
    const e = thrown(() => parseParamsText('{\n  "a": 1,\n  "b": \n}', 'cfg/p.json'));
    expect(e.code).toBe('PARAMS_FILE');
    expect(e.source).toEqual({ file: 'cfg/p.json', line: 4, column: 1 });
    expect(thrown(() => parseParamsText('{"a": "x\ny"}', 'p.json')).message).toContain('control character');
    expect(thrown(() => parseParamsText('{"a": 1} x', 'p.json')).message).toContain('extra data');
    expect(thrown(() => parseParamsText("{'a': 1}", 'p.json')).message).toContain('property name');
    expect(thrown(() => parseParamsText('{"a": 01}', 'p.json')).code).toBe('PARAMS_FILE');
  });
});

describe('parseParamsText: TOML', () => {
  it('keeps ints and floats apart', () => {
    const d = parseParamsText('lr = 0.01\nepochs = 10\none = 1.0\nbig = 9007199254740993\n[model]\nname = "x"\nlayers = [1, 2]\n', 'p.toml');
    expect(d.get('lr')).toEqual(new PyFloat(0.01));
    expect(d.get('epochs')).toBe(10);
    expect(d.get('one')).toEqual(new PyFloat(1));
    expect(d.get('big')).toBe(9007199254740993n);
    expect(d.get('model')).toEqual(
      new Map<string, PyValue>([
        ['name', 'x'],
        ['layers', [1, 2]],
      ]),
    );
  });

  it('reports errors with file and line', () => {
    const e = thrown(() => parseParamsText('a = 1\nb = = 2\n', 'p.toml'));
    expect(e.code).toBe('PARAMS_FILE');
    expect(e.source?.file).toBe('p.toml');
    expect(e.source?.line).toBe(2);
  });
});

describe('parseParamsText: Python', () => {
  it('refuses .py params files with a clear message', () => {
    const e = thrown(() => parseParamsText('LR = 0.1\n', 'params.py'));
    expect(e.code).toBe('PARAMS_FILE');
    expect(e.message).toContain('Python params files are not supported');
    expect(e.source?.file).toBe('params.py');
  });
});
