import { describe, expect, it } from 'vitest';
import { ReprodError, ReprodErrors } from '../../../src/core/errors.js';
import type { Pipeline } from '../../../src/core/types.js';
import { parseDvcYaml } from '../../../src/pipeline/parse-dvc-yaml.js';
import type { ParsingConfig } from '../../../src/pipeline/interpolate.js';

function parse(text: string, files: Record<string, string> = {}, parsing?: ParsingConfig): Pipeline {
  return parseDvcYaml(text, { file: 'dvc.yaml', readFile: (p) => files[p], ...(parsing ? { parsing } : {}) });
}

function errorsOf(fn: () => unknown): ReprodError[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ReprodErrors) return e.errors;
    if (e instanceof ReprodError) return [e];
    throw e;
  }
  throw new Error('expected errors');
}

/** `location: message` of each error. */
const describeErrors = (fn: () => unknown): string[] => errorsOf(fn).map((e) => `${e.location ?? ''}: ${e.message}`);

/** name → cmd of each stage. */
const cmds = (p: Pipeline): Record<string, string | string[]> => Object.fromEntries(p.stages.map((s) => [s.name, s.cmd]));

describe('vars and the context', () => {
  it('loads params.yaml of the dvc.yaml folder by default', () => {
    const p = parse('stages:\n  s:\n    cmd: echo ${lr} ${model.name} ${layers[1]} ${layers.0}\n', {
      'params.yaml': 'lr: 0.010\nmodel:\n  name: m\nlayers: [8, 16]\n',
    });
    expect(cmds(p)).toEqual({ s: 'echo 0.01 m 16 8' });
  });

  it('merges inline mappings and files in order, nested mappings key by key', () => {
    const p = parse(
      'vars:\n  - m: {a: 1}\n  - conf/v.yaml\n  - other.json:x,y\nstages:\n  s:\n    cmd: echo ${m.a} ${m.b} ${x} ${y}\n',
      { 'conf/v.yaml': 'm:\n  b: two\n', 'other.json': '{"x": 1.5, "y": true, "z": 3}' },
    );
    expect(cmds(p)).toEqual({ s: 'echo 1 two 1.5 true' });
  });

  it('imports only the named keys of a partial import', () => {
    expect(describeErrors(() => parse('vars:\n  - v.yaml:a\nstages:\n  s:\n    cmd: echo ${b}\n', { 'v.yaml': 'a: 1\nb: 2\n' }))).toEqual([
      "dvc.yaml:5: stages.s.cmd: Could not find 'b'",
    ]);
    expect(describeErrors(() => parse('vars:\n  - v.yaml:a,zz\nstages: {}\n', { 'v.yaml': 'a: 1\n' }))).toEqual([
      "dvc.yaml:2: vars[0]: could not find 'zz' in 'v.yaml'",
    ]);
  });

  it('refuses to redefine a variable, naming both sources', () => {
    expect(describeErrors(() => parse('vars:\n  - a: 1\n  - a: 2\nstages: {}\n'))).toEqual([
      "dvc.yaml:3: vars[1]: cannot redefine 'a' from 'vars[1]' as it already exists in 'vars[0]'",
    ]);
    expect(describeErrors(() => parse('vars:\n  - v.yaml\nstages: {}\n', { 'params.yaml': 'm:\n  x: 1\n', 'v.yaml': 'm:\n  x: 2\n' }))).toEqual([
      "dvc.yaml:2: vars[0]: cannot redefine 'm.x' from 'v.yaml' as it already exists in 'params.yaml'",
    ]);
    expect(describeErrors(() => parse('vars:\n  - m: 1\n  - m: {x: 1}\nstages: {}\n'))[0]).toContain("cannot redefine 'm'");
  });

  it('allows naming a whole file twice, but not whole and partial together', () => {
    expect(parse('vars:\n  - params.yaml\n  - params.yaml\nstages: {}\n', { 'params.yaml': 'a: 1\n' }).stages).toEqual([]);
    expect(describeErrors(() => parse('vars:\n  - params.yaml:a\nstages: {}\n', { 'params.yaml': 'a: 1\n' }))).toEqual([
      "dvc.yaml:2: vars[0]: cannot partially load 'params.yaml:a' as it's already loaded.",
    ]);
    expect(describeErrors(() => parse('vars:\n  - v.yaml:a\n  - v.yaml\nstages: {}\n', { 'v.yaml': 'a: 1\nb: 2\n' }))).toEqual([
      "dvc.yaml:3: vars[1]: cannot load 'v.yaml' as it's partially loaded already",
    ]);
    expect(describeErrors(() => parse('vars:\n  - v.yaml:a\n  - v.yaml:a,b\nstages: {}\n', { 'v.yaml': 'a: 1\nb: 2\n' }))).toEqual([
      "dvc.yaml:3: vars[1]: cannot load 'v.yaml:a,b' as it's partially loaded already",
    ]);
    const p = parse('vars:\n  - v.yaml:a\n  - v.yaml:b\nstages:\n  s:\n    cmd: ${a}${b}\n', { 'v.yaml': 'a: 1\nb: 2\n' });
    expect(cmds(p)).toEqual({ s: '12' });
  });

  it('reports a missing or broken vars file', () => {
    const missing = errorsOf(() => parse('vars:\n  - nope.yaml\nstages: {}\n'));
    expect(missing.map((e) => [e.code, e.location, e.message])).toEqual([['PARAMS_FILE', 'dvc.yaml:2: vars[0]', "'nope.yaml' does not exist"]]);
    const broken = errorsOf(() => parse('stages: {}\n', { 'params.yaml': 'a: [1\n' }));
    expect(broken[0]?.code).toBe('PARAMS_FILE');
    expect(broken[0]?.source?.file).toBe('params.yaml');
    expect(describeErrors(() => parse('vars:\n  - params.py\nstages: {}\n', { 'params.py': 'A = 1\n' }))[0]).toContain(
      'Python params files are not supported',
    );
  });

  it('refuses ${} inside vars', () => {
    expect(describeErrors(() => parse('vars:\n  - a: ${b}\nstages: {}\n'))).toEqual(['dvc.yaml:2: vars[0].a: interpolating is not allowed in vars']);
  });

  it('gives a stage its own vars, read relative to its wdir, invisible to other stages', () => {
    const p = parse('vars:\n  - g: 1\nstages:\n  a:\n    wdir: sub\n    vars:\n      - local.yaml\n      - x: 2\n    cmd: echo ${g} ${l} ${x}\n  b:\n    cmd: echo ${g}\n', {
      'sub/local.yaml': 'l: L\n',
    });
    expect(cmds(p)).toEqual({ a: 'echo 1 L 2', b: 'echo 1' });
    expect(describeErrors(() => parse('vars:\n  - g: 1\nstages:\n  a:\n    vars:\n      - x: 2\n    cmd: echo ${x}\n  b:\n    cmd: echo ${x}\n'))).toEqual([
      "dvc.yaml:9: stages.b.cmd: Could not find 'x'",
    ]);
    expect(describeErrors(() => parse('vars:\n  - g: 1\nstages:\n  a:\n    vars:\n      - g: 2\n    cmd: echo\n'))).toEqual([
      "dvc.yaml:6: stages.a.vars[0]: cannot redefine 'g' from 'a.vars[0]' as it already exists in 'vars[0]'",
    ]);
  });
});

describe('${} in stages', () => {
  it('names an unknown variable with file, key and line', () => {
    const [e, ...rest] = errorsOf(() => parse('stages:\n  s:\n    cmd: echo ${nope.x}\n    deps:\n      - ${a}\n'));
    expect(rest).toHaveLength(1);
    expect(e?.code).toBe('INTERPOLATION');
    expect(e?.source).toEqual({ file: 'dvc.yaml', key: 'stages.s.cmd', line: 3 });
    expect(e?.message).toBe("Could not find 'nope.x'");
    expect(rest[0]?.source).toEqual({ file: 'dvc.yaml', key: 'stages.s.deps[0]', line: 5 });
  });

  it('reports a malformed expression', () => {
    expect(describeErrors(() => parse('stages:\n  s:\n    cmd: echo ${a..b}\n'))).toEqual([
      "dvc.yaml:3: stages.s.cmd: cannot parse '${a..b}': expected a name at character 3",
    ]);
  });

  it('turns \\${x} into a literal ${x}', () => {
    const p = parse('vars:\n  - x: 1\nstages:\n  s:\n    cmd:\n      - echo \\${HOME} ${x}\n      - echo "\\${VAR:-unset}"\n');
    expect(cmds(p)).toEqual({ s: ['echo ${HOME} 1', 'echo "${VAR:-unset}"'] });
  });

  it('keeps types of whole values, renders booleans and floats like DVC in strings', () => {
    const p = parse(
      'vars:\n  - on: true\n    lr: 1.0e-3\n    big: 1e16\n    d: "txt"\nstages:\n  s:\n    cmd: run --on ${on} --lr ${lr} --big ${big}\n    desc: ${d}\n    meta: ${lr}\n',
    );
    const s = p.stages[0];
    expect(s?.cmd).toBe('run --on true --lr 0.001 --big 1e+16');
    expect(s?.desc).toBe('txt');
    expect(s?.meta).toEqual(expect.objectContaining({ value: 0.001 }));
  });

  it('renders a mapping in cmd as options, honouring [parsing]', () => {
    const text = 'vars:\n  - args: {lr: 0.1, fast: true, slow: false, ids: [1, 2], name: a b}\nstages:\n  s:\n    cmd: python t.py ${args}\n';
    expect(cmds(parse(text))).toEqual({ s: "python t.py --lr 0.1 --fast --ids 1 2 --name 'a b'" });
    expect(cmds(parse(text, {}, { bool: 'boolean_optional', list: 'append' }))).toEqual({
      s: "python t.py --lr 0.1 --fast --no-slow --ids 1 --ids 2 --name 'a b'",
    });
  });

  it('refuses a list or mapping outside cmd', () => {
    expect(describeErrors(() => parse('vars:\n  - l: [a, b]\nstages:\n  s:\n    cmd: echo\n    deps:\n      - x${l}\n'))).toEqual([
      "dvc.yaml:7: stages.s.deps[0]: Cannot interpolate data of type 'list'",
    ]);
  });

  it('interpolates mapping keys (params files, out paths)', () => {
    const p = parse('vars:\n  - f: conf.yaml\n    o: out.bin\nstages:\n  s:\n    cmd: echo\n    params:\n      - ${f}: [a]\n    outs:\n      - ${o}:\n          cache: false\n');
    expect(p.stages[0]?.params).toMatchObject([{ defPath: 'conf.yaml', path: 'conf.yaml', keys: ['a'] }]);
    expect(p.stages[0]?.outs.map((o) => [o.defPath, o.cache])).toEqual([['out.bin', false]]);
  });

  it('interpolates wdir', () => {
    const p = parse('vars:\n  - d: sub\nstages:\n  s:\n    wdir: ${d}\n    cmd: echo\n    deps: [x]\n');
    expect(p.stages[0]?.wdir).toBe('sub');
    expect(p.stages[0]?.deps).toEqual([{ defPath: 'x', path: 'sub/x' }]);
  });

  it('interpolates top-level params, metrics and plots', () => {
    const p = parse('vars:\n  - d: eval\nparams:\n  - ${d}/p.yaml\nmetrics:\n  - ${d}/m.json\nplots:\n  - ${d}/roc.json:\n      x: fpr\nstages: {}\n');
    expect(p.params).toEqual(['eval/p.yaml']);
    expect(p.metrics).toEqual(['eval/m.json']);
    expect(p.plots).toEqual([new Map([['eval/roc.json', new Map([['x', 'fpr']])]])]);
  });
});

describe('foreach', () => {
  it('names stages by key for a mapping, with ${key} and ${item.x}', () => {
    const p = parse('stages:\n  gen:\n    foreach: ${models}\n    do:\n      cmd: echo ${key} ${item.size}\n', {
      'params.yaml': 'models:\n  small: {size: 2}\n  large: {size: 5}\n',
    });
    expect(cmds(p)).toEqual({ 'gen@small': 'echo small 2', 'gen@large': 'echo large 5' });
    expect(p.stages.map((s) => s.group)).toEqual(['gen', 'gen']);
  });

  it('names stages by value for a list of scalars, rendered like DVC', () => {
    const p = parse('stages:\n  s:\n    foreach: [en, 1, 0.5, 1.0, true, null]\n    do:\n      cmd: echo ${item}\n');
    expect(cmds(p)).toEqual({
      's@en': 'echo en',
      's@1': 'echo 1',
      's@0.5': 'echo 0.5',
      's@1.0': 'echo 1.0',
      's@true': 'echo true',
      's@None': 'echo None',
    });
  });

  it('names booleans that came from vars the way Python prints them', () => {
    const p = parse('vars:\n  - flags: [true, false]\nstages:\n  s:\n    foreach: ${flags}\n    do:\n      cmd: echo ${item}\n');
    expect(Object.keys(cmds(p))).toEqual(['s@True', 's@False']);
  });

  it('names stages by index when any item is a list or mapping', () => {
    const p = parse('stages:\n  s:\n    foreach:\n      - {name: one, n: 1}\n      - two\n    do:\n      cmd: echo ${item}\n');
    expect(cmds(p)).toEqual({ 's@0': 'echo --name one --n 1', 's@1': 'echo two' });
    expect(Object.keys(cmds(parse('stages:\n  s:\n    foreach:\n      - {n: 1}\n      - {n: 2}\n    do:\n      cmd: echo ${item.n}\n')))).toEqual(['s@0', 's@1']);
  });

  it('collapses repeated names, keeping the first position', () => {
    expect(Object.keys(cmds(parse('stages:\n  s:\n    foreach: [a, b, a]\n    do:\n      cmd: echo ${item}\n')))).toEqual(['s@a', 's@b']);
  });

  it('has no ${key} over a list, and reserves item and key', () => {
    expect(describeErrors(() => parse('stages:\n  s:\n    foreach: [a]\n    do:\n      cmd: echo ${key}\n'))).toEqual([
      "dvc.yaml:5: stages.s.do.cmd: Could not find 'key' (stage 's@a')",
    ]);
    expect(describeErrors(() => parse('stages:\n  s:\n    foreach: [a]\n    do:\n      vars:\n        - item: 1\n      cmd: echo\n'))).toEqual([
      "dvc.yaml:6: stages.s.do.vars[0]: attempted to modify reserved key item (stage 's@a')",
    ]);
  });

  it('shadows a global item/key only while generating', () => {
    const p = parse('vars:\n  - item: global\nstages:\n  s:\n    foreach: [a]\n    do:\n      cmd: echo ${item}\n  t:\n    cmd: echo ${item}\n');
    expect(cmds(p)).toEqual({ 's@a': 'echo a', t: 'echo global' });
  });

  it('refuses foreach over a scalar', () => {
    expect(describeErrors(() => parse('vars:\n  - n: 3\nstages:\n  s:\n    foreach: ${n}\n    do:\n      cmd: echo\n'))).toEqual([
      'dvc.yaml:5: stages.s.foreach: expected list/dictionary, got int',
    ]);
  });

  it('makes no stage from an empty list', () => {
    expect(parse('stages:\n  s:\n    foreach: []\n    do:\n      cmd: echo ${item.missing}\n').stages).toEqual([]);
  });

  it('supports per-stage vars inside do', () => {
    const p = parse('stages:\n  s:\n    foreach: [a, b]\n    do:\n      vars:\n        - suffix: txt\n      cmd: echo ${item}.${suffix}\n');
    expect(cmds(p)).toEqual({ 's@a': 'echo a.txt', 's@b': 'echo b.txt' });
  });
});

describe('matrix', () => {
  it('makes one stage per combination, first key outermost, with ${key}', () => {
    const p = parse('stages:\n  g:\n    matrix:\n      m: [small, large]\n      lr: [0.1, 0.01]\n    cmd: echo ${item.m} ${item.lr} ${key}\n');
    expect(cmds(p)).toEqual({
      'g@small-0.1': 'echo small 0.1 small-0.1',
      'g@small-0.01': 'echo small 0.01 small-0.01',
      'g@large-0.1': 'echo large 0.1 large-0.1',
      'g@large-0.01': 'echo large 0.01 large-0.01',
    });
  });

  it('names list and mapping values <key><index>, and reads ${} axes from vars', () => {
    const p = parse(
      'vars:\n  - ds: [d1/, d2/]\nstages:\n  t:\n    matrix:\n      ds: ${ds}\n      cfg:\n        - {n: 150, depth: 20}\n      labels:\n        - [a, b]\n    cmd: train ${item.ds} ${item.cfg} ${item.labels.1}\n',
    );
    expect(cmds(p)).toEqual({
      't@d1/-cfg0-labels0': 'train d1/ --n 150 --depth 20 b',
      't@d2/-cfg0-labels0': 'train d2/ --n 150 --depth 20 b',
    });
  });

  it('names booleans by origin, like foreach', () => {
    const p = parse('vars:\n  - f: [true]\nstages:\n  t:\n    matrix:\n      a: ${f}\n      b: [true]\n    cmd: echo\n');
    expect(Object.keys(cmds(p))).toEqual(['t@True-true']);
  });

  it('refuses an axis that is a scalar', () => {
    expect(describeErrors(() => parse('vars:\n  - n: 3\nstages:\n  t:\n    matrix:\n      a: ${n}\n    cmd: echo\n'))).toEqual([
      'dvc.yaml:6: stages.t.matrix.a: expected a list, got int',
    ]);
  });

  it('reports an error in one generated stage with its name', () => {
    expect(describeErrors(() => parse('stages:\n  t:\n    matrix:\n      a: [x]\n    cmd: echo ${item.b}\n'))).toEqual([
      "dvc.yaml:5: stages.t.cmd: Could not find 'item.b' (stage 't@x')",
    ]);
  });
});
