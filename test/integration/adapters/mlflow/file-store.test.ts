import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LocalWorkspace } from '../../../../src/adapters/fs/local-workspace.js';
import { openTracking } from '../../../../src/app/tracking.js';
import type { ModelDecl } from '../../../../src/tracking/promotion.js';
import { MemoryLogger, TestClock } from '../../../helpers/mlflow-server.js';
import { tempDir } from '../../../helpers/workspace.js';
import { lockOf, trackedStage } from '../../../helpers/tracking-fixtures.js';
import { conformance } from '../../../helpers/conformance.js';
const stage = trackedStage;


/**
 * The file store against what MLflow's own Python client wrote
 * (conformance/mlflow/filestore/mlruns): the same files, the same meta.yaml
 * fields in the same order with the same YAML types, the same metric line
 * format. Ids, times and paths differ; shapes must not.
 */

const RECORDED = conformance('mlflow', 'filestore', 'mlruns');
const COMMIT = '0123456789abcdef0123456789abcdef01234567';

function walk(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(path.join(dir, e.name), r));
    else out.push(r);
  }
  return out.sort();
}

/** `key: kind` per line: the order of fields and the YAML type of each value. */
function metaShape(text: string): string[] {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => {
      const m = /^(\s*)([^:]+):(?: (.*))?$/.exec(line);
      if (!m) return `?${line}`;
      const v = m[3];
      const kind =
        v === undefined ? 'mapping' : v === '[]' ? 'list' : v === '{}' ? 'mapping' : v === 'null' ? 'null' : /^-?\d+$/.test(v) ? 'int' : /^'.*'$/.test(v) ? 'quoted' : 'plain';
      // alias names (nested keys) are data, not fields
      return m[1] ? `  <alias>: ${kind}` : `${m[2]}: ${kind}`;
    })
    .filter((line, i, all) => !line.startsWith('  ') || all[i - 1] !== line);
}

/** Replaces ids by roles so that trees can be compared. */
function normalise(files: string[], ids: Record<string, string>): string[] {
  return files.map((f) => f.split('/').map((seg) => ids[seg] ?? seg).join('/')).sort();
}



describe('MLflow file store', () => {
  it('writes the layout MLflow writes: experiments, nested runs, params, metrics, tags, artifacts, registered model with aliases', async () => {
    using tmp = tempDir();
    const root = path.join(tmp.path, 'example-pipeline');
    mkdirSync(path.join(root, '.git', 'refs', 'heads'), { recursive: true });
    writeFileSync(path.join(root, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    writeFileSync(path.join(root, '.git', 'refs', 'heads', 'main'), `${COMMIT}\n`);
    writeFileSync(path.join(root, 'params.yaml'), 'train:\n  n_estimators: 100\n  max_depth: 5\nevaluate:\n  champion_threshold: 0.9\n');
    mkdirSync(path.join(root, 'models'));
    mkdirSync(path.join(root, 'metrics'));
    writeFileSync(path.join(root, 'models', 'model.pkl'), 'fake-model-bytes');
    writeFileSync(path.join(root, 'metrics', 'scores.json'), '{"accuracy": 0.9, "f1": 0.88}');
    writeFileSync(path.join(root, 'metrics', 'eval.json'), '{"accuracy": 0.95}');

    const train = stage('train', ['data'], [['models/model.pkl', 'out'], ['metrics/scores.json', 'metric']], [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['train'] }]);
    const evaluate = stage('evaluate', ['models/model.pkl'], [['metrics/eval.json', 'metric']]);
    const models: ModelDecl[] = [
      {
        stage: train,
        spec: { path: 'models/model.pkl', name: 'iris-classifier', alias: 'candidate', promote: { metric: 'accuracy', threshold: { param: 'evaluate.champion_threshold' }, alias: 'champion' } },
      },
    ];
    const log = new MemoryLogger();
    const clock = new TestClock();
    await using tracking = await openTracking({ root, env: { USER: 'alice' }, log, clock });
    const recorder = tracking.recorder({ ws: new LocalWorkspace(root), pipelineFile: 'dvc.yaml', models });

    const pass = recorder.beginPass();
    const t1 = await recorder.startStage(pass, { stage: train, reprodRunId: 'r1', runtime: 'sha256:img', reasons: [{ kind: 'cmd' }] });
    const r1 = await recorder.finishStage(t1, { outcome: 'succeeded', action: 'ran', entry: lockOf(train, { 'models/model.pkl': 'md5-model-1' }) });
    const t2 = await recorder.startStage(pass, { stage: evaluate, reprodRunId: 'r2', runtime: 'host', reasons: [] });
    const r2 = await recorder.finishStage(t2, { outcome: 'succeeded', action: 'ran', entry: lockOf(evaluate, { 'models/model.pkl': 'md5-model-1' }) });
    await recorder.endPass(pass, 'succeeded');
    const health = await tracking.flush();
    expect(health).toEqual({ available: true, pending: 0, message: '' });

    const mlruns = path.join(root, 'mlruns');
    const expId = readdirSync(mlruns).find((d) => /^\d{18}$/.test(d)) ?? '';
    expect(expId).toMatch(/^[1-9]\d{17}$/);
    const runDirs = readdirSync(path.join(mlruns, expId)).filter((d) => d !== 'meta.yaml');
    const trainRun = r1.trackingRunId ?? '';
    const evalRun = r2.trackingRunId ?? '';
    const passRun = runDirs.find((d) => d !== trainRun && d !== evalRun) ?? '';
    expect(runDirs.sort()).toEqual([trainRun, evalRun, passRun].sort());
    for (const id of runDirs) expect(id).toMatch(/^[0-9a-f]{32}$/);

    // the stage's environment points its MLflow client at the same run
    expect(t1.env).toEqual({
      MLFLOW_TRACKING_URI: pathToFileURL(mlruns).href,
      MLFLOW_EXPERIMENT_NAME: 'example-pipeline',
      MLFLOW_RUN_ID: trainRun,
      MLFLOW_EXPERIMENT_ID: expId,
    });

    // every file MLflow wrote has its counterpart
    const recIds = { '163580045406626432': '<exp>', '5cc32d6d37304bd1a9726acc31f04df7': '<pass>', '13662e484772425aa6ce5ee7d3f2cddf': '<run>' };
    const ours = normalise(walk(mlruns), { [expId]: '<exp>', [passRun]: '<pass>', [trainRun]: '<run>', [evalRun]: '<eval>' });
    const recorded = normalise(walk(RECORDED), recIds);
    expect(recorded.filter((f) => !ours.includes(f))).toEqual([]);
    // and reprod's additions are its own tags, the evaluate run, the promotion's alias (and the score that
    // decided it, on the version), and the pass's params and metrics on its own run (MLflow compares runs by those)
    expect(ours.filter((f) => !recorded.includes(f) && !f.includes('<eval>'))).toEqual([
      '<exp>/<pass>/metrics/accuracy',
      // evaluate's accuracy, after train's own
      '<exp>/<pass>/metrics/evaluate/accuracy',
      '<exp>/<pass>/metrics/f1',
      '<exp>/<pass>/params/train.max_depth',
      '<exp>/<pass>/params/train.n_estimators',
      '<exp>/<pass>/tags/mlflow.source.git.commit',
      '<exp>/<pass>/tags/reprod.ref',
      '<exp>/<pass>/tags/reprod.stages.ran',
      '<exp>/<run>/tags/reprod.action',
      '<exp>/<run>/tags/reprod.cmd',
      '<exp>/<run>/tags/reprod.dep.data',
      '<exp>/<run>/tags/reprod.image',
      '<exp>/<run>/tags/reprod.out.metrics/scores.json',
      '<exp>/<run>/tags/reprod.out.models/model.pkl',
      // train's own accuracy (0.9) reaches the threshold too: the model stage may decide its promotion
      '<exp>/<run>/tags/reprod.promote.iris-classifier.champion',
      '<exp>/<run>/tags/reprod.reasons',
      '<exp>/<run>/tags/reprod.ref',
      '<exp>/<run>/tags/reprod.run-id',
      'models/iris-classifier/aliases/champion',
      'models/iris-classifier/version-1/tags/reprod.md5',
      'models/iris-classifier/version-1/tags/reprod.metric.accuracy',
      'models/iris-classifier/version-1/tags/reprod.path',
      'models/iris-classifier/version-1/tags/reprod.ref',
      'models/iris-classifier/version-1/tags/reprod.stage',
    ]);
    // MLflow's FileStore creates these folders whether or not they hold files (git kept none of the empty ones)
    for (const d of ['.trash', `${expId}/${passRun}/metrics`, `${expId}/${passRun}/params`, `${expId}/${passRun}/artifacts`]) {
      expect(statSync(path.join(mlruns, d)).isDirectory()).toBe(true);
    }

    // meta.yaml: same fields, same order, same YAML types
    const pairs: [string, string][] = [
      ['0/meta.yaml', '0/meta.yaml'],
      [`${expId}/meta.yaml`, '163580045406626432/meta.yaml'],
      [`${expId}/${passRun}/meta.yaml`, '163580045406626432/5cc32d6d37304bd1a9726acc31f04df7/meta.yaml'],
      [`${expId}/${trainRun}/meta.yaml`, '163580045406626432/13662e484772425aa6ce5ee7d3f2cddf/meta.yaml'],
      [`${expId}/${evalRun}/meta.yaml`, '163580045406626432/13662e484772425aa6ce5ee7d3f2cddf/meta.yaml'],
      ['models/iris-classifier/meta.yaml', 'models/iris-classifier/meta.yaml'],
      ['models/iris-classifier/version-1/meta.yaml', 'models/iris-classifier/version-1/meta.yaml'],
    ];
    const read = (base: string, f: string) => readFileSync(path.join(base, f), 'utf8');
    for (const [mine, theirs] of pairs) expect({ file: mine, shape: metaShape(read(mlruns, mine)) }).toEqual({ file: mine, shape: metaShape(read(RECORDED, theirs)) });

    // values that tie the files together
    const wsUri = pathToFileURL(mlruns).href;
    expect(read(mlruns, '0/meta.yaml')).toContain(`artifact_location: ${wsUri}/0\n`);
    expect(read(mlruns, `${expId}/meta.yaml`)).toContain(`experiment_id: '${expId}'\n`);
    expect(read(mlruns, `${expId}/meta.yaml`)).toContain('name: example-pipeline\n');
    const runMeta = read(mlruns, `${expId}/${trainRun}/meta.yaml`);
    expect(runMeta).toContain(`artifact_uri: ${wsUri}/${expId}/${trainRun}/artifacts\n`);
    expect(runMeta).toContain(`run_id: ${trainRun}\nrun_name: train\nrun_uuid: ${trainRun}\n`);
    expect(runMeta).toContain('status: 3\n');
    expect(runMeta).toContain('user_id: alice\n');
    expect(read(mlruns, `${expId}/${passRun}/meta.yaml`)).toContain('run_name: pipeline\n');

    // metric lines `<timestamp ms> <float> <step>\n`; params and tags without newline
    const runDir = path.join(mlruns, expId, trainRun);
    for (const m of ['accuracy', 'f1']) {
      expect(read(runDir, `metrics/${m}`)).toMatch(/^\d{13} \d+\.\d+ 0\n$/);
      const recordedLines = read(RECORDED, `163580045406626432/13662e484772425aa6ce5ee7d3f2cddf/metrics/${m}`).split('\n');
      for (const line of recordedLines.filter(Boolean)) expect(line).toMatch(/^\d{13} \d+\.\d+ \d+$/);
    }
    expect(read(runDir, 'metrics/accuracy')).toMatch(/ 0\.9 0\n$/);
    expect(read(runDir, 'params/train.n_estimators')).toBe('100');
    expect(read(runDir, 'params/train.max_depth')).toBe('5');
    expect(read(runDir, 'tags/mlflow.parentRunId')).toBe(passRun);
    expect(read(runDir, 'tags/mlflow.runName')).toBe('train');
    expect(read(runDir, 'tags/mlflow.source.git.commit')).toBe(COMMIT);
    expect(read(runDir, 'tags/mlflow.source.type')).toBe('JOB');
    expect(read(runDir, 'tags/mlflow.user')).toBe('alice');
    expect(read(runDir, 'tags/reprod.stage')).toBe('train');
    expect(read(runDir, 'tags/reprod.image')).toBe('sha256:img');
    expect(read(runDir, 'artifacts/model/model.pkl')).toBe('fake-model-bytes');
    expect(read(runDir, 'artifacts/metrics/scores.json')).toBe('{"accuracy": 0.9, "f1": 0.88}');
    expect(read(mlruns, `${expId}/${passRun}/tags/reprod.kind`)).toBe('pipeline');
    expect(read(mlruns, `${expId}/${passRun}/tags/mlflow.source.type`)).toBe('PROJECT');

    // the registry: version 1 from the train run, `candidate` on it, and `champion` moved by evaluate's accuracy
    const version = read(mlruns, 'models/iris-classifier/version-1/meta.yaml');
    expect(version).toContain(`run_id: ${trainRun}\n`);
    expect(version).toContain(`source: runs:/${trainRun}/model\n`);
    expect(version).toContain(`storage_location: runs:/${trainRun}/model\n`);
    expect(read(mlruns, 'models/iris-classifier/aliases/candidate')).toBe('1');
    expect(read(mlruns, 'models/iris-classifier/aliases/champion')).toBe('1');
    expect(read(mlruns, 'models/iris-classifier/meta.yaml')).toMatch(/^aliases:\n  candidate: '1'\n  champion: '1'\n/);
    expect(read(mlruns, `${expId}/${evalRun}/tags/reprod.promote.iris-classifier.champion`)).toBe('accuracy 0.95 >= 0.9');
    expect(read(mlruns, `${expId}/${evalRun}/tags/reprod.dep.models/model.pkl`)).toBe('md5-model-1');

    // a second version (scoring below the threshold) moves `candidate`, not `champion`; the outbox is empty
    writeFileSync(path.join(root, 'models', 'model.pkl'), 'other-model-bytes');
    writeFileSync(path.join(root, 'metrics', 'scores.json'), '{"accuracy": 0.5}');
    const pass2 = recorder.beginPass();
    const t3 = await recorder.startStage(pass2, { stage: train, reprodRunId: 'r3', runtime: 'sha256:img', reasons: [] });
    await recorder.finishStage(t3, { outcome: 'succeeded', action: 'ran', entry: lockOf(train, { 'models/model.pkl': 'md5-model-2' }) });
    await recorder.endPass(pass2, 'succeeded');
    await tracking.flush();
    expect(read(mlruns, 'models/iris-classifier/aliases/candidate')).toBe('2');
    expect(read(mlruns, 'models/iris-classifier/aliases/champion')).toBe('1');
    expect(readdirSync(path.join(mlruns, expId)).filter((d) => d !== 'meta.yaml')).toHaveLength(5);
    const outbox = path.join(root, '.dvc', 'tmp', 'reprod', 'mlflow-outbox');
    const journals = readdirSync(outbox).filter((f) => f.endsWith('.jsonl') && f.startsWith('journal-'));
    expect(journals).toHaveLength(1);
    expect(readFileSync(path.join(outbox, journals[0] ?? ''), 'utf8')).toBe('');
  });

  it('records a failed stage as FAILED, without metrics or artifacts, and a cancelled one as KILLED', async () => {
    using tmp = tempDir();
    const root = tmp.path;
    const s = stage('train', [], [['metrics/scores.json', 'metric']]);
    mkdirSync(path.join(root, 'metrics'));
    writeFileSync(path.join(root, 'metrics', 'scores.json'), '{"accuracy": 1}');
    await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: 'file:./elsewhere/runs', MLFLOW_EXPERIMENT_NAME: 'exp', USER: 'u' }, log: new MemoryLogger(), clock: new TestClock() });
    const recorder = tracking.recorder({ ws: new LocalWorkspace(root), pipelineFile: 'dvc.yaml', models: [] });
    const pass = recorder.beginPass();
    const t = await recorder.startStage(pass, { stage: s, reprodRunId: 'r', runtime: 'host', reasons: [] });
    expect(t.env['MLFLOW_TRACKING_URI']).toBe(pathToFileURL(path.join(root, 'elsewhere', 'runs')).href);
    const failed = await recorder.finishStage(t, { outcome: 'failed', action: 'ran', error: 'exit code 2' });
    const t2 = await recorder.startStage(pass, { stage: s, reprodRunId: 'r2', runtime: 'host', reasons: [] });
    const killed = await recorder.finishStage(t2, { outcome: 'cancelled', action: 'ran' });
    await recorder.endPass(pass, 'failed');
    await tracking.flush();
    const mlruns = path.join(root, 'elsewhere', 'runs');
    const expId = readdirSync(mlruns).find((d) => /^\d{18}$/.test(d)) ?? '';
    const dir = (id: string | undefined) => path.join(mlruns, expId, id ?? '');
    expect(readFileSync(path.join(dir(failed.trackingRunId), 'meta.yaml'), 'utf8')).toContain('status: 4\n');
    expect(readFileSync(path.join(dir(killed.trackingRunId), 'meta.yaml'), 'utf8')).toContain('status: 5\n');
    expect(readFileSync(path.join(dir(failed.trackingRunId), 'tags', 'reprod.error'), 'utf8')).toBe('exit code 2');
    // the cause is also the run's description, which MLflow's UI shows at the top of the run's page
    expect(readFileSync(path.join(dir(failed.trackingRunId), 'tags', 'mlflow.note.content'), 'utf8')).toBe('exit code 2');
    expect(readdirSync(path.join(dir(failed.trackingRunId), 'metrics'))).toEqual([]);
    expect(readdirSync(path.join(dir(failed.trackingRunId), 'artifacts'))).toEqual([]);
  });

  it('leaves no run for a pass that runs no stage', async () => {
    using tmp = tempDir();
    await using tracking = await openTracking({ root: tmp.path, env: {}, log: new MemoryLogger(), clock: new TestClock() });
    const recorder = tracking.recorder({ ws: new LocalWorkspace(tmp.path), pipelineFile: 'dvc.yaml', models: [] });
    await recorder.endPass(recorder.beginPass(), 'succeeded');
    await tracking.flush();
    expect(() => readdirSync(path.join(tmp.path, 'mlruns'))).toThrow(/ENOENT/);
  });
});
