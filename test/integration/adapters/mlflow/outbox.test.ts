import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalWorkspace } from '../../../../src/adapters/fs/local-workspace.js';
import { MlflowTracker } from '../../../../src/adapters/mlflow/outbox.js';
import { Redactor } from '../../../../src/adapters/mlflow/redact.js';
import { MlflowRestClient } from '../../../../src/adapters/mlflow/rest-client.js';
import { RestBackend } from '../../../../src/adapters/mlflow/rest-store.js';
import { OUTBOX_DIR, openTracking } from '../../../../src/app/tracking.js';
import type { Tracker } from '../../../../src/core/ports.js';
import type { OutKind, Stage } from '../../../../src/core/types.js';
import type { ModelDecl } from '../../../../src/tracking/promotion.js';
import { StageRunRecorder } from '../../../../src/tracking/stage-run-recorder.js';
import { MemoryLogger, MlflowTestServer, shapeViolations, TestClock } from '../../../helpers/mlflow-server.js';
import { tempDir } from '../../../helpers/workspace.js';
import { lockOf, trackedStage } from '../../../helpers/tracking-fixtures.js';
const stage = (name: string, deps: string[], outs: [string, OutKind][], params: Stage['params'] = []): Stage => trackedStage(name, deps, outs, params, `python3 ${name}.py`);


/**
 * The outbox: with the server down while stages run, nothing fails or
 * waits, and once the server is back every param, metric, tag, artifact and
 * model version arrives, once; also across a restart of reprod, and when
 * the server acted but its answer was lost.
 */



const train = stage('train', [], [['models/model.pkl', 'out']], [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['train'] }]);
const evaluate = stage('evaluate', ['models/model.pkl'], [['metrics/scores.json', 'metric']]);
const models: ModelDecl[] = [{ stage: train, spec: { path: 'models/model.pkl', name: 'clf', alias: 'candidate', promote: { metric: 'accuracy', threshold: 0.5, alias: 'champion' } } }];

/** The outbox's journals (one per writer). */
function journalsIn(outboxDir: string): string[] {
  return readdirSync(outboxDir).filter((f) => /^journal-.*\.jsonl$/.test(f));
}

function workspace(root: string): void {
  mkdirSync(path.join(root, 'models'), { recursive: true });
  mkdirSync(path.join(root, 'metrics'), { recursive: true });
  writeFileSync(path.join(root, 'params.yaml'), 'train:\n  lr: 0.01\n  epochs: 3\n');
  writeFileSync(path.join(root, 'models', 'model.pkl'), 'model-v1');
  writeFileSync(path.join(root, 'metrics', 'scores.json'), '{"accuracy": 0.8, "loss": 0.25}');
}

async function runPipeline(recorder: StageRunRecorder) {
  const pass = recorder.beginPass();
  const t1 = await recorder.startStage(pass, { stage: train, reprodRunId: 'r1', runtime: 'host', reasons: [] });
  const r1 = await recorder.finishStage(t1, { outcome: 'succeeded', action: 'ran', entry: lockOf(train, { 'models/model.pkl': 'm1' }) });
  const t2 = await recorder.startStage(pass, { stage: evaluate, reprodRunId: 'r2', runtime: 'host', reasons: [] });
  const r2 = await recorder.finishStage(t2, { outcome: 'succeeded', action: 'ran', entry: lockOf(evaluate, { 'models/model.pkl': 'm1' }) });
  await recorder.endPass(pass, 'succeeded');
  return { t1, t2, r1, r2 };
}

/** Sleeps that take no time: they move the test clock and yield once. */
function fakeSleep(clock: TestClock) {
  return (ms: number) => {
    clock.advance(ms);
    return new Promise<void>((resolve) => setImmediate(resolve));
  };
}

/** Everything the pipeline records, each exactly once. */
function expectDeliveredOnce(server: MlflowTestServer): void {
  // every creation the server carried out (answered or not) made one of the three runs
  expect(server.requests.filter((r) => r.path.endsWith('/runs/create') && r.status !== 400 && r.status !== 0)).toHaveLength(3);
  expect(server.runs.size).toBe(3);
  const byName = new Map([...server.runs.values()].map((r) => [r.info.run_name, r]));
  const parent = byName.get('pipeline');
  const t = byName.get('train');
  const e = byName.get('evaluate');
  expect(parent?.info.status).toBe('FINISHED');
  expect(t?.info.status).toBe('FINISHED');
  expect(e?.info.status).toBe('FINISHED');
  expect(t?.tags.get('mlflow.parentRunId')).toBe(parent?.info.run_id);
  expect(e?.tags.get('mlflow.parentRunId')).toBe(parent?.info.run_id);
  expect(Object.fromEntries(t?.params ?? [])).toEqual({ 'train.lr': '0.01', 'train.epochs': '3' });
  expect(e?.metrics.map((m) => [m.key, m.value])).toEqual([
    ['accuracy', 0.8],
    ['loss', 0.25],
  ]);
  expect(e?.tags.get('reprod.promote.clf.champion')).toBe('accuracy 0.8 >= 0.5');
  expect(server.artifacts.get(`1/${t?.info.run_id}/artifacts/model/model.pkl`)?.toString()).toBe('model-v1');
  expect(server.artifacts.get(`1/${e?.info.run_id}/artifacts/metrics/scores.json`)?.toString()).toBe('{"accuracy": 0.8, "loss": 0.25}');
  const clf = server.models.get('clf');
  expect(clf?.versions.map((v) => [v.version, v.run_id])).toEqual([['1', t?.info.run_id]]);
  expect(Object.fromEntries(clf?.aliases ?? [])).toEqual({ candidate: '1', champion: '1' });
  expect(shapeViolations(server.requests.filter((r) => r.status > 0))).toEqual([]);
}

describe('MLflow outbox', () => {
  it('never fails or waits on a stage while the server is down, then delivers everything once', async () => {
    using tmp = tempDir();
    const root = tmp.path;
    workspace(root);
    await using server = await new MlflowTestServer().start();
    await server.stop();
    const clock = new TestClock();
    const log = new MemoryLogger();
    await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: server.uri }, log, clock, sleep: fakeSleep(clock) });
    const recorder = tracking.recorder({ ws: new LocalWorkspace(root), pipelineFile: 'dvc.yaml', models });

    const { t1, r1 } = await runPipeline(recorder);
    expect(t1.env['MLFLOW_TRACKING_URI']).toBe(server.uri);
    expect(t1.env['MLFLOW_RUN_ID']).toBeUndefined();
    expect(r1.trackingRunId).toBeUndefined();
    const down = tracking.health();
    expect(down.available).toBe(false);
    expect(down.pending).toBeGreaterThanOrEqual(10);
    expect(down.message).toMatch(new RegExp(`^MLflow server ${server.uri} is unavailable: .*ECONNREFUSED.*; ${down.pending} record\\(s\\) kept in the outbox, next attempt in \\d+s$`));
    const [journal, ...others] = journalsIn(path.join(root, OUTBOX_DIR)).map((f) => path.join(root, OUTBOX_DIR, f));
    expect(others).toEqual([]);
    expect(readFileSync(journal ?? '', 'utf8').split('\n').filter(Boolean)).toHaveLength(down.pending);
    expect(log.lines.filter((l) => l.includes('tracking unavailable'))).toHaveLength(1);

    await server.start();
    const up = await tracking.flush(600_000);
    expect(up).toEqual({ available: true, pending: 0, message: '' });
    expectDeliveredOnce(server);
    expect(tracking.tracker.runIdOf(t1.run ?? { ref: '' } as never)).toBe([...server.runs.values()].find((r) => r.info.run_name === 'train')?.info.run_id);
    expect(readFileSync(journal ?? '', 'utf8')).toBe('');
    expect(readdirSync(path.join(root, OUTBOX_DIR, 'blobs'))).toEqual([]);
    expect(log.lines.filter((l) => l.includes('tracking available again'))).toHaveLength(1);
  });

  it('survives a restart: a new process adopts the journal of one that is gone and delivers it', async () => {
    using tmp = tempDir();
    const root = tmp.path;
    workspace(root);
    await using server = await new MlflowTestServer().start();
    await server.stop();
    const outboxDir = path.join(root, OUTBOX_DIR);
    const clock = new TestClock();
    const open = async (pid: number, alive: Set<number>) => {
      const redactor = new Redactor([]);
      const client = new MlflowRestClient({ baseUrl: server.uri, redactor, sleep: fakeSleep(clock) });
      const tracker = await MlflowTracker.open({
        backend: new RestBackend(client, server.uri, 'test server'),
        outboxDir,
        workspace: root,
        experimentName: 'exp',
        clock,
        log: new MemoryLogger(),
        redactor,
        sleep: fakeSleep(clock),
        pid,
        isAlive: (p) => alive.has(p),
        abortInFlight: () => client.close(),
      });
      return tracker;
    };
    const recorderOf = (tracker: Tracker) => new StageRunRecorder({ tracker, ws: new LocalWorkspace(root), clock, log: new MemoryLogger(), pipelineFile: 'dvc.yaml', models });

    const first = await open(1001, new Set([1001]));
    await runPipeline(recorderOf(first));
    const pending = first.health().pending;
    await first.close();
    // the first process is gone; its model file changes afterwards: the outbox kept the bytes it logged
    writeFileSync(path.join(root, 'models', 'model.pkl'), 'model-v2');
    const left = journalsIn(outboxDir);
    expect(left).toHaveLength(1);

    await server.start();
    const second = await open(2002, new Set([2002]));
    expect(second.health().pending).toBe(pending);
    const taken = journalsIn(outboxDir);
    expect(taken).toHaveLength(1);
    expect(taken).not.toEqual(left);
    expect((await second.flush(600_000)).pending).toBe(0);
    expectDeliveredOnce(server);
    await second.close();
    // everything delivered, nothing open: the journal and its lock are gone
    expect(readdirSync(outboxDir).filter((f) => f.startsWith('journal-'))).toEqual([]);

    // the journal of an older reprod (named by pid, with no lock) is left alone while that pid runs
    const third = await open(3003, new Set([3003, 4004]));
    writeFileSync(path.join(outboxDir, 'journal-4004.jsonl'), '');
    await third.close();
    const fourth = await open(5005, new Set([5005, 4004]));
    expect(existsSync(path.join(outboxDir, 'journal-4004.jsonl'))).toBe(true);
    await fourth.close();
  });

  it('does not duplicate a run or a model version when the server acted but its answer was lost', async () => {
    using tmp = tempDir();
    const root = tmp.path;
    workspace(root);
    await using server = await new MlflowTestServer().start();
    server.dropAnswers('POST /api/2.0/mlflow/runs/create', 2);
    server.dropAnswers('POST /api/2.0/mlflow/model-versions/create', 1);
    const clock = new TestClock();
    await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: server.uri }, log: new MemoryLogger(), clock, sleep: fakeSleep(clock) });
    await runPipeline(tracking.recorder({ ws: new LocalWorkspace(root), pipelineFile: 'dvc.yaml', models }));
    expect(await tracking.flush(600_000)).toEqual({ available: true, pending: 0, message: '' });
    // two creations whose answers were lost (the pass's and train's), found again by their reprod.ref tag, not created twice
    expect(server.requests.filter((r) => r.path.endsWith('/runs/create')).map((r) => r.status)).toEqual([-1, -1, 200]);
    expect(server.requests.filter((r) => r.path.endsWith('/runs/search')).map((r) => r.status)).toEqual([200, 200]);
    expect(server.requests.filter((r) => r.path.endsWith('/model-versions/create')).map((r) => r.status)).toEqual([-1]);
    expectDeliveredOnce(server);
  });

  it('sets aside a record the server refuses, and delivers the rest', async () => {
    using tmp = tempDir();
    const root = tmp.path;
    workspace(root);
    await using server = await new MlflowTestServer().start();
    const clock = new TestClock();
    await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: server.uri }, log: new MemoryLogger(), clock, sleep: fakeSleep(clock) });
    // evaluate promotes a model that was never registered: no version has its md5
    const recorder = tracking.recorder({ ws: new LocalWorkspace(root), pipelineFile: 'dvc.yaml', models });
    const pass = recorder.beginPass();
    const t = await recorder.startStage(pass, { stage: evaluate, reprodRunId: 'r', runtime: 'host', reasons: [] });
    const r = await recorder.finishStage(t, { outcome: 'succeeded', action: 'ran', entry: lockOf(evaluate, { 'models/model.pkl': 'never-registered' }) });
    await recorder.endPass(pass, 'succeeded');
    const health = await tracking.flush(600_000);
    expect(health.available).toBe(true);
    expect(health.pending).toBe(0);
    expect(health.message).toMatch(/^1 record\(s\) refused by the server \(see .*rejected\.jsonl\)$/);
    const rejected = readFileSync(path.join(root, OUTBOX_DIR, 'rejected.jsonl'), 'utf8').trim().split('\n');
    expect(rejected).toHaveLength(1);
    expect(JSON.parse(rejected[0] ?? '{}')).toMatchObject({ op: { kind: 'promoteModel', name: 'clf', alias: 'champion', md5: 'never-registered' } });
    expect(server.runs.get(r.trackingRunId ?? '')?.metrics).toHaveLength(2);
    expect(server.runs.get(r.trackingRunId ?? '')?.info.status).toBe('FINISHED');
  });

  it('delivers in the background (the daemon) and retries with capped backoff while the server answers 503', async () => {
    using tmp = tempDir();
    const root = tmp.path;
    workspace(root);
    await using server = await new MlflowTestServer().start();
    server.failWith(503);
    const clock = new TestClock();
    const waits: number[] = [];
    let capped: () => void = () => undefined;
    const backoffCapped = new Promise<void>((resolve) => (capped = resolve));
    const sleep = (ms: number) => {
      waits.push(ms);
      if (waits.filter((w) => w >= 59_000).length === 2) capped();
      return fakeSleep(clock)(ms);
    };
    await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: server.uri }, log: new MemoryLogger(), clock, sleep });
    const ac = new AbortController();
    const loop = tracking.start(ac.signal);
    await runPipeline(tracking.recorder({ ws: new LocalWorkspace(root), pipelineFile: 'dvc.yaml', models }));
    await backoffCapped;
    expect(tracking.health().available).toBe(false);
    expect(tracking.health().message).toMatch(/HTTP 503/);
    // outbox backoff: 1 s, 2 s, 4 s … capped at 60 s (between them, the client's own short retries and a stage's 5 s start wait)
    const outboxWaits = waits.filter((w) => w >= 900 && w !== 5000).map((w) => Math.round(w / 1000) * 1000);
    expect(outboxWaits.slice(0, 8)).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
    server.failWith(undefined);
    await tracking.whenIdle();
    expect(tracking.health()).toEqual({ available: true, pending: 0, message: '' });
    ac.abort();
    await loop;
    expectDeliveredOnce(server);
  });
});
