/**
 * The README's example, as the README runs it: reprod in its own container
 * (docker-compose), every stage of ingest → preprocess → train → evaluate in a
 * sibling container, on a copy of this repository's example pipeline.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildReprodImage, compose as composeIn, exampleWorkspace, run } from '../helpers/compose.js';
import { assertStatusFilesValid } from '../helpers/workspace.js';

let ws = '';
const PROJECT = `reprod-e2e-run-${process.pid}`;
const compose = (...args: string[]) => composeIn(ws, PROJECT, ...args);

/** `docker-compose run --rm reprod repro`: what ran, from reprod's own output. */
async function repro(): Promise<string[]> {
  const res = await compose('run', '--rm', 'reprod', 'repro');
  expect(res.code, res.out).toBe(0);
  return [...res.out.matchAll(/^Running stage '([^']+)'/gm)].map((m) => m[1] as string);
}

beforeAll(async () => {
  ws = exampleWorkspace();
  const build = await buildReprodImage();
  expect(build.code, build.out).toBe(0);
}, 600_000);

afterAll(() => {
  if (ws) execFileSync('rm', ['-rf', ws]);
});

describe('the example pipeline in containers, as the README runs it', () => {
  it('runs end to end and real metrics come out', async () => {
    expect(await repro()).toEqual(['ingest', 'preprocess', 'train', 'evaluate']);
    const scores = JSON.parse(readFileSync(path.join(ws, 'metrics/scores.json'), 'utf8')) as Record<string, number>;
    for (const k of ['accuracy', 'f1', 'roc_auc']) {
      expect(scores[k]).toBeGreaterThan(0.8);
      expect(scores[k]).toBeLessThanOrEqual(1);
    }
    const train = parse(readFileSync(path.join(ws, 'status/train.yaml'), 'utf8'));
    expect(train.spec.runtime.kind).toBe('docker');
    expect(train.status.lastRun.runtime).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(train.status.lastRun.container).toMatch(/^[0-9a-f]{64}$/);
    assertStatusFilesValid(ws);
    // every stage run is an MLflow run nested under the pass's run, and the model is registered
    const runId = train.status.lastRun.trackingRunId as string;
    expect(runId).toMatch(/^[0-9a-f]{32}$/);
    const [experiment] = readdirSync(path.join(ws, 'mlruns')).filter((d) => /^\d+$/.test(d) && d !== '0');
    const runDir = path.join(ws, 'mlruns', experiment as string, runId);
    expect(readFileSync(path.join(runDir, 'tags/mlflow.runName'), 'utf8')).toBe('train');
    const passRunId = readFileSync(path.join(runDir, 'tags/mlflow.parentRunId'), 'utf8');
    expect(passRunId).toMatch(/^[0-9a-f]{32}$/);
    expect(readFileSync(path.join(runDir, 'params/train.C'), 'utf8')).toBe('1.0');
    // the pass's run carries the whole pipeline's params and the pass's metrics, for MLflow's compare view
    const passDir = path.join(ws, 'mlruns', experiment as string, passRunId);
    expect(readFileSync(path.join(passDir, 'params/train.C'), 'utf8')).toBe('1.0');
    expect(readFileSync(path.join(passDir, 'params/preprocess.test_size'), 'utf8')).toBe('0.25');
    expect(readFileSync(path.join(passDir, 'metrics/accuracy'), 'utf8')).toMatch(/^\d+ 0\.9\d* 0\n?$/);
    // the registered model is an MLflow Model folder; its logged MLmodel names the run; the run keeps its log
    const mlmodel = parse(readFileSync(path.join(runDir, 'artifacts/model/MLmodel'), 'utf8'));
    expect(mlmodel).toMatchObject({ run_id: runId, artifact_path: 'model', flavors: { python_function: { loader_module: 'mlflow.sklearn' }, sklearn: { pickled_model: 'model.pkl' } } });
    expect(readFileSync(path.join(runDir, 'artifacts/logs/train.log'), 'utf8')).toContain('train: logistic_regression fitted on');
    const evaluate = parse(readFileSync(path.join(ws, 'status/evaluate.yaml'), 'utf8'));
    const evalRun = path.join(ws, 'mlruns', experiment as string, evaluate.status.lastRun.trackingRunId as string);
    expect(readFileSync(path.join(evalRun, 'metrics/accuracy'), 'utf8')).toMatch(/^\d+ 0\.9\d* 0\n?$/);
    const model = path.join(ws, 'mlruns/models/breast-cancer-classifier');
    expect(readFileSync(path.join(model, 'aliases/candidate'), 'utf8')).toBe('1');
    expect(readFileSync(path.join(model, 'aliases/champion'), 'utf8')).toBe('1');
    // files written by stages belong to the workspace's owner, not to root-in-a-container
    const owner = execFileSync('stat', ['-c', '%u:%g', ws], { encoding: 'utf8' }).trim();
    expect(execFileSync('stat', ['-c', '%u:%g', path.join(ws, 'models/model/model.pkl')], { encoding: 'utf8' }).trim()).toBe(owner);
    // no container left behind
    const left = execFileSync('docker', ['ps', '-aq', '--filter', 'label=reprod.managed=true', '--filter', `label=reprod.workspace=${ws}`], {
      encoding: 'utf8',
    });
    expect(left.trim()).toBe('');
    // four stage containers after reprod's own: as the stage-code test below
  }, 180_000);

  it('a second run runs nothing, and status agrees', async () => {
    expect(await repro()).toEqual([]);
    const st = await compose('run', '--rm', 'reprod', 'status', '--json');
    expect(st.code, st.out).toBe(0);
    expect(st.stdout.trim()).toBe('{}');
  });

  it('changing one hyperparameter reruns exactly train and evaluate', async () => {
    const params = readFileSync(path.join(ws, 'params.yaml'), 'utf8');
    const changed = params.replace(/^(\s+C:\s*)([0-9.]+)/m, (_m, k: string, v: string) => `${k}${Number(v) === 0.5 ? 0.25 : 0.5}`);
    expect(changed).not.toBe(params);
    writeFileSync(path.join(ws, 'params.yaml'), changed);
    expect(await repro()).toEqual(['train', 'evaluate']);
    // two stage containers
  }, 120_000);

  it('touching a stage\'s code reruns that stage; what follows reruns when its inputs change (DVC\'s early cut-off)', async () => {
    const code = path.join(ws, 'stages/preprocess/preprocess.py');
    writeFileSync(code, `${readFileSync(code, 'utf8')}\n# touched\n`);
    // same data out of preprocess: train and evaluate see unchanged inputs
    expect(await repro()).toEqual(['preprocess']);

    const params = readFileSync(path.join(ws, 'params.yaml'), 'utf8');
    writeFileSync(path.join(ws, 'params.yaml'), params.replace(/^(\s+test_size:\s*)([0-9.]+)/m, '$10.3'));
    expect(await repro()).toEqual(['preprocess', 'train', 'evaluate']);
    // an image rebuild (the code is in the build context) and four container runs
  }, 180_000);
});

describe('the example pipeline under the daemon, as the README\'s quick start runs it', () => {
  let ws2 = '';
  const P2 = `reprod-e2e-daemon-${process.pid}`;

  /** Polls without blocking until `check` holds (waiting for a real daemon in real containers). */
  async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 240_000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) {
        const logs = await composeIn(ws2, P2, 'logs', '--tail', '40', 'daemon');
        throw new Error(`timed out waiting for ${what}\n${logs.out}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const doc = (name: string) => {
    try {
      return parse(readFileSync(path.join(ws2, 'status', `${name}.yaml`), 'utf8'));
    } catch {
      return undefined;
    }
  };
  const upToDate = () => doc('pipeline')?.status?.phase === 'UpToDate';

  afterAll(async () => {
    if (ws2) {
      await composeIn(ws2, P2, 'down');
      execFileSync('rm', ['-rf', ws2]);
    }
  });

  it('docker-compose up -d daemon brings the pipeline up to date, reruns what an edit makes stale, and stops cleanly', async () => {
    ws2 = exampleWorkspace();
    const up = await composeIn(ws2, P2, 'up', '-d', 'daemon');
    expect(up.code, up.out).toBe(0);
    await waitFor('the first pass', () => upToDate() && doc('evaluate')?.status?.lastRun?.outcome === 'Succeeded');
    const scores = JSON.parse(readFileSync(path.join(ws2, 'metrics/scores.json'), 'utf8')) as Record<string, number>;
    expect(scores.accuracy).toBeGreaterThan(0.8);
    const trainRun = doc('train').status.lastRun.runId as string;
    const ingestRun = doc('ingest').status.lastRun.runId as string;

    // an edit, and no command typed: train and evaluate rerun, ingest does not
    const params = readFileSync(path.join(ws2, 'params.yaml'), 'utf8');
    writeFileSync(path.join(ws2, 'params.yaml'), params.replace(/^(\s+C:\s*)([0-9.]+)/m, '$10.5'));
    await waitFor('the rerun', () => doc('train')?.status?.lastRun?.runId !== trainRun && upToDate() && doc('evaluate')?.status?.lastRun?.outcome === 'Succeeded');
    expect(doc('ingest').status.lastRun.runId).toBe(ingestRun);
    assertStatusFilesValid(ws2);

    // the compose healthcheck reaches /healthz
    const id = (await composeIn(ws2, P2, 'ps', '-q', 'daemon')).stdout.trim();
    await waitFor('a healthy daemon', async () => {
      const r = await run('docker', ['inspect', '-f', '{{.State.Health.Status}}', id], { cwd: ws2 });
      return r.stdout.trim() === 'healthy';
    }, 120_000);
    const logs = await composeIn(ws2, P2, 'logs', 'daemon');
    expect(logs.out).toMatch(/stage finished/);

    const down = await composeIn(ws2, P2, 'down');
    expect(down.code, down.out).toBe(0);
    const left = execFileSync('docker', ['ps', '-aq', '--filter', 'label=reprod.managed=true', '--filter', `label=reprod.workspace=${ws2}`], { encoding: 'utf8' });
    expect(left.trim()).toBe('');
    // a first pass of four stages in containers (about 40 s alone, as the repro test shows), a rerun of two, the healthcheck
  }, 300_000);
});
