/**
 * The README's example, as the README runs it: reprod in its own container
 * (docker-compose), every stage of ingest → preprocess → train → evaluate in a
 * sibling container, on a copy of this repository's example pipeline.
 */
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { assertStatusFilesValid } from '../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const EXAMPLE = ['dvc.yaml', 'params.yaml', 'stages', 'manifests', '.dvc/config', '.dvcignore'];

let ws = '';

/**
 * Runs a command without blocking the test worker's event loop (a blocked
 * worker cannot answer the test runner, which then reports a timeout).
 */
function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number; out: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out: `${stdout}${stderr}`, stdout }));
  });
}

function compose(...args: string[]): Promise<{ code: number; out: string; stdout: string }> {
  return run('docker-compose', ['-f', path.join(REPO, 'docker-compose.yml'), '--project-directory', REPO, ...args], {
    cwd: ws,
    env: { ...process.env, PWD: ws, DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' },
  });
}

/** `docker-compose run --rm reprod repro`: what ran, from reprod's own output. */
async function repro(): Promise<string[]> {
  const res = await compose('run', '--rm', 'reprod', 'repro');
  expect(res.code, res.out).toBe(0);
  return [...res.out.matchAll(/^Running stage '([^']+)'/gm)].map((m) => m[1] as string);
}

beforeAll(async () => {
  ws = mkdtempSync(path.join(os.tmpdir(), 'reprod-e2e-'));
  for (const p of EXAMPLE) cpSync(path.join(REPO, p), path.join(ws, p), { recursive: true });
  // the image under test is the one built from this checkout (registry or no registry: `npm run images` knows)
  const build = await run('npm', ['run', 'images', '--', 'reprod'], { cwd: REPO });
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
    expect(readFileSync(path.join(runDir, 'tags/mlflow.parentRunId'), 'utf8')).toMatch(/^[0-9a-f]{32}$/);
    expect(readFileSync(path.join(runDir, 'params/train.C'), 'utf8')).toBe('1.0');
    const evaluate = parse(readFileSync(path.join(ws, 'status/evaluate.yaml'), 'utf8'));
    const evalRun = path.join(ws, 'mlruns', experiment as string, evaluate.status.lastRun.trackingRunId as string);
    expect(readFileSync(path.join(evalRun, 'metrics/accuracy'), 'utf8')).toMatch(/^\d+ 0\.9\d* 0\n?$/);
    const model = path.join(ws, 'mlruns/models/breast-cancer-classifier');
    expect(readFileSync(path.join(model, 'aliases/candidate'), 'utf8')).toBe('1');
    expect(readFileSync(path.join(model, 'aliases/champion'), 'utf8')).toBe('1');
    // files written by stages belong to the workspace's owner, not to root-in-a-container
    const owner = execFileSync('stat', ['-c', '%u:%g', ws], { encoding: 'utf8' }).trim();
    expect(execFileSync('stat', ['-c', '%u:%g', path.join(ws, 'models/model.pkl')], { encoding: 'utf8' }).trim()).toBe(owner);
    // no container left behind
    const left = execFileSync('docker', ['ps', '-aq', '--filter', 'label=reprod.managed=true', '--filter', `label=reprod.workspace=${ws}`], {
      encoding: 'utf8',
    });
    expect(left.trim()).toBe('');
  });

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
  });

  it('touching a stage\'s code reruns that stage; what follows reruns when its inputs change (DVC\'s early cut-off)', async () => {
    const code = path.join(ws, 'stages/preprocess/preprocess.py');
    writeFileSync(code, `${readFileSync(code, 'utf8')}\n# touched\n`);
    // same data out of preprocess: train and evaluate see unchanged inputs
    expect(await repro()).toEqual(['preprocess']);

    const params = readFileSync(path.join(ws, 'params.yaml'), 'utf8');
    writeFileSync(path.join(ws, 'params.yaml'), params.replace(/^(\s+test_size:\s*)([0-9.]+)/m, '$10.3'));
    expect(await repro()).toEqual(['preprocess', 'train', 'evaluate']);
  });
});
