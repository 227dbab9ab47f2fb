import { describe, expect, it } from 'vitest';
import { PyFloat, type PyValue } from '../../../src/core/pyvalue.js';
import { pyJsonDumps } from '../../../src/lock/py-json.js';
import type { Loaded } from '../../../src/metrics/data-file.js';
import { diffFiles, diffJson } from '../../../src/metrics/diff.js';
import { pyRepr, pyRound } from '../../../src/metrics/py-format.js';
import { gatherMetrics, gatherParams, revResultJson, selectKeys } from '../../../src/metrics/results.js';
import { diffTable, metricsTable, renderTable, tabulate } from '../../../src/metrics/table.js';
import { parseDvcYaml } from '../../../src/pipeline/parse-dvc-yaml.js';
import { memTree } from '../../helpers/mem-tree.js';

const N13_YAML = `stages:
  train:
    cmd: python3 train.py
    deps: [train.py]
    params: [epochs]
    outs: [model.txt]
    metrics:
      - metrics.json:
          cache: false
  evaluate:
    cmd: printf x > eval/metrics.json
    deps: [model.txt]
    metrics: [eval/metrics.json]
metrics:
  - metrics.json
`;

const pipelineOf = (files: Record<string, string>) => [parseDvcYaml(files['dvc.yaml'] ?? '', { file: 'dvc.yaml', readFile: (p) => files[p] })];

const data = (v: PyValue): Loaded => ({ data: v });
const dict = (o: Record<string, PyValue>): Map<string, PyValue> => new Map(Object.entries(o));

describe('metrics show', () => {
  const files = { 'dvc.yaml': N13_YAML, 'params.yaml': 'epochs: 5\n', 'metrics.json': '{"acc": 0.55, "loss": 0.2}', 'eval/metrics.json': '{"auc":0.7}' };

  it("reads each declared metrics file once, stage metrics first, as DVC's JSON", () => {
    const result = { data: gatherMetrics(memTree(files), pipelineOf(files), []) };
    expect(pyJsonDumps(new Map([['', revResultJson(result)]]))).toBe(
      '{"": {"data": {"metrics.json": {"data": {"acc": 0.55, "loss": 0.2}}, "eval/metrics.json": {"data": {"auc": 0.7}}}}}',
    );
  });

  it('keeps numbers, strings and booleans; drops lists and nulls; reports files that do not load', () => {
    const tree = memTree({ ...files, 'm.yaml': 'a: [1, 2]\nb: {c: null, d: true}\ne: text\n', 'eval/metrics.json': '{bad' });
    const got = gatherMetrics(tree, pipelineOf(files), ['m.yaml', 'eval/metrics.json', 'gone.json']);
    expect(pyJsonDumps(revResultJson({ data: got }))).toBe(
      '{"data": {"m.yaml": {"data": {"b": {"d": true}, "e": "text"}}, ' +
        `"eval/metrics.json": {"error": {"type": "JSONFileCorruptedError", "msg": "unable to read: 'eval/metrics.json', JSON file structure is corrupted"}}, ` +
        `"gone.json": {"error": {"type": "FileNotFoundError", "msg": "[Errno 2] No such file or directory: 'gone.json'"}}}}`,
    );
  });

  it('prints the table DVC prints: a column per metric, sorted, "-" where a file has none', () => {
    const results = new Map([['', { data: gatherMetrics(memTree(files), pipelineOf(files), []) }]]);
    expect(renderTable(metricsTable(results, { precision: 5, showRevision: false }), 'plain')).toBe(
      'Path               acc    auc    loss\nmetrics.json       0.55   -      0.2\neval/metrics.json  -      0.7    -\n',
    );
    expect(renderTable(metricsTable(new Map(), { precision: 5, showRevision: false }), 'plain')).toBe('');
  });
});

describe('metrics diff', () => {
  it('gives old, new and diff of changed numbers (n13: epochs 3 → 5), sorted by file and key', () => {
    const old = new Map([['metrics.json', data(dict({ acc: new PyFloat(0.53), loss: new PyFloat(1 / 3) }))], ['eval/metrics.json', data(dict({ auc: new PyFloat(0.7) }))]]);
    const next = new Map([['metrics.json', data(dict({ acc: new PyFloat(0.55), loss: new PyFloat(0.2) }))], ['eval/metrics.json', data(dict({ auc: new PyFloat(0.7) }))]]);
    const d = diffFiles(old, next, false);
    expect(pyJsonDumps(diffJson(d))).toBe(
      '{"metrics.json": {"acc": {"old": 0.53, "new": 0.55, "diff": 0.020000000000000018}, "loss": {"old": 0.3333333333333333, "new": 0.2, "diff": -0.1333333333333333}}}',
    );
    expect(renderTable(diffTable(d, { title: 'Metric', aRev: 'HEAD', bRev: 'workspace', noPath: false, showChanges: true, precision: 5 }), 'plain')).toBe(
      'Path          Metric    HEAD     workspace    Change\n' + 'metrics.json  acc       0.53     0.55         0.02\n' + 'metrics.json  loss      0.33333  0.2          -0.13333\n',
    );
    expect(pyJsonDumps(diffJson(diffFiles(old, next, true)))).toContain('"eval/metrics.json": {"auc": {"old": 0.7, "new": 0.7, "diff": 0.0}}');
  });

  it('compares lists as their str(), nested keys dotted, a missing side as null, a non-mapping side as "unable to parse"', () => {
    const old = new Map<string, Loaded>([
      ['a.yaml', data(dict({ l: [1, 2], n: dict({ x: 1 }), flag: true, gone: 1 }))],
      ['s.json', data(new PyFloat(0.5))],
      ['err.json', { error: { type: 'FileNotFoundError', msg: 'x' } }],
    ]);
    const next = new Map<string, Loaded>([
      ['a.yaml', data(dict({ l: [1, 3], n: dict({ x: new PyFloat(1.5) }), flag: false }))],
      ['s.json', data(dict({ k: 1 }))],
      ['err.json', data(dict({ v: 2 }))],
    ]);
    expect(pyJsonDumps(diffJson(diffFiles(old, next, false)))).toBe(
      '{"a.yaml": {"flag": {"old": true, "new": false, "diff": -1}, "gone": {"old": 1, "new": null}, "l": {"old": "[1, 2]", "new": "[1, 3]"}, ' +
        '"n.x": {"old": 1, "new": 1.5, "diff": 0.5}}, "err.json": {"v": {"old": null, "new": 2}}, "s.json": {"k": {"old": "unable to parse", "new": 1}}}',
    );
  });

  it('params tables have no Change column and print floats in full', () => {
    const d = diffFiles(new Map([['params.yaml', data(dict({ lr: new PyFloat(0.123456789) }))]]), new Map([['params.yaml', data(dict({ lr: new PyFloat(0.2) }))]]), false);
    expect(renderTable(diffTable(d, { title: 'Param', aRev: 'HEAD', bRev: 'workspace', noPath: false, showChanges: false }), 'github')).toBe(
      '| Path        | Param   | HEAD        | workspace   |\n|-------------|---------|-------------|-------------|\n| params.yaml | lr      | 0.123456789 | 0.2         |\n\n',
    );
  });
});

describe('params', () => {
  it('reads params.yaml whole, and the keys stages use from other files', () => {
    const files = {
      'dvc.yaml': 'stages:\n  s:\n    cmd: x\n    params: [epochs, {conf.yaml: [train.lr, train.missing]}]\n',
      'params.yaml': 'epochs: 5\nunused: 1\n',
      'conf.yaml': 'train:\n  lr: 0.1\n  bs: 32\nother: 2\n',
    };
    const got = gatherParams(memTree(files), pipelineOf(files), { targets: [], depsOnly: false });
    expect(pyJsonDumps(revResultJson({ data: got }))).toBe(
      '{"data": {"params.yaml": {"data": {"epochs": 5, "unused": 1}}, "conf.yaml": {"data": {"train": {"lr": 0.1}}}}}',
    );
    const deps = gatherParams(memTree(files), pipelineOf(files), { targets: [], depsOnly: true });
    expect(pyJsonDumps(revResultJson({ data: deps }))).toBe('{"data": {"params.yaml": {"data": {"epochs": 5}}, "conf.yaml": {"data": {"train": {"lr": 0.1}}}}}');
  });

  it('selectKeys nests dotted keys and copies what it takes', () => {
    const config = dict({ a: dict({ b: 1, c: dict({ d: 2 }) }), e: 3 });
    const got = selectKeys(config, ['a.c', 'e', 'a.c.d', 'nope.x']);
    expect(pyJsonDumps(got)).toBe('{"a": {"c": {"d": 2}}, "e": 3}');
    (got.get('a') as Map<string, PyValue>).set('z', 9);
    expect(pyJsonDumps(config)).toBe('{"a": {"b": 1, "c": {"d": 2}}, "e": 3}');
  });
});

describe('Python formatting', () => {
  it('round() rounds the exact binary value half to even', () => {
    expect(pyRound(0.125, 2)).toBe(0.12); // an exact tie: to even (toFixed says 0.13)
    expect(pyRound(0.375, 2)).toBe(0.38);
    expect(pyRound(2.675, 2)).toBe(2.67); // 2.67499999... in binary
    expect(pyRound(1 / 3, 5)).toBe(0.33333);
    expect(pyRound(-0.1333333333333333, 5)).toBe(-0.13333);
    expect(Object.is(pyRound(-0.000001, 5), -0)).toBe(true);
    expect(pyRound(123456.5, 0)).toBe(123456);
  });

  it("repr() quotes as CPython does", () => {
    expect(pyRepr(['a', "it's", 'say "x"', 'both \' "', 'tab\tnl\n', 'é', '\u200b', null, true, new PyFloat(1)])).toBe(
      `['a', "it's", 'say "x"', 'both \\' "', 'tab\\tnl\\n', 'é', '\\u200b', None, True, 1.0]`,
    );
  });

  it('tabulate: columns two wider than their headers at least, lines right-trimmed', () => {
    expect(tabulate({ headers: ['A', 'Long header'], rows: [['x', ''], ['  yy  ', 'z']] }, 'plain')).toBe('A    Long header\nx\nyy   z');
  });
});
