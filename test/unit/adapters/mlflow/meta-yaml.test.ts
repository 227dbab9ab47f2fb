import { describe, expect, it } from 'vitest';
import { metaScalar, readMeta, writeMeta } from '../../../../src/adapters/mlflow/meta-yaml.js';

/** What PyYAML 6 `safe_dump(default_flow_style=False, allow_unicode=True)` writes for each string (checked against PyYAML). */
const PYYAML: [string, string][] = [
  ['163580045406626432', "'163580045406626432'"],
  ['', "''"],
  ['file:///x y/mlruns/0', 'file:///x y/mlruns/0'],
  ['None', 'None'],
  ['yes', "'yes'"],
  ['Off', "'Off'"],
  ['null', "'null'"],
  ['~', "'~'"],
  ['1.0', "'1.0'"],
  ['1e3', '1e3'],
  ['12e45', '12e45'],
  ['.5', "'.5'"],
  ['1.', "'1.'"],
  ['.inf', "'.inf'"],
  ['+1', "'+1'"],
  ['1_000', "'1_000'"],
  ['0x1f', "'0x1f'"],
  ['0o17', '0o17'],
  ['1:20', "'1:20'"],
  ['2024-01-01', "'2024-01-01'"],
  ['=', "'='"],
  ['<<', "'<<'"],
  ['gen@small', 'gen@small'],
  ['@x', "'@x'"],
  ['a: b', "'a: b'"],
  ['x:', "'x:'"],
  [': x', "': x'"],
  ['?x', '?x'],
  ['a #b', "'a #b'"],
  ['#x', "'#x'"],
  [' lead', "' lead'"],
  ["it's", "it's"],
  ['-x', '-x'],
  ['- x', "'- x'"],
  ['---', "'---'"],
  ['café', 'café'],
  ['tab\there', '"tab\\there"'],
  ['a,b[c]{d}', 'a,b[c]{d}'],
  ['%x', "'%x'"],
  ['!x', "'!x'"],
  ['*a', "'*a'"],
  ['&a', "'&a'"],
  ['|', "'|'"],
  ['>', "'>'"],
  ['`x', "'`x'"],
  ['"x', `'"x'`],
  ['x"', 'x"'],
];

describe('meta.yaml as MLflow (PyYAML) writes it', () => {
  it.each(PYYAML)('writes %j as %s', (value, text) => {
    expect(metaScalar(value)).toBe(text);
  });

  it('sorts keys and writes null, [], {} and alias mappings as PyYAML does', () => {
    const text = writeMeta({ name: 'iris-classifier', aliases: { candidate: '1', '2': '3' }, tags: [], description: null, e: {}, version: 1 });
    expect(text).toBe("aliases:\n  '2': '3'\n  candidate: '1'\ndescription: null\ne: {}\nname: iris-classifier\ntags: []\nversion: 1\n");
  });

  it('reads back every value it writes', () => {
    for (const [value] of PYYAML) expect(readMeta(writeMeta({ k: value }), 'm.yaml')['k']).toBe(value);
    expect(readMeta(writeMeta({ k: 'line\nbreak' }), 'm.yaml')['k']).toBe('line\nbreak');
  });
});
