/**
 * The engine's MLflow records of whole passes, on real files and stages run
 * on the host: each pass is one parent run carrying every param of the
 * pipeline and every metric its stages produced (so MLflow can compare passes
 * and find one by a param), the stage runs are nested under it with their
 * logs as artifacts, the registered model is an MLflow Model folder whose
 * logged MLmodel names its run, and `champion` stays on the best-scoring
 * version. Against MLflow's file store and against the loopback MLflow server.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalWorkspace } from '../../../src/adapters/fs/local-workspace.js';
import { reproOnce } from '../../../src/app/oneshot.js';
import { openTracking } from '../../../src/app/tracking.js';
import { lockOf, trackedStage } from '../../helpers/tracking-fixtures.js';
import { quietLogger } from '../../helpers/docker.js';
import { MemoryLogger, MlflowTestServer, TestClock } from '../../helpers/mlflow-server.js';
import { tempDir, writeFiles } from '../../helpers/workspace.js';

const MLMODEL = 'flavors:\n  python_function:\n    loader_module: mlflow.sklearn\n    model_path: model.pkl\n    python_version: 3.11.2\n  sklearn:\n    code: null\n    pickled_model: model.pkl\n    serialization_format: pickle\n    sklearn_version: 1.2.1\nmlflow_version: 2.17.2\n';

/** A pipeline whose scores follow train.C: C 0.1 scores 0.9, any other C 0.8. */
function pipeline(root: string, c: string): void {
  writeFiles(root, {
    'in.txt': 'rows\n',
    'params.yaml': `prep:\n  seed: 1\ntrain:\n  C: ${c}\n  model: lr\n`,
    'MLmodel.in': MLMODEL,
    'train.sh': 'echo "fitting C=$(grep C: params.yaml)"\nmkdir -p model\ncp MLmodel.in model/MLmodel\ngrep C: params.yaml > model/model.pkl\necho \'{"loss": 0.5}\' > train.json\n',
    'eval.sh': 'if grep -q "C: 0.1" model/model.pkl; then a=0.9; else a=0.8; fi\necho "{\\"accuracy\\": $a, \\"f1\\": 0.7}" > scores.json\n',
    'manifests/train.yaml':
      'apiVersion: reprod.dev/v1\nkind: Stage\nmetadata:\n  name: train\nspec:\n  model:\n    path: model\n    name: clf\n    alias: candidate\n    promote: {metric: accuracy, threshold: 0.75, alias: champion}\n',
    'dvc.yaml':
      'stages:\n' +
      '  prep:\n    cmd: cp in.txt mid.txt\n    deps: [in.txt]\n    params: [prep.seed]\n    outs: [mid.txt]\n' +
      '  train:\n    cmd: sh train.sh\n    deps: [mid.txt, train.sh, MLmodel.in]\n    params: [train]\n    outs: [model]\n    metrics:\n      - train.json:\n          cache: false\n' +
      '  evaluate:\n    cmd: sh eval.sh\n    deps: [model, eval.sh]\n    metrics:\n      - scores.json:\n          cache: false\n',
  });
}

function setC(root: string, c: string): void {
  writeFileSync(path.join(root, 'params.yaml'), `prep:\n  seed: 1\ntrain:\n  C: ${c}\n  model: lr\n`);
}

async function pass(root: string, name: string): Promise<void> {
  const decisions = await reproOnce({ root, runtime: 'host', log: quietLogger }, { record: { run: { name, tags: { 'reprod.experiment': name } } } });
  expect(decisions.filter((d) => d.action === 'failed')).toEqual([]);
}

let saved: Record<string, string | undefined> = {};
beforeEach(() => {
  saved = { uri: process.env['MLFLOW_TRACKING_URI'], exp: process.env['MLFLOW_EXPERIMENT_NAME'] };
  process.env['MLFLOW_EXPERIMENT_NAME'] = 'sweep';
});
afterEach(() => {
  for (const [k, env] of [
    ['uri', 'MLFLOW_TRACKING_URI'],
    ['exp', 'MLFLOW_EXPERIMENT_NAME'],
  ] as const) {
    if (saved[k] === undefined) delete process.env[env];
    else process.env[env] = saved[k];
  }
});

interface FileRun {
  id: string;
  dir: string;
  name: string;
  params: Record<string, string>;
  metrics: Record<string, number>;
  tags: Record<string, string>;
}

const readDir = (dir: string): Record<string, string> => {
  const out: Record<string, string> = {};
  const walk = (d: string, prefix: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${prefix}${e.name}/`);
      else out[`${prefix}${e.name}`] = readFileSync(path.join(d, e.name), 'utf8');
    }
  };
  walk(dir, '');
  return out;
};

function fileRuns(root: string): FileRun[] {
  const mlruns = path.join(root, 'mlruns');
  const exp = readdirSync(mlruns).find((e) => /^\d+$/.test(e) && readFileSync(path.join(mlruns, e, 'meta.yaml'), 'utf8').includes('name: sweep'));
  if (!exp) throw new Error('no experiment sweep');
  const dir = path.join(mlruns, exp);
  return readdirSync(dir)
    .filter((r) => existsSync(path.join(dir, r, 'meta.yaml')))
    .map((id) => {
      const metrics = Object.fromEntries(Object.entries(readDir(path.join(dir, id, 'metrics'))).map(([k, t]) => [k, Number(t.trim().split('\n').at(-1)?.split(' ')[1])]));
      const tags = readDir(path.join(dir, id, 'tags'));
      return { id, dir: path.join(dir, id), name: tags['mlflow.runName'] ?? '', params: readDir(path.join(dir, id, 'params')), metrics, tags };
    });
}

describe('MLflow records of whole passes', () => {
  it('file store: one parent run per pass with the pipeline\'s params and metrics, nested stage runs with their logs, a loadable registered model, champion on the best', async () => {
    using ws = tempDir();
    pipeline(ws.path, '0.1');
    await pass(ws.path, 'exp-a');
    setC(ws.path, '1');
    await pass(ws.path, 'exp-b');

    const runs = fileRuns(ws.path);
    const parents = runs.filter((r) => r.tags['mlflow.parentRunId'] === undefined).sort((a, b) => a.name.localeCompare(b.name));
    expect(parents.map((p) => [p.name, p.tags['reprod.experiment'], p.tags['reprod.kind']])).toEqual([
      ['exp-a', 'exp-a', 'pipeline'],
      ['exp-b', 'exp-b', 'pipeline'],
    ]);
    const [a, b] = parents;
    if (!a || !b) throw new Error('two parent runs expected');
    // every param of the pipeline and every metric of the pass, on one run
    expect(a.params).toEqual({ 'prep.seed': '1', 'train.C': '0.1', 'train.model': 'lr' });
    expect(a.metrics).toEqual({ loss: 0.5, accuracy: 0.9, f1: 0.7 });
    expect(a.tags['reprod.stages.ran']).toBe('prep,train,evaluate');
    // the second pass reran train and evaluate only; prep's param is still on its run
    expect(b.params).toEqual({ 'prep.seed': '1', 'train.C': '1', 'train.model': 'lr' });
    expect(b.metrics).toEqual({ loss: 0.5, accuracy: 0.8, f1: 0.7 });
    expect(b.tags['reprod.stages.ran']).toBe('train,evaluate');

    // what `search_runs(filter_string="params.`train.C` = '0.1'")` matches: pass A's run (and its train stage run)
    const found = runs.filter((r) => r.params['train.C'] === '0.1');
    expect(found.map((r) => r.name).sort()).toEqual(['exp-a', 'train']);

    // stage runs are nested under their pass, each with its log
    const stagesOf = (p: FileRun) => runs.filter((r) => r.tags['mlflow.parentRunId'] === p.id).map((r) => r.name).sort();
    expect(stagesOf(a)).toEqual(['evaluate', 'prep', 'train']);
    expect(stagesOf(b)).toEqual(['evaluate', 'train']);
    const trainA = runs.find((r) => r.name === 'train' && r.tags['mlflow.parentRunId'] === a.id);
    expect(readFileSync(path.join(trainA?.dir ?? '', 'artifacts', 'logs', 'train.log'), 'utf8')).toBe('fitting C=  C: 0.1\n');

    // the registered versions point at MLflow Model folders whose logged MLmodel names its run
    const models = path.join(ws.path, 'mlruns', 'models', 'clf');
    const v1 = parse(readFileSync(path.join(models, 'version-1', 'meta.yaml'), 'utf8')) as { source: string; run_id: string };
    expect(v1.source).toBe(`runs:/${trainA?.id ?? ''}/model`);
    const logged = parse(readFileSync(path.join(trainA?.dir ?? '', 'artifacts', 'model', 'MLmodel'), 'utf8')) as Record<string, unknown>;
    expect(logged).toMatchObject({ artifact_path: 'model', run_id: trainA?.id, mlflow_version: '2.17.2', flavors: { python_function: { loader_module: 'mlflow.sklearn' } } });
    expect(String(logged['utc_time_created'])).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
    expect(readFileSync(path.join(trainA?.dir ?? '', 'artifacts', 'model', 'model.pkl'), 'utf8')).toBe('  C: 0.1\n');
    // the workspace's own MLmodel is left as the stage wrote it
    expect(readFileSync(path.join(ws.path, 'model', 'MLmodel'), 'utf8')).toBe(MLMODEL);

    // both passed the threshold (0.75): candidate is the newest, champion the best (0.9 > 0.8)
    expect(readFileSync(path.join(models, 'aliases', 'candidate'), 'utf8')).toBe('2');
    expect(readFileSync(path.join(models, 'aliases', 'champion'), 'utf8')).toBe('1');
    expect(readFileSync(path.join(models, 'version-2', 'tags', 'reprod.metric.accuracy'), 'utf8')).toBe('0.8');
  });

  it('MLflow server: the parent run is found by a param filter, carries the pass\'s metrics, and the model version\'s source is the logged folder', async () => {
    using ws = tempDir();
    await using server = await new MlflowTestServer().start();
    process.env['MLFLOW_TRACKING_URI'] = server.uri;
    pipeline(ws.path, '0.1');
    await pass(ws.path, 'exp-a');
    setC(ws.path, '1');
    await pass(ws.path, 'exp-b');

    const search = async (filter: string): Promise<{ info: { run_id: string; run_name: string } }[]> => {
      const exps = (await (await fetch(`${server.uri}/api/2.0/mlflow/experiments/get-by-name?experiment_name=sweep`)).json()) as { experiment: { experiment_id: string } };
      const res = await fetch(`${server.uri}/api/2.0/mlflow/runs/search`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ experiment_ids: [exps.experiment.experiment_id], filter }),
      });
      return ((await res.json()) as { runs?: { info: { run_id: string; run_name: string } }[] }).runs ?? [];
    };
    const found = await search("params.`train.C` = '0.1' and tags.`reprod.kind` = 'pipeline'");
    expect(found.map((r) => r.info.run_name)).toEqual(['exp-a']);
    const parent = server.runs.get(found[0]?.info.run_id ?? '');
    expect(Object.fromEntries(parent?.params ?? [])).toEqual({ 'prep.seed': '1', 'train.C': '0.1', 'train.model': 'lr' });
    expect(Object.fromEntries((parent?.metrics ?? []).map((m) => [m.key, m.value]))).toEqual({ loss: 0.5, accuracy: 0.9, f1: 0.7 });
    expect((await search("metrics.accuracy > 0.85 and tags.`reprod.kind` = 'pipeline'")).map((r) => r.info.run_name)).toEqual(['exp-a']);

    const model = server.models.get('clf');
    const v1 = model?.versions.find((v) => v.version === '1');
    const trainRun = [...server.runs.values()].find((r) => r.info.run_name === 'train' && r.tags.get('mlflow.parentRunId') === parent?.info.run_id);
    expect(v1?.source).toBe(`${trainRun?.info.artifact_uri ?? ''}/model`);
    const root = (trainRun?.info.artifact_uri ?? '').replace(/^mlflow-artifacts:\/*/, '');
    const logged = parse(server.artifacts.get(`${root}/model/MLmodel`)?.toString('utf8') ?? '') as Record<string, unknown>;
    expect(logged).toMatchObject({ artifact_path: 'model', run_id: trainRun?.info.run_id, flavors: { sklearn: { pickled_model: 'model.pkl' } } });
    expect(server.artifacts.get(`${root}/logs/train.log`)?.toString('utf8')).toBe('fitting C=  C: 0.1\n');
    expect(model?.aliases.get('champion')).toBe('1');
    expect(model?.aliases.get('candidate')).toBe('2');
  });

  it("a pass in another workspace (an experiment's) records in the store it is given, with that workspace's files as artifacts", async () => {
    using main = tempDir();
    using exp = tempDir();
    writeFiles(main.path, { 'scores.json': '{"accuracy": 0.1}\n', 'model/MLmodel': 'main\n' });
    writeFiles(exp.path, { 'params.yaml': 'train:\n  C: 2\n', 'scores.json': '{"accuracy": 0.7}\n', 'model/MLmodel': MLMODEL, 'model/model.pkl': 'exp-model', 'status/logs/train.log': 'exp log\n' });
    await using tracking = await openTracking({ root: main.path, log: new MemoryLogger(), clock: new TestClock() });
    const train = trackedStage('train', [], [['model', 'out'], ['scores.json', 'metric']], [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['train'] }]);
    const recorder = tracking.recorder({ ws: new LocalWorkspace(exp.path), pipelineFile: 'dvc.yaml', models: [{ stage: train, spec: { path: 'model', name: 'clf' } }], stages: [train] });
    const p = recorder.beginPass({ name: 'exp-c' });
    const t = await recorder.startStage(p, { stage: train, reprodRunId: 'r', runtime: 'host', reasons: [] });
    const { trackingRunId } = await recorder.finishStage(t, { outcome: 'succeeded', action: 'ran', entry: lockOf(train, { model: 'abc.dir' }) });
    await recorder.endPass(p, 'succeeded');
    expect(await tracking.flush()).toEqual({ available: true, pending: 0, message: '' });

    const run = fileRuns(main.path).find((r) => r.id === trackingRunId);
    expect(readFileSync(path.join(run?.dir ?? '', 'artifacts', 'scores.json'), 'utf8')).toBe('{"accuracy": 0.7}\n');
    expect(readFileSync(path.join(run?.dir ?? '', 'artifacts', 'logs', 'train.log'), 'utf8')).toBe('exp log\n');
    expect(readFileSync(path.join(run?.dir ?? '', 'artifacts', 'model', 'model.pkl'), 'utf8')).toBe('exp-model');
    const parent = fileRuns(main.path).find((r) => r.name === 'exp-c');
    expect(parent?.params).toEqual({ 'train.C': '2' });
    expect(parent?.metrics).toEqual({ accuracy: 0.7 });
  });
});
