import { describe, expect, it } from 'vitest';
import type { LockStage, Stage } from '../../../src/core/types.js';
import { flattenMetrics, flattenParams } from '../../../src/tracking/flatten.js';
import { loadYaml } from '../../../src/pipeline/yaml-load.js';
import { parseParamsText } from '../../../src/pipeline/params-file.js';
import {
  buildStageRecord,
  hashTags,
  parseParamsFiles,
  passTags,
  stageArtifacts,
  stageMetrics,
  stageParams,
  stageStartTags,
} from '../../../src/tracking/stage-record.js';

const PARAMS_YAML = `
train:
  model: logistic_regression
  seed: 42
  C: 1.0
  max_iter: 1000
  max_depth: null
  layers: [64, 32]
  opt:
    lr: 1e-3
    nesterov: true
evaluate:
  champion_threshold: 0.95
`;

const stage: Stage = {
  name: 'train',
  group: 'train',
  cmd: ['python3 train.py', 'echo done'],
  wdir: '.',
  deps: [
    { defPath: 'data/processed', path: 'data/processed' },
    { defPath: 'train.py', path: 'train.py' },
  ],
  params: [
    { defPath: 'params.yaml', path: 'params.yaml', keys: ['train'] },
    { defPath: 'conf/extra.json', path: 'conf/extra.json', keys: null },
  ],
  outs: [
    { defPath: 'models/model.pkl', path: 'models/model.pkl', kind: 'out', cache: true, persist: false, push: true },
    { defPath: 'metrics/scores.json', path: 'metrics/scores.json', kind: 'metric', cache: false, persist: false, push: true },
    { defPath: 'metrics/more.yaml', path: 'metrics/more.yaml', kind: 'metric', cache: false, persist: false, push: true },
    { defPath: 'plots/roc.csv', path: 'plots/roc.csv', kind: 'plot', cache: false, persist: false, push: true },
  ],
  frozen: false,
  alwaysChanged: false,
  source: { file: 'dvc.yaml', key: 'stages.train', line: 2 },
};

const entry: LockStage = {
  cmd: 'python3 train.py',
  deps: [
    { path: 'data/processed', hash: 'md5', md5: 'd41d8cd98f00b204e9800998ecf8427e.dir', size: 10, nfiles: 2 },
    { path: 'train.py', hash: 'md5', md5: 'aaaa', size: 3 },
  ],
  params: new Map(),
  outs: [
    { path: 'models/model.pkl', hash: 'md5', md5: 'bbbb', size: 5 },
    { path: 'metrics/scores.json', hash: 'md5', md5: 'cccc', size: 5 },
  ],
};

describe('flattening', () => {
  it('renders params as Python str() of their values, nested keys joined with dots', () => {
    const doc = parseParamsText(PARAMS_YAML, 'params.yaml');
    expect(flattenParams(doc.get('train') ?? null, 'train')).toEqual([
      ['train.model', 'logistic_regression'],
      ['train.seed', '42'],
      ['train.C', '1.0'],
      ['train.max_iter', '1000'],
      ['train.max_depth', 'None'],
      ['train.layers', '[64, 32]'],
      ['train.opt.lr', '0.001'],
      ['train.opt.nesterov', 'True'],
    ]);
  });

  it('keeps only numbers and bools as metrics, nested keys flattened', () => {
    const doc = loadYaml('a: 1\nb: {c: 0.5, d: "x", e: [1, 2], f: true, g: null}\nh: 1.0e+3\n', 'm.yaml').value;
    expect(flattenMetrics(doc)).toEqual([
      ['a', 1],
      ['b.c', 0.5],
      ['b.f', 1],
      ['h', 1000],
    ]);
  });
});

describe('stage record', () => {
  const texts = new Map<string, string | undefined>([
    ['params.yaml', PARAMS_YAML],
    ['conf/extra.json', '{"batch": 32, "nested": {"x": 1.5}}'],
  ]);

  it('takes params from the stage params deps, prefixing other files than params.yaml', () => {
    const { files, problems } = parseParamsFiles(texts);
    expect(problems).toEqual([]);
    const params = stageParams(stage, files);
    expect(params.map((p) => `${p.key}=${p.value}`)).toEqual([
      'train.model=logistic_regression',
      'train.seed=42',
      'train.C=1.0',
      'train.max_iter=1000',
      'train.max_depth=None',
      'train.layers=[64, 32]',
      'train.opt.lr=0.001',
      'train.opt.nesterov=True',
      'conf/extra.json/batch=32',
      'conf/extra.json/nested.x=1.5',
    ]);
  });

  it('reports an unreadable params file instead of failing', () => {
    const { files, problems } = parseParamsFiles(new Map([['params.yaml', 'a: [1']]));
    expect(files.get('params.yaml')).toBeNull();
    expect(problems[0]).toMatch(/params not read: 'params.yaml'/);
  });

  it('reads JSON and YAML metrics files, a key seen before gets its file as prefix', () => {
    const m = stageMetrics(
      stage,
      new Map([
        ['metrics/scores.json', '{"accuracy": 0.93, "f1": 0.9, "per_class": {"a": 1}}'],
        ['metrics/more.yaml', 'accuracy: 0.5\nloss: 0.1\n'],
      ]),
      1_700_000_000_123,
    );
    expect(m.problems).toEqual([]);
    expect(m.metrics).toEqual([
      { key: 'accuracy', value: 0.93, timestamp: 1_700_000_000_123, step: 0 },
      { key: 'f1', value: 0.9, timestamp: 1_700_000_000_123, step: 0 },
      { key: 'per_class.a', value: 1, timestamp: 1_700_000_000_123, step: 0 },
      { key: 'metrics/more.yaml/accuracy', value: 0.5, timestamp: 1_700_000_000_123, step: 0 },
      { key: 'loss', value: 0.1, timestamp: 1_700_000_000_123, step: 0 },
    ]);
  });

  it('reports a malformed metrics file and still logs the others', () => {
    const m = stageMetrics(stage, new Map([['metrics/scores.json', '{"accuracy": '], ['metrics/more.yaml', 'loss: 2\n']]), 1);
    expect(m.metrics.map((x) => x.key)).toEqual(['loss']);
    expect(m.problems).toHaveLength(1);
    expect(m.problems[0]).toMatch(/^metrics not logged: 'metrics\/scores.json': invalid JSON/);
  });

  it('tags a stage run with where it came from and what it ran', () => {
    const tags = stageStartTags(
      { pipelineFile: 'dvc.yaml', user: 'alice', gitCommit: 'a'.repeat(40) },
      { stage, reprodRunId: 'r-1', runtime: 'sha256:abc', reasons: [{ kind: 'cmd' }, { kind: 'param', file: 'params.yaml', key: 'train.C', change: 'modified' }] },
    );
    expect(Object.fromEntries(tags.map((t) => [t.key, t.value]))).toEqual({
      'mlflow.source.name': 'dvc.yaml:train',
      'mlflow.source.type': 'JOB',
      'mlflow.user': 'alice',
      'mlflow.source.git.commit': 'a'.repeat(40),
      'reprod.stage': 'train',
      'reprod.run-id': 'r-1',
      'reprod.cmd': 'python3 train.py\necho done',
      'reprod.image': 'sha256:abc',
      'reprod.reasons': 'command changed; param modified: params.yaml:train.C',
    });
    expect(passTags({ pipelineFile: 'dvc.yaml' })).toEqual([
      { key: 'mlflow.source.name', value: 'dvc.yaml' },
      { key: 'mlflow.source.type', value: 'PROJECT' },
      { key: 'reprod.kind', value: 'pipeline' },
    ]);
  });

  it('tags dep and out md5s by workspace path, also for a stage with a wdir', () => {
    expect(hashTags(stage, entry)).toEqual([
      { key: 'reprod.dep.data/processed', value: 'd41d8cd98f00b204e9800998ecf8427e.dir' },
      { key: 'reprod.dep.train.py', value: 'aaaa' },
      { key: 'reprod.out.models/model.pkl', value: 'bbbb' },
      { key: 'reprod.out.metrics/scores.json', value: 'cccc' },
    ]);
    const sub: Stage = { ...stage, wdir: 'sub', deps: [{ defPath: 'x.csv', path: 'sub/x.csv' }], outs: [] };
    expect(hashTags(sub, { ...entry, deps: [{ path: 'x.csv', md5: 'eeee' }], outs: [] })).toEqual([{ key: 'reprod.dep.sub/x.csv', value: 'eeee' }]);
  });

  it('logs metrics and plots files as artifacts at their workspace paths', () => {
    expect(stageArtifacts(stage)).toEqual([
      { path: 'metrics/scores.json', artifactPath: 'metrics/scores.json' },
      { path: 'metrics/more.yaml', artifactPath: 'metrics/more.yaml' },
      { path: 'plots/roc.csv', artifactPath: 'plots/roc.csv' },
    ]);
  });

  it('builds a finished record, and a failed one without metrics or artifacts', () => {
    const endTime = new Date(1_700_000_000_000);
    const ok = buildStageRecord({ stage, status: 'FINISHED', endTime, action: 'ran', params: [{ key: 'a', value: '1' }], metricsTexts: new Map([['metrics/scores.json', '{"accuracy": 1}']]), entry });
    expect(ok.record.status).toBe('FINISHED');
    expect(ok.record.metrics).toEqual([{ key: 'accuracy', value: 1, timestamp: 1_700_000_000_000, step: 0 }]);
    expect(ok.record.artifacts).toHaveLength(3);
    expect(ok.record.tags[0]).toEqual({ key: 'reprod.action', value: 'ran' });
    const failed = buildStageRecord({ stage, status: 'FAILED', endTime, action: 'ran', params: [], metricsTexts: new Map([['metrics/scores.json', '{"accuracy": 1}']]), error: 'exit code 1' });
    expect(failed.record.metrics).toEqual([]);
    expect(failed.record.artifacts).toEqual([]);
    expect(failed.record.tags).toContainEqual({ key: 'reprod.error', value: 'exit code 1' });
    expect(failed.record.tags).toContainEqual({ key: 'mlflow.note.content', value: 'exit code 1' });
  });
});
