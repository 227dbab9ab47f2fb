/**
 * A small dvc.yaml (or params.yaml) must not cost a lot: aliases, nesting and
 * foreach/matrix expansion are bounded, and going over a bound is an
 * INPUT_LIMIT error naming the file, the line and the key, within a second,
 * checked before the work it would take. Each time bound is measured around
 * the call: it is the property under test, not a wait.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_INPUT_LIMITS } from '../../../src/core/input-limits.js';
import { ReprodError, ReprodErrors } from '../../../src/core/errors.js';
import type { Pipeline } from '../../../src/core/types.js';
import { parseDvcYaml, type ParseDvcYamlOptions } from '../../../src/pipeline/parse-dvc-yaml.js';
import { dvcYamlAliasBomb, dvcYamlDeepBlock, dvcYamlDeepFlow, dvcYamlMatrixBomb, paramsAliasBomb, timed } from '../../helpers/hostile-yaml.js';

function parse(text: string, files: Record<string, string> = {}, limits?: ParseDvcYamlOptions['limits']): Pipeline {
  return parseDvcYaml(text, { file: 'dvc.yaml', readFile: (p) => files[p], ...(limits ? { limits } : {}) });
}

/** The one error `fn` throws, and how long it took to throw it. */
function refused(fn: () => unknown): { error: ReprodError; ms: number } {
  const { ms, thrown } = timed(fn);
  if (thrown instanceof ReprodErrors) throw new Error(`expected one error, got: ${thrown.format()}`);
  if (!(thrown instanceof ReprodError)) throw new Error(`expected a ReprodError, got ${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}`);
  return { error: thrown, ms };
}

describe('the stated defaults', () => {
  it('are 10,000 stages, depth 100, 10,000 alias values and 1,000,000 stage values', () => {
    expect(DEFAULT_INPUT_LIMITS).toEqual({ maxStages: 10_000, maxDepth: 100, maxAliasValues: 10_000, maxStageValues: 1_000_000 });
  });
});

describe('alias bombs', () => {
  it('in dvc.yaml (12 levels of ten: 10^13 values) are refused within a second, at the alias that goes over', () => {
    const { error, ms } = refused(() => parse(dvcYamlAliasBomb(12)));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    // a1 adds 10×11 values, a2 10×111; the eighth *a2 in a3 takes the total past 10,000
    expect(error.location).toBe('dvc.yaml:8: stages.s.meta.a3[7]');
    expect(error.message).toContain('more than 10000 values');
    expect(error.remedy).toContain('REPROD_MAX_ALIAS_VALUES');
  });

  it('in params.yaml (read for templating) are refused within a second, naming params.yaml', () => {
    const { error, ms } = refused(() => parse('stages:\n  s:\n    cmd: echo ${lr}\n', { 'params.yaml': paramsAliasBomb(12) }));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.location).toBe('params.yaml:4: a3[7]');
  });

  it('in a vars file are refused the same way', () => {
    const { error, ms } = refused(() => parse('vars: [conf.yaml]\nstages:\n  s:\n    cmd: echo ${lr}\n', { 'conf.yaml': paramsAliasBomb(9) }));
    expect(ms).toBeLessThan(1000);
    expect(error.location).toBe('conf.yaml:4: a3[7]');
  });

  it('are allowed up to the limit, and the limit can be raised', () => {
    // 3 levels: 110 + 1110 + 11110 = 12330 values from aliases
    expect(refused(() => parse(dvcYamlAliasBomb(3))).error.code).toBe('INPUT_LIMIT');
    const p = parse(dvcYamlAliasBomb(3), {}, { maxAliasValues: 20_000 });
    const meta = p.stages[0]?.meta;
    expect(meta instanceof Map && Array.isArray(meta.get('a3')) && (meta.get('a3') as unknown[]).length).toBe(10);
  });

  it('anchors shared between stages still resolve', () => {
    const p = parse('stages:\n  s:\n    cmd: echo\n    deps: &d [a.txt, b.txt]\n  t:\n    cmd: echo\n    deps: *d\n');
    expect(p.stages.map((s) => s.deps.map((d) => d.path))).toEqual([
      ['a.txt', 'b.txt'],
      ['a.txt', 'b.txt'],
    ]);
  });

  it('an alias to no anchor is a syntax error naming its line', () => {
    const { error } = refused(() => parse('stages:\n  s:\n    cmd: echo\n    deps: *nowhere\n'));
    expect(error.code).toBe('YAML_SYNTAX');
    expect(error.source).toMatchObject({ file: 'dvc.yaml', line: 4 });
  });
});

describe('matrix and foreach bombs', () => {
  it('a matrix of 6 keys × 10 values (10^6 stages) is refused before it is expanded, within a second', () => {
    const { error, ms } = refused(() => parse(dvcYamlMatrixBomb(6, 10)));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.location).toBe('dvc.yaml:3: stages.s.matrix');
    expect(error.message).toBe("matrix of 's' would generate 1000000 stages (10 × 10 × 10 × 10 × 10 × 10): more than 10000, the limit");
    expect(error.remedy).toContain('REPROD_MAX_STAGES');
  });

  it('a product too large for a number is still reported exactly', () => {
    const { error, ms } = refused(() => parse(dvcYamlMatrixBomb(30, 10)));
    expect(ms).toBeLessThan(1000);
    expect(error.message).toContain(`would generate 1${'0'.repeat(30)} stages`);
  });

  it('a foreach over a long list from a vars file is refused before it is expanded', () => {
    const list = `{"items": [${Array.from({ length: 20_000 }, (_, i) => i).join(', ')}]}`;
    const { error, ms } = refused(() => parse('vars: [items.json]\nstages:\n  s:\n    foreach: ${items}\n    do:\n      cmd: echo ${item}\n', { 'items.json': list }));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.location).toBe('dvc.yaml:4: stages.s.foreach');
    expect(error.message).toContain('would generate 20000 stages');
  });

  it('counts every group: two matrices of 60 × 100 go over together, at the second', () => {
    const group = (name: string) => `  ${name}:\n    matrix:\n      a: [${Array.from({ length: 60 }, (_, i) => i).join(', ')}]\n      b: [${Array.from({ length: 100 }, (_, i) => i).join(', ')}]\n    cmd: echo \${item.a} \${item.b}\n`;
    const { error } = refused(() => parse(`stages:\n${group('one')}${group('two')}`));
    expect(error.location).toBe('dvc.yaml:8: stages.two.matrix');
    expect(error.message).toContain('6000 stages');
    expect(error.message).toContain('6000 defined before it');
  });

  it('a stage definition that is large times many stages is refused before it is expanded', () => {
    // about 3,000 values in the definition (within the alias limit) × 1,000 stages: 3,000,000 values
    const list = `[${Array.from({ length: 1000 }, () => 'x').join(', ')}]`;
    const text = `stages:\n  s:\n    matrix:\n      a: [${Array.from({ length: 1000 }, (_, i) => i).join(', ')}]\n    cmd: echo \${item.a}\n    meta: {a: &m ${list}, b: *m, c: *m}\n`;
    const { error, ms } = refused(() => parse(text));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.location).toBe('dvc.yaml:3: stages.s.matrix');
    expect(error.remedy).toContain('REPROD_MAX_STAGE_VALUES');
  });

  it('text that ${} copies into every stage counts too', () => {
    // a 7 KB file: a dictionary of 100 aliases of one 1,000-character string, unpacked into the command of 1,000 stages
    const text = `vars:\n  - d: {k0: &s ${'x'.repeat(1000)}, ${Array.from({ length: 99 }, (_, i) => `k${i + 1}: *s`).join(', ')}}\nstages:\n  s:\n    matrix:\n      a: [${Array.from({ length: 1000 }, (_, i) => i).join(', ')}]\n    cmd: echo \${d} \${item.a}\n`;
    expect(text.length).toBeLessThan(8000);
    const { error, ms } = refused(() => parse(text));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.location).toMatch(/^dvc\.yaml:7: stages\.s\.cmd/);
  });

  it('are allowed up to the limit, and the limit can be raised', () => {
    expect(parse(dvcYamlMatrixBomb(2, 10)).stages).toHaveLength(100);
    expect(refused(() => parse(dvcYamlMatrixBomb(2, 10), {}, { maxStages: 99 })).error.message).toContain('more than 99, the limit');
    expect(parse(dvcYamlMatrixBomb(5, 10), {}, { maxStages: 100_000 }).stages).toHaveLength(100_000);
  }, 30_000);
});

describe('deep nesting', () => {
  it('3000 levels of flow lists are refused within a second at the 101st level', () => {
    const { error, ms } = refused(() => parse(dvcYamlDeepFlow(3000)));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    // the document is level 1, stages 2, s 3, meta's list 4: the 98th '[' is level 101
    expect(error.location).toBe('dvc.yaml:4:108');
    expect(error.message).toBe('nested more than 100 levels deep');
    expect(error.remedy).toContain('REPROD_MAX_DEPTH');
  });

  it('3000 levels of block mappings are refused within a second', () => {
    const { error, ms } = refused(() => parse(dvcYamlDeepBlock(3000)));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.source).toMatchObject({ file: 'dvc.yaml', line: 102 });
  });

  it('nesting in params.yaml is refused naming params.yaml', () => {
    const { error, ms } = refused(() => parse('stages:\n  s:\n    cmd: echo ${lr}\n', { 'params.yaml': `lr: 1\ndeep: ${'['.repeat(3000)}${']'.repeat(3000)}\n` }));
    expect(ms).toBeLessThan(1000);
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.source).toMatchObject({ file: 'params.yaml', line: 2 });
  });

  it('100 levels are allowed, and the limit can be raised', () => {
    expect(parse(dvcYamlDeepFlow(97)).stages).toHaveLength(1);
    expect(refused(() => parse(dvcYamlDeepFlow(98))).error.code).toBe('INPUT_LIMIT');
    expect(parse(dvcYamlDeepFlow(300), {}, { maxDepth: 400 }).stages).toHaveLength(1);
  });

  it('nesting built from aliases counts too', () => {
    // each level is a one-item list holding the level before: few values, deep
    const lines = ['x0: &x0 [leaf]', ...Array.from({ length: 140 }, (_, i) => `x${i + 1}: &x${i + 1} [*x${i}]`)];
    const { error } = refused(() => parse('stages:\n  s:\n    cmd: echo\n', { 'params.yaml': `${lines.join('\n')}\n` }, { maxAliasValues: 1_000_000 }));
    expect(error.code).toBe('INPUT_LIMIT');
    expect(error.message).toBe('nested more than 100 levels deep');
    expect(error.source?.file).toBe('params.yaml');
  });
});
