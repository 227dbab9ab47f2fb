/**
 * Params files in every format DVC reads are bounded as dvc.yaml is: aliases
 * (YAML) and nesting (YAML, JSON, TOML). Going over is an INPUT_LIMIT error
 * naming the file, and the line and key where the format gives them, within
 * a second (measured around the call).
 */
import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { parseParamsText } from '../../../src/pipeline/params-file.js';
import { deepFlow, paramsAliasBomb, timed } from '../../helpers/hostile-yaml.js';

function refused(fn: () => unknown): { error: ReprodError; ms: number } {
  const { ms, thrown } = timed(fn);
  if (!(thrown instanceof ReprodError)) throw new Error(`expected a ReprodError, got ${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}`);
  return { error: thrown, ms };
}

describe('params files: limits', () => {
  it('a YAML alias bomb (12 levels of ten) is refused within a second at the alias that goes over', () => {
    const { error, ms } = refused(() => parseParamsText(paramsAliasBomb(12), 'params.yaml'));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.location).toBe('params.yaml:4: a3[7]');
    expect(error.format()).toContain('REPROD_MAX_ALIAS_VALUES');
  });

  it('YAML nested 3000 deep is refused within a second', () => {
    const { error, ms } = refused(() => parseParamsText(`a: ${deepFlow(3000)}\n`, 'params.yaml'));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    // the mapping is level 1, the first '[' level 2: the 100th '[' (column 103) is level 101
    expect(error.location).toBe('params.yaml:1:103');
  });

  it('JSON nested 3000 deep is refused within a second, with its line and column', () => {
    const { error, ms } = refused(() => parseParamsText(`{\n "a": ${deepFlow(3000)}}\n`, 'p.json'));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.location).toBe('p.json:2:106');
    expect(error.message).toBe('nested more than 100 levels deep');
  });

  it('JSON nested 990 deep (which Python reads) is refused before it reaches dvc.lock', () => {
    const { error } = refused(() => parseParamsText(`{"a": ${deepFlow(990)}}`, 'p.json'));
    expect(error.code).toBe('INPUT_LIMIT');
  });

  it('TOML nested 3000 deep in arrays is refused within a second', () => {
    const { error, ms } = refused(() => parseParamsText(`a = ${deepFlow(3000)}\n`, 'p.toml'));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.source).toMatchObject({ file: 'p.toml', line: 1 });
  });

  it('TOML tables nested by dotted keys past the limit are refused, naming the key', () => {
    const keys = Array.from({ length: 150 }, (_, i) => `k${i}`);
    const { error } = refused(() => parseParamsText(`[${keys.join('.')}]\nv = 1\n`, 'p.toml'));
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.source?.file).toBe('p.toml');
    expect(error.source?.key).toBe(keys.slice(0, 100).join('.'));
  });

  it('100 levels are allowed in every format, and the limit can be raised', () => {
    expect(parseParamsText(`{"a": ${deepFlow(99)}}`, 'p.json').has('a')).toBe(true);
    expect(parseParamsText(`a: ${deepFlow(99)}\n`, 'params.yaml').has('a')).toBe(true);
    expect(parseParamsText(`a = ${deepFlow(99)}\n`, 'p.toml').has('a')).toBe(true);
    expect(refused(() => parseParamsText(`{"a": ${deepFlow(100)}}`, 'p.json')).error.code).toBe('INPUT_LIMIT');
    expect(refused(() => parseParamsText(`a = ${deepFlow(100)}\n`, 'p.toml')).error.code).toBe('INPUT_LIMIT');
    expect(parseParamsText(`{"a": ${deepFlow(500)}}`, 'p.json', { maxDepth: 600 }).has('a')).toBe(true);
    expect(parseParamsText(paramsAliasBomb(3), 'params.yaml', { maxAliasValues: 20_000 }).has('a3')).toBe(true);
  });
});
