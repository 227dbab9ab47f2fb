/**
 * The YAML loader's own contracts, beyond what the dvc.yaml and params tests
 * show: repeated keys, aliases (shared, cyclic, dangling), line offsets, and
 * a cost linear in the size of the text.
 */
import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { loadYaml } from '../../../src/pipeline/yaml-load.js';
import { timed } from '../../helpers/hostile-yaml.js';

function thrown(fn: () => unknown): ReprodError {
  const { thrown: e } = timed(fn);
  if (e instanceof ReprodError) return e;
  throw new Error(`expected a ReprodError, got ${String(e)}`);
}

describe('loadYaml', () => {
  it('refuses a repeated key, at the repeat, in block and flow mappings; 1 and "1" are different keys', () => {
    expect(thrown(() => loadYaml('a: 1\nb: 2\na: 3\n', 'f.yaml')).location).toBe('f.yaml:3:1');
    expect(thrown(() => loadYaml('x: {a: 1, a: 2}\n', 'f.yaml')).location).toBe('f.yaml:1:11');
    expect(thrown(() => loadYaml('a: 1\nb: 2\na: 3\n', 'f.yaml')).message).toBe('invalid YAML: Map keys must be unique');
    const v = loadYaml('1: a\n"2": b\n', 'f.yaml').value;
    expect(v instanceof Map && [...v.keys()]).toEqual(['1', '2']);
  });

  it('reads a wide mapping in time linear in its size (yaml’s own repeat check is quadratic: 20,000 keys took about 30 s)', () => {
    const wide = (n: number) => Array.from({ length: n }, (_, i) => `key${i}: [v${i}]`).join('\n');
    timed(() => loadYaml(wide(2_000), 'warm-up.yaml'));
    const small = timed(() => loadYaml(wide(5_000), 'wide.yaml'));
    const large = timed(() => loadYaml(wide(20_000), 'wide.yaml'));
    expect(small.thrown ?? large.thrown).toBeUndefined();
    // four times the keys: about four times the time when linear, sixteen when quadratic
    expect(large.ms / small.ms).toBeLessThan(10);
    expect(large.ms).toBeLessThan(15_000);
  });

  it('expands an alias as a copy of its anchor, and refuses an alias to no anchor or to itself', () => {
    const v = loadYaml('a: &x {k: [1, 2]}\nb: *x\n', 'f.yaml').value;
    expect(v instanceof Map && v.get('b')).toEqual(new Map([['k', [1, 2]]]));
    expect(thrown(() => loadYaml('a: *nope\n', 'f.yaml'))).toMatchObject({ code: 'YAML_SYNTAX', source: { file: 'f.yaml', line: 1 } });
    const loop = thrown(() => loadYaml('loop: &l [a, *l]\n', 'f.yaml'));
    expect(loop.code).toBe('INPUT_LIMIT');
    expect(loop.source).toMatchObject({ file: 'f.yaml', line: 1, key: 'loop[1]' });
  });

  it('reports lines from an offset, for a piece of a file loaded alone', () => {
    const loaded = loadYaml('a:\n  b: 1\n', 'm.yaml', { lineOffset: 10 });
    expect(loaded.lineOf(['a', 'b'])).toBe(12);
    expect(thrown(() => loadYaml('a: [\n', 'm.yaml', { lineOffset: 10 })).source?.line).toBe(12);
  });
});
