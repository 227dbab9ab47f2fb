import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalWorkspace } from '../../../../src/adapters/fs/local-workspace.js';
import { isMlflowError, type MlflowError } from '../../../../src/adapters/mlflow/mlflow-error.js';
import { Redactor } from '../../../../src/adapters/mlflow/redact.js';
import { MlflowRestClient } from '../../../../src/adapters/mlflow/rest-client.js';
import { openTracking, trackingConfig } from '../../../../src/app/tracking.js';
import type { Stage } from '../../../../src/core/types.js';
import type { ModelDecl } from '../../../../src/tracking/promotion.js';
import { loadTranscript, MemoryLogger, MlflowTestServer, shapeViolations, TestClock } from '../../../helpers/mlflow-server.js';
import { tempDir } from '../../../helpers/workspace.js';
import { lockOf, trackedStage } from '../../../helpers/tracking-fixtures.js';
const stage = trackedStage;


/**
 * The REST adapter against a server that answers as the recorded MLflow 2.17
 * server answered (conformance/mlflow/rest-transcript.md). First the test
 * server itself is held to the transcript (replayed request by request);
 * then every request reprod sends is checked against the recorded requests'
 * shapes (method, path, query keys, body keys and JSON types).
 */

type Shape = string | { [k: string]: Shape } | Shape[];

/** Values replaced by their JSON type, keys sorted, array elements deduplicated. */
function shape(v: unknown): Shape {
  if (v === null) return 'null';
  if (Array.isArray(v)) {
    const items = new Map<string, Shape>();
    for (const x of v) items.set(JSON.stringify(shape(x)), shape(x));
    return [...items.keys()].sort().map((k) => items.get(k) as Shape);
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, shape(o[k])]));
  }
  return typeof v;
}

async function send(base: string, method: string, p: string, opts: { body?: string; type?: string; auth?: string } = {}): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (opts.type !== undefined) headers['Content-Type'] = opts.type;
  if (opts.auth) headers['Authorization'] = opts.auth;
  const res = await fetch(`${base}${p}`, { method, headers, ...(opts.body !== undefined ? { body: opts.body } : {}) });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

describe('the test server keeps to the recorded server', () => {
  it('answers every exchange of the transcript with the recorded status and shape', async () => {
    const exchanges = loadTranscript();
    expect(exchanges.length).toBeGreaterThanOrEqual(40);
    await using server = await new MlflowTestServer({ firstExperimentId: 2, runIds: ['00e8ff972cfb42428f2f273d2d71c18c', '84c1dfda4859447c94b338fa006c14e5'] }).start();
    const base = `http://127.0.0.1:${server.port}`;
    for (const e of exchanges) {
      const qs = new URLSearchParams(e.query).toString();
      const p = `${e.path}${qs ? `?${qs}` : ''}`;
      const res =
        e.method === 'PUT'
          ? await send(base, 'PUT', p, { body: 'bytes', type: 'application/octet-stream' })
          : await send(base, e.method, p, e.body === undefined ? {} : { body: JSON.stringify(e.body), type: 'application/json' });
      const got: unknown = res.text ? JSON.parse(res.text) : undefined;
      expect({ req: `${e.method} ${p}`, status: res.status }).toEqual({ req: `${e.method} ${p}`, status: e.status });
      if (e.response === undefined) continue;
      expect({ req: `${e.method} ${p}`, shape: shape(got) }).toEqual({ req: `${e.method} ${p}`, shape: shape(e.response) });
      const code = (e.response as { error_code?: string }).error_code;
      if (code) expect((got as { error_code?: string }).error_code).toBe(code);
    }
  });

  it('behaves as the README observed: HTML errors, 405, 400 without JSON, 401 text, silent type coercions', async () => {
    await using server = await new MlflowTestServer({ auth: { username: 'u', password: 'p' } }).start();
    const base = server.uri;
    const auth = `Basic ${Buffer.from('u:p').toString('base64')}`;
    const unauth = await send(base, 'GET', '/api/2.0/mlflow/experiments/get-by-name?experiment_name=x');
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get('www-authenticate')).toBe('Basic realm="mlflow"');
    expect(unauth.text).toMatch(/^You are not authenticated/);
    expect((await send(base, 'GET', '/health')).status).toBe(200);
    const unknown = await send(base, 'GET', '/api/2.0/mlflow/nope', { auth });
    expect([unknown.status, unknown.text]).toEqual([404, expect.stringContaining('<title>404 Not Found</title>')]);
    expect((await send(base, 'GET', '/api/2.0/mlflow/runs/search', { auth })).status).toBe(405);
    expect((await send(base, 'POST', '/api/2.0/mlflow/experiments/create', { auth, body: '{bad', type: 'application/json' })).status).toBe(500);
    expect((await send(base, 'POST', '/api/2.0/mlflow/experiments/create', { auth, body: '{"name":"x"}', type: 'text/plain' })).status).toBe(400);
    const post = (api: string, body: unknown) => send(base, 'POST', `/api/2.0/mlflow/${api}`, { auth, body: JSON.stringify(body), type: 'application/json' });
    const exp = JSON.parse((await post('experiments/create', { name: 'e' })).text) as { experiment_id: string };
    const run = JSON.parse((await post('runs/create', { experiment_id: exp.experiment_id, run_name: 'r', start_time: 1 })).text) as { run: { info: { run_id: string } } };
    const runId = run.run.info.run_id;
    expect((await post('runs/log-batch', { run_id: runId, metrics: [{ key: 'm', value: 'abc', timestamp: 1 }] })).status).toBe(200);
    expect((await post('runs/log-batch', { run_id: runId, metrics: [{ key: 'n', value: 1 }] })).status).toBe(400);
    expect((await post('runs/log-batch', { run_id: runId, params: [{ key: 'a', value: 1 }, { key: 'b', value: 'x' }], tags: [{ key: 't', value: 2 }] })).status).toBe(200);
    expect((await post('runs/update', { run_id: runId, status: 'BOGUS' })).status).toBe(200);
    const stored = server.runs.get(runId);
    expect(stored?.metrics).toEqual([{ key: 'm', value: 0, timestamp: 1, step: 0 }]);
    expect([...(stored?.params ?? [])]).toEqual([['a', '']]);
    expect(stored?.tags.has('t')).toBe(false);
    expect(stored?.info.status).toBe('RUNNING');
    expect((await post('model-versions/create', { name: 'nope', source: 'runs:/x/model', run_id: runId })).status).toBe(404);
    await post('registered-models/create', { name: 'm' });
    await post('model-versions/create', { name: 'm', source: 'runs:/x/model', run_id: runId });
    expect((await post('registered-models/alias', { name: 'm', alias: 'v1', version: '1' })).status).toBe(400);
    expect((await post('registered-models/alias', { name: 'm', alias: 'latest', version: '1' })).status).toBe(400);
    expect(JSON.parse((await send(base, 'GET', '/api/2.0/mlflow-artifacts/artifacts?path=1/nope', { auth })).text)).toEqual({});
  });
});

// ------------------------------------------------------------------ reprod's client



/** A workspace with the example pipeline's train and evaluate outputs. */
function workspace(root: string, params = 'train:\n  C: 1.0\n  max_iter: 1000\n  model: logistic_regression\nevaluate:\n  champion_threshold: 0.9\n'): {
  train: Stage;
  evaluate: Stage;
  models: ModelDecl[];
} {
  mkdirSync(path.join(root, 'models'), { recursive: true });
  mkdirSync(path.join(root, 'metrics'), { recursive: true });
  mkdirSync(path.join(root, 'plots'), { recursive: true });
  writeFileSync(path.join(root, 'params.yaml'), params);
  writeFileSync(path.join(root, 'models', 'model.pkl'), Buffer.alloc(300_000, 7));
  writeFileSync(path.join(root, 'metrics', 'scores.json'), '{"accuracy": 0.95, "f1": 0.9, "roc_auc": 0.99}\n');
  writeFileSync(path.join(root, 'plots', 'roc.csv'), 'fpr,tpr\n0,0\n1,1\n');
  const train = stage('train', ['data/processed'], [['models/model.pkl', 'out']], [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['train'] }]);
  const evaluate = stage('evaluate', ['data/processed', 'models/model.pkl'], [['metrics/scores.json', 'metric'], ['plots/roc.csv', 'plot']]);
  const models: ModelDecl[] = [
    {
      stage: train,
      spec: { path: 'models/model.pkl', name: 'iris-classifier', alias: 'candidate', promote: { metric: 'accuracy', threshold: { param: 'evaluate.champion_threshold' }, alias: 'champion' } },
    },
  ];
  return { train, evaluate, models };
}

async function runPipeline(tracking: Awaited<ReturnType<typeof openTracking>>, root: string, w: ReturnType<typeof workspace>) {
  const recorder = tracking.recorder({ ws: new LocalWorkspace(root), pipelineFile: 'dvc.yaml', models: w.models });
  const pass = recorder.beginPass();
  const t1 = await recorder.startStage(pass, { stage: w.train, reprodRunId: 'r1', runtime: 'sha256:1', reasons: [{ kind: 'cmd' }] });
  const r1 = await recorder.finishStage(t1, { outcome: 'succeeded', action: 'ran', entry: lockOf(w.train, { 'models/model.pkl': 'md5-1' }) });
  const t2 = await recorder.startStage(pass, { stage: w.evaluate, reprodRunId: 'r2', runtime: 'sha256:2', reasons: [] });
  const r2 = await recorder.finishStage(t2, { outcome: 'succeeded', action: 'ran', entry: lockOf(w.evaluate, { 'models/model.pkl': 'md5-1' }) });
  await recorder.endPass(pass, 'succeeded');
  return { t1, t2, r1, r2 };
}

describe('REST adapter', () => {
  it('records a pipeline on a DagsHub-style server (path prefix, basic auth), every request shaped as recorded', async () => {
    using tmp = tempDir();
    const root = path.join(tmp.path, 'ws');
    const w = workspace(root);
    await using server = await new MlflowTestServer({ prefix: '/alice/iris.mlflow', auth: { username: 'alice', password: 'tok-123' } }).start();
    const env = { MLFLOW_TRACKING_URI: server.uri, MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 'tok-123', MLFLOW_EXPERIMENT_NAME: 'iris', USER: 'alice' };
    const log = new MemoryLogger();
    await using tracking = await openTracking({ root, env, log, clock: new TestClock() });
    expect(tracking.describe).toBe(`MLflow server ${server.uri}`);
    const { t1, r1, r2 } = await runPipeline(tracking, root, w);
    expect(await tracking.flush()).toEqual({ available: true, pending: 0, message: '' });

    expect(shapeViolations(server.requests)).toEqual([]);
    expect(server.requests.every((r) => r.headers['authorization'] === `Basic ${Buffer.from('alice:tok-123').toString('base64')}`)).toBe(true);
    const statuses = server.requests.map((r) => `${r.status} ${r.method} ${r.path}`);
    expect(statuses.filter((s) => !s.startsWith('200'))).toEqual([
      '404 GET /api/2.0/mlflow/experiments/get-by-name',
      '404 GET /api/2.0/mlflow/registered-models/get',
      // no version holds `champion` yet: nothing to compare the new score with
      '404 GET /api/2.0/mlflow/registered-models/alias',
    ]);

    // the stage's environment: same server (prefix kept), same run, credentials
    const trainRun = server.runs.get(r1.trackingRunId ?? '');
    expect(trainRun).toBeDefined();
    expect(t1.env).toEqual({
      MLFLOW_TRACKING_URI: server.uri,
      MLFLOW_EXPERIMENT_NAME: 'iris',
      MLFLOW_TRACKING_USERNAME: 'alice',
      MLFLOW_TRACKING_PASSWORD: 'tok-123',
      MLFLOW_RUN_ID: r1.trackingRunId,
      MLFLOW_EXPERIMENT_ID: '1',
    });

    // runs: a parent and two nested runs named after their stages
    expect(server.runs.size).toBe(3);
    const parent = [...server.runs.values()].find((r) => r.tags.get('reprod.kind') === 'pipeline');
    expect(parent?.info.status).toBe('FINISHED');
    expect(trainRun?.tags.get('mlflow.parentRunId')).toBe(parent?.info.run_id);
    expect(trainRun?.tags.get('mlflow.runName')).toBe('train');
    expect(trainRun?.info.status).toBe('FINISHED');
    expect(Object.fromEntries(trainRun?.params ?? [])).toEqual({ 'train.C': '1.0', 'train.max_iter': '1000', 'train.model': 'logistic_regression' });
    const evalRun = server.runs.get(r2.trackingRunId ?? '');
    expect(evalRun?.metrics.map((m) => [m.key, m.value, m.step])).toEqual([
      ['accuracy', 0.95, 0],
      ['f1', 0.9, 0],
      ['roc_auc', 0.99, 0],
    ]);
    expect(evalRun?.tags.get('reprod.dep.models/model.pkl')).toBe('md5-1');

    // artifacts through the proxy
    const art = (run: string | undefined, p: string) => server.artifacts.get(`1/${run}/artifacts/${p}`);
    expect(art(r1.trackingRunId, 'model/model.pkl')?.length).toBe(300_000);
    expect(art(r2.trackingRunId, 'metrics/scores.json')?.toString()).toBe('{"accuracy": 0.95, "f1": 0.9, "roc_auc": 0.99}\n');
    expect(art(r2.trackingRunId, 'plots/roc.csv')?.toString()).toBe('fpr,tpr\n0,0\n1,1\n');

    // the registry: one version from train's artifacts, `candidate`, then `champion` from evaluate's accuracy
    const model = server.models.get('iris-classifier');
    expect(model?.versions.map((v) => [v.version, v.source, v.run_id])).toEqual([['1', `mlflow-artifacts:/1/${r1.trackingRunId}/artifacts/model`, r1.trackingRunId]]);
    expect(Object.fromEntries(model?.aliases ?? [])).toEqual({ candidate: '1', champion: '1' });
    expect(model?.versions[0]?.tags).toContainEqual({ key: 'reprod.md5', value: 'md5-1' });
  });

  it('keeps within the batch limits: 250 params and 2500 metrics arrive in requests the server accepts', async () => {
    using tmp = tempDir();
    const root = tmp.path;
    const params = `train:\n${Array.from({ length: 250 }, (_, i) => `  p${i}: ${i}`).join('\n')}\n`;
    const w = workspace(root, params);
    writeFileSync(path.join(root, 'metrics', 'scores.json'), JSON.stringify(Object.fromEntries(Array.from({ length: 2500 }, (_, i) => [`m${i}`, i / 10]))));
    const s = stage('train', [], [['metrics/scores.json', 'metric']], [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['train'] }]);
    await using server = await new MlflowTestServer().start();
    await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: server.uri }, log: new MemoryLogger(), clock: new TestClock() });
    const recorder = tracking.recorder({ ws: new LocalWorkspace(root), pipelineFile: 'dvc.yaml', models: w.models.slice(0, 0) });
    const pass = recorder.beginPass();
    const t = await recorder.startStage(pass, { stage: s, reprodRunId: 'r', runtime: 'host', reasons: [] });
    const r = await recorder.finishStage(t, { outcome: 'succeeded', action: 'ran' });
    await recorder.endPass(pass, 'succeeded');
    expect((await tracking.flush()).pending).toBe(0);
    expect(server.requests.filter((x) => x.status !== 200 && x.status !== 404)).toEqual([]);
    const run = server.runs.get(r.trackingRunId ?? '');
    expect(run?.params.size).toBe(250);
    expect(run?.metrics).toHaveLength(2500);
    const batches = server.requests.filter((x) => x.path.endsWith('/runs/log-batch'));
    expect(batches.length).toBeGreaterThanOrEqual(4);
    expect(shapeViolations(server.requests)).toEqual([]);
  });

  it('cuts param values to 500 characters for servers that refuse longer ones', async () => {
    using tmp = tempDir();
    const root = tmp.path;
    workspace(root, `train:\n  note: "${'x'.repeat(900)}"\n`);
    const s = stage('train', [], [], [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['train'] }]);
    await using server = await new MlflowTestServer({ maxParamValue: 500, rejectLongParams: true }).start();
    await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: server.uri }, log: new MemoryLogger(), clock: new TestClock() });
    const recorder = tracking.recorder({ ws: new LocalWorkspace(root), pipelineFile: 'dvc.yaml', models: [] });
    const pass = recorder.beginPass();
    const t = await recorder.startStage(pass, { stage: s, reprodRunId: 'r', runtime: 'host', reasons: [] });
    const r = await recorder.finishStage(t, { outcome: 'succeeded', action: 'ran' });
    expect((await tracking.flush()).message).toBe('');
    expect(server.runs.get(r.trackingRunId ?? '')?.params.get('train.note')?.length).toBe(500);
  });

  it('records the model in run tags, and says so once, where the server has no registry', async () => {
    using tmp = tempDir();
    const root = tmp.path;
    const w = workspace(root);
    await using server = await new MlflowTestServer({ registry: false }).start();
    const log = new MemoryLogger();
    await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: server.uri }, log, clock: new TestClock() });
    const { r1, r2 } = await runPipeline(tracking, root, w);
    const health = await tracking.flush();
    expect(health.available).toBe(true);
    expect(health.pending).toBe(0);
    expect(health.message).toMatch(/the server has no model registry .*HTTP 404.*: models are recorded in run tags instead/);
    const train = server.runs.get(r1.trackingRunId ?? '');
    expect(train?.tags.get('reprod.model.name')).toBe('iris-classifier');
    expect(train?.tags.get('reprod.model.source')).toBe(`mlflow-artifacts:/1/${r1.trackingRunId}/artifacts/model`);
    expect(train?.tags.get('reprod.model.md5')).toBe('md5-1');
    expect(train?.tags.get('reprod.model.alias.candidate')).toBe('md5-1');
    expect(server.runs.get(r2.trackingRunId ?? '')?.tags.get('reprod.model.alias.champion')).toBe('iris-classifier md5-1');
    expect(server.artifacts.get(`1/${r1.trackingRunId}/artifacts/model/model.pkl`)?.length).toBe(300_000);
    expect(log.lines.filter((l) => l.includes('no model registry'))).toHaveLength(1);
    expect(shapeViolations(server.requests.filter((r) => !/registered-models|model-versions/.test(r.path)))).toEqual([]);
  });

  it('classifies the recorded errors, retrying only transient ones', async () => {
    await using server = await new MlflowTestServer({ auth: { token: 'tkn' } }).start();
    const sleeps: number[] = [];
    const client = (auth?: { kind: 'bearer'; token: string }) =>
      new MlflowRestClient({ baseUrl: server.uri, ...(auth ? { auth } : {}), redactor: new Redactor(['tkn']), attempts: 3, sleep: async (ms) => void sleeps.push(ms) });
    const fail = async (p: Promise<unknown>): Promise<MlflowError> => {
      try {
        await p;
      } catch (e) {
        if (isMlflowError(e)) return e;
        throw e;
      }
      throw new Error('expected a failure');
    };
    const anon = client();
    expect((await fail(anon.get('experiments/get-by-name', { experiment_name: 'x' }))).kind).toBe('auth');
    const c = client({ kind: 'bearer', token: 'tkn' });
    const notFound = await fail(c.get('experiments/get-by-name', { experiment_name: 'x' }));
    expect([notFound.kind, notFound.status, notFound.errorCode]).toEqual(['not-found', 404, 'RESOURCE_DOES_NOT_EXIST']);
    await c.post('experiments/create', { name: 'x' });
    expect((await fail(c.post('experiments/create', { name: 'x' }))).kind).toBe('exists');
    const html = await fail(c.get('registered-models/nope', {}));
    expect([html.kind, html.message]).toEqual(['unsupported', 'GET registered-models/nope: HTTP 404: 404 Not Found']);
    const bad = await fail(c.post('runs/search', { experiment_ids: ['1'], filter: 'bogus filter' }));
    expect([bad.kind, bad.errorCode]).toEqual(['rejected', 'INVALID_PARAMETER_VALUE']);
    sleeps.length = 0;
    const before = server.requests.length;
    server.failWith(503);
    expect((await fail(c.get('experiments/get-by-name', { experiment_name: 'x' }))).kind).toBe('transient');
    expect(server.requests.length - before).toBe(3);
    expect(sleeps).toEqual([250, 500]);
    server.failWith(429);
    expect((await fail(c.get('experiments/get-by-name', { experiment_name: 'x' }))).kind).toBe('transient');
    server.failWith(undefined);
    await server.stop();
    const down = await fail(c.get('experiments/get-by-name', { experiment_name: 'x' }));
    expect(down.kind).toBe('transient');
    expect(down.message).toMatch(/cannot reach .*ECONNREFUSED/);
    anon.close();
    c.close();
  });
});

describe('tracking URI', () => {
  it('chooses the store as MLflow does and keeps a URI path prefix', () => {
    const root = '/w/proj';
    expect(trackingConfig(root, {}).target).toEqual({ kind: 'file', root: '/w/proj/mlruns' });
    expect(trackingConfig(root, { MLFLOW_TRACKING_URI: 'file:./runs' }).target).toEqual({ kind: 'file', root: '/w/proj/runs' });
    expect(trackingConfig(root, { MLFLOW_TRACKING_URI: 'file:///abs/ml%20runs' }).target).toEqual({ kind: 'file', root: '/abs/ml runs' });
    expect(trackingConfig(root, { MLFLOW_TRACKING_URI: '/abs/runs' }).target).toEqual({ kind: 'file', root: '/abs/runs' });
    expect(trackingConfig(root, {}).experimentName).toBe('proj');
    expect(trackingConfig(root, { MLFLOW_EXPERIMENT_NAME: 'iris' }).experimentName).toBe('iris');
    const dagshub = trackingConfig(root, { MLFLOW_TRACKING_URI: 'https://dagshub.com/alice/iris.mlflow', MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: 'tok' });
    expect(dagshub.target).toEqual({ kind: 'rest', baseUrl: 'https://dagshub.com/alice/iris.mlflow', auth: { kind: 'basic', username: 'alice', password: 'tok' } });
    expect(dagshub.secrets).toEqual(['tok']);
    const bearer = trackingConfig(root, { MLFLOW_TRACKING_URI: 'http://host:5000/', MLFLOW_TRACKING_TOKEN: 't0k' });
    expect(bearer.target).toEqual({ kind: 'rest', baseUrl: 'http://host:5000', auth: { kind: 'bearer', token: 't0k' } });
    expect(bearer.credentialsEnv).toEqual({ MLFLOW_TRACKING_TOKEN: 't0k' });
    const userinfo = trackingConfig(root, { MLFLOW_TRACKING_URI: 'https://bob:p%40ss@mlflow.example.com/prefix' });
    expect(userinfo.target).toEqual({ kind: 'rest', baseUrl: 'https://mlflow.example.com/prefix', auth: { kind: 'basic', username: 'bob', password: 'p@ss' } });
    expect(userinfo.credentialsEnv).toEqual({ MLFLOW_TRACKING_USERNAME: 'bob', MLFLOW_TRACKING_PASSWORD: 'p@ss' });
    expect(() => trackingConfig(root, { MLFLOW_TRACKING_URI: 'databricks' })).toThrow(/a 'databricks' URI, which reprod cannot write to/);
    expect(() => trackingConfig(root, { MLFLOW_TRACKING_URI: 'sqlite:///mlflow.db' })).toThrow(/a 'sqlite' URI, which reprod cannot write to/);
  });
});
