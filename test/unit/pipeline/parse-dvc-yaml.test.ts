import { describe, expect, it } from 'vitest';
import { ReprodError, ReprodErrors } from '../../../src/core/errors.js';
import type { Pipeline, Stage } from '../../../src/core/types.js';
import { parseDvcYaml } from '../../../src/pipeline/parse-dvc-yaml.js';
import { joinWsPath, normalizeWsPath, wsDirname } from '../../../src/pipeline/paths.js';

function parse(text: string, files: Record<string, string> = {}, file = 'dvc.yaml'): Pipeline {
  return parseDvcYaml(text, { file, readFile: (p) => files[p] });
}

function only(p: Pipeline): Stage {
  const [s, ...rest] = p.stages;
  if (s === undefined || rest.length > 0) throw new Error(`expected one stage, got ${p.stages.length}`);
  return s;
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

describe('paths helpers', () => {
  it('normalise workspace-relative paths', () => {
    expect(normalizeWsPath('./a//b/')).toBe('a/b');
    expect(normalizeWsPath('a/../b')).toBe('b');
    expect(normalizeWsPath('.')).toBe('.');
    expect(normalizeWsPath('a/..')).toBe('.');
    expect(normalizeWsPath('../a')).toBeUndefined();
    expect(normalizeWsPath('a/../../b')).toBeUndefined();
    expect(normalizeWsPath('/etc/passwd')).toBeUndefined();
    expect(normalizeWsPath('a\\b')).toBe('a\\b');
    expect(joinWsPath('sub', '../x')).toBe('x');
    expect(joinWsPath('.', 'x/')).toBe('x');
    expect(joinWsPath('sub', '/abs')).toBeUndefined();
    expect(wsDirname('dvc.yaml')).toBe('.');
    expect(wsDirname('a/b/dvc.yaml')).toBe('a/b');
  });
});

describe('parseDvcYaml: a stage', () => {
  it('fills every field with DVC defaults', () => {
    const s = only(parse('stages:\n  train:\n    cmd: python train.py\n'));
    expect(s).toEqual({
      name: 'train',
      group: 'train',
      cmd: 'python train.py',
      wdir: '.',
      deps: [],
      params: [],
      outs: [],
      frozen: false,
      alwaysChanged: false,
      source: { file: 'dvc.yaml', key: 'stages.train', line: 2 },
    });
  });

  it('keeps cmd lists, desc, meta, frozen and always_changed', () => {
    const s = only(
      parse('stages:\n  t:\n    cmd:\n      - a\n      - b\n    desc: Trains\n    meta:\n      owner: me\n    frozen: true\n    always_changed: true\n'),
    );
    expect(s.cmd).toEqual(['a', 'b']);
    expect(s.desc).toBe('Trains');
    expect(s.meta).toEqual(new Map([['owner', 'me']]));
    expect(s.frozen).toBe(true);
    expect(s.alwaysChanged).toBe(true);
  });

  it('keeps paths as written and normalises them against the wdir', () => {
    const s = only(parse('stages:\n  t:\n    wdir: sub/\n    cmd: x\n    deps:\n      - ./data/\n      - ../top.txt\n      - a/../b\n    outs:\n      - out/\n'));
    expect(s.wdir).toBe('sub');
    expect(s.deps).toEqual([
      { defPath: './data/', path: 'sub/data' },
      { defPath: '../top.txt', path: 'top.txt' },
      { defPath: 'a/../b', path: 'sub/b' },
    ]);
    expect(s.outs.map((o) => [o.defPath, o.path])).toEqual([['out/', 'sub/out']]);
  });

  it('resolves paths of a dvc.yaml in a subfolder from that folder', () => {
    const p = parse('stages:\n  t:\n    cmd: x\n    deps: [in.txt]\n    params: [lr]\n', { 'sub/params.yaml': 'lr: 1\n' }, 'sub/dvc.yaml');
    const s = only(p);
    expect(p.file).toBe('sub/dvc.yaml');
    expect(s.wdir).toBe('sub');
    expect(s.deps).toEqual([{ defPath: 'in.txt', path: 'sub/in.txt' }]);
    expect(s.params).toMatchObject([{ defPath: 'params.yaml', path: 'sub/params.yaml', keys: ['lr'] }]);
    expect(s.source).toEqual({ file: 'sub/dvc.yaml', key: 'stages.t', line: 2 });
  });

  it('refuses paths outside the workspace with their key and line', () => {
    const errs = errorsOf(() =>
      parse('stages:\n  t:\n    cmd: x\n    deps:\n      - ok.txt\n      - ../../etc/passwd\n    outs:\n      - /tmp/o\n      - s3://bucket/key\n'),
    );
    expect(errs.map((e) => [e.code, e.location, e.message])).toEqual([
      ['PATH_OUTSIDE', 'dvc.yaml:6: stages.t.deps[1]', "'../../etc/passwd' is outside the workspace"],
      ['PATH_OUTSIDE', 'dvc.yaml:8: stages.t.outs[0]', "'/tmp/o' is outside the workspace"],
      ['PATH_OUTSIDE', 'dvc.yaml:9: stages.t.outs[1]', "'s3://bucket/key' is not a workspace path: remote dependencies and outputs are not supported"],
    ]);
    expect(errorsOf(() => parse('stages:\n  t:\n    wdir: ..\n    cmd: x\n')).map((e) => [e.code, e.location])).toEqual([
      ['PATH_OUTSIDE', 'dvc.yaml:3: stages.t.wdir'],
    ]);
    // a wdir of `..` is fine from a dvc.yaml one folder down
    expect(only(parse('stages:\n  t:\n    wdir: ..\n    cmd: x\n', {}, 'sub/dvc.yaml')).wdir).toBe('.');
  });
});

describe('parseDvcYaml: params', () => {
  it('sends bare keys to params.yaml of the wdir and merges entries per file in order', () => {
    const s = only(
      parse('stages:\n  t:\n    wdir: w\n    cmd: x\n    params:\n      - lr\n      - conf.json:\n          - a\n      - epochs\n      - conf.json: [b, a]\n      - lr\n'),
    );
    expect(s.params).toMatchObject([
      { defPath: 'params.yaml', path: 'w/params.yaml', keys: ['lr', 'epochs'] },
      { defPath: 'conf.json', path: 'w/conf.json', keys: ['a', 'b'] },
    ]);
  });

  it('tracks a whole file with null (or an empty list) and then drops its keys', () => {
    const s = only(parse('stages:\n  t:\n    cmd: x\n    params:\n      - lr\n      - other.toml: [k]\n      - params.yaml:\n      - other.toml: []\n'));
    expect(s.params).toMatchObject([
      { defPath: 'other.toml', path: 'other.toml', keys: null },
      { defPath: 'params.yaml', path: 'params.yaml', keys: null },
    ]);
  });

  it('reports a params file outside the workspace', () => {
    expect(errorsOf(() => parse('stages:\n  t:\n    cmd: x\n    params:\n      - ../p.yaml: [a]\n')).map((e) => e.location)).toEqual([
      'dvc.yaml:5: stages.t.params[0].../p.yaml',
    ]);
  });
});

describe('parseDvcYaml: outs, metrics, plots', () => {
  it('reads flags with DVC defaults and kinds per section', () => {
    const s = only(
      parse(
        'stages:\n  t:\n    cmd: x\n    outs:\n      - model.pkl\n      - cache.bin:\n          cache: false\n          persist: true\n          push: false\n          remote: store\n          desc: Cache\n          checkpoint: true\n    metrics:\n      - m.json:\n          cache: false\n    plots:\n      - p.csv:\n          x: step\n          y: loss\n          template: linear\n',
      ),
    );
    expect(s.outs).toEqual([
      { defPath: 'model.pkl', path: 'model.pkl', kind: 'out', cache: true, persist: false, push: true },
      { defPath: 'cache.bin', path: 'cache.bin', kind: 'out', cache: false, persist: true, push: false, remote: 'store', desc: 'Cache' },
      { defPath: 'm.json', path: 'm.json', kind: 'metric', cache: false, persist: false, push: true },
      {
        defPath: 'p.csv',
        path: 'p.csv',
        kind: 'plot',
        cache: true,
        persist: false,
        push: true,
        // display properties in DVC's PLOT_PROPS order, whatever order they were written in
        plot: new Map([
          ['template', 'linear'],
          ['x', 'step'],
          ['y', 'loss'],
        ]),
      },
    ]);
  });

  it('merges repeated entries of one path within a section', () => {
    const s = only(parse('stages:\n  t:\n    cmd: x\n    outs:\n      - a\n      - b\n      - a:\n          cache: false\n'));
    expect(s.outs.map((o) => [o.defPath, o.cache])).toEqual([
      ['a', false],
      ['b', true],
    ]);
  });

  it('refuses a plot given a list of property sets (DVC cannot load it)', () => {
    expect(errorsOf(() => parse('stages:\n  t:\n    cmd: x\n    plots:\n      - p.csv:\n          - x: a\n')).map((e) => e.message)).toEqual([
      "expected a mapping of flags for 'p.csv', got 'list'",
    ]);
  });
});

describe('parseDvcYaml: top level', () => {
  it('returns top-level params, metrics and plots; a plots mapping becomes a list', () => {
    const p = parse('params: [p.yaml]\nmetrics: [m.json]\nplots:\n  roc:\n    x: fpr\n  img.png:\nstages: {}\n');
    expect(p.params).toEqual(['p.yaml']);
    expect(p.metrics).toEqual(['m.json']);
    expect(p.plots).toEqual([new Map([['roc', new Map([['x', 'fpr']])]]), new Map([['img.png', null]])]);
  });

  it('accepts an empty file and a file without stages', () => {
    expect(parse('').stages).toEqual([]);
    expect(parse('vars:\n  - a: 1\n').stages).toEqual([]);
  });

  it('keeps stages in file order, generated ones in place', () => {
    const p = parse('stages:\n  a:\n    cmd: x\n  b:\n    foreach: [1, 2]\n    do:\n      cmd: y\n  c:\n    cmd: z\n');
    expect(p.stages.map((s) => [s.name, s.group, s.source.line])).toEqual([
      ['a', 'a', 2],
      ['b@1', 'b', 4],
      ['b@2', 'b', 4],
      ['c', 'c', 8],
    ]);
  });
});

describe('parseDvcYaml: errors', () => {
  it('throws YAML syntax errors with a line', () => {
    const [e] = errorsOf(() => parse('stages:\n  a:\n    cmd: "x\n'));
    expect(e?.code).toBe('YAML_SYNTAX');
    expect(e?.source?.line).toBeDefined();
  });

  it('throws all schema errors before templating', () => {
    const errs = errorsOf(() => parse('stages:\n  a:\n    cmd: ${missing}\n    foo: 1\n  b:\n    bar: 2\n'));
    expect(errs.map((e) => `${e.code} ${e.location ?? ''}: ${e.message}`)).toEqual([
      "SCHEMA dvc.yaml:4: stages.a: unknown key 'foo'",
      "SCHEMA dvc.yaml:5: stages.b: missing required key 'cmd'",
      "SCHEMA dvc.yaml:6: stages.b: unknown key 'bar'",
    ]);
  });

  it('collects errors of every stage at once', () => {
    const err = (() => {
      try {
        parse('stages:\n  a:\n    cmd: ${x}\n  b:\n    cmd: ok\n    deps: [../out]\n  c:\n    cmd: ${y}\n');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ReprodErrors);
    expect(err instanceof ReprodErrors && err.errors.map((e) => e.source?.key)).toEqual(['stages.a.cmd', 'stages.c.cmd', 'stages.b.deps[0]']);
  });

  it('refuses a cmd that is not text after interpolation', () => {
    expect(errorsOf(() => parse('vars:\n  - n: 5\nstages:\n  a:\n    cmd: ${n}\n')).map((e) => e.message)).toEqual([
      'cmd must be a string or a list of strings after interpolation',
    ]);
  });
});

describe('parseDvcYaml: a large foreach', () => {
  it('expands 1,000 items (performance is measured outside the test suite)', () => {
    const items = Array.from({ length: 1000 }, (_, i) => `      - {id: s${i}, n: ${i}}`).join('\n');
    const p = parse(`stages:\n  gen:\n    foreach:\n${items}\n    do:\n      cmd: python gen.py --id \${item.id} --n \${item.n}\n      deps: [gen.py]\n      params: [seed]\n      outs:\n        - out/\${item.id}.txt\n`);
    expect(p.stages).toHaveLength(1000);
    expect(p.stages[999]?.name).toBe('gen@999');
    expect(p.stages[999]?.cmd).toBe('python gen.py --id s999 --n 999');
    expect(p.stages[999]?.outs[0]?.path).toBe('out/s999.txt');
  });
});
