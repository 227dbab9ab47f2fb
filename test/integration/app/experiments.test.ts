// exp run / show / diff / apply / remove on real files and real git, stages on the host.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runExperiments } from '../../../src/app/experiments/exp-run.js';
import { commandLogger } from '../../../src/app/logging.js';
import { reprod, tempDir, writeFiles } from '../../helpers/workspace.js';

const PIPELINE = {
  'dvc.yaml': `stages:
  prep:
    cmd: python3 prep.py
    deps: [prep.py]
    outs: [data/x.txt]
  train:
    cmd: python3 train.py
    deps: [train.py, data/x.txt]
    params: [train]
    outs: [model.txt]
  evaluate:
    cmd: python3 evaluate.py
    deps: [evaluate.py, model.txt]
    metrics:
      - scores.json:
          cache: false
`,
  'params.yaml': 'train:\n  # inverse regularisation\n  C: 1.0\n  model: lr\n',
  'prep.py': "import os\nos.makedirs('data', exist_ok=True)\nopen('data/x.txt', 'w').write('x' * 1000)\n",
  // a C of -1 divides by zero: the failing experiment
  'train.py': "import yaml\np = yaml.safe_load(open('params.yaml'))['train']\nopen('model.txt', 'w').write(f\"{p['model']}:{1 / (1 + float(p['C']))}\")\n",
  'evaluate.py': "import json\nm = open('model.txt').read().split(':')\njson.dump({'acc': float(m[1])}, open('scores.json', 'w'))\n",
  '.dvc/config': '',
  '.gitignore': '/data\n/model.txt\n/mlruns\n/status\n/.dvc/cache\n/.dvc/tmp\n',
};

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8' }).trim();

/** sha256 of every file of the workspace but DVC's cache and tmp, MLflow's store and git's own. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const d of readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      if (['.git', '.dvc/cache', '.dvc/tmp', 'mlruns'].includes(p)) continue;
      if (d.isDirectory()) walk(p);
      else out.set(p, createHash('sha256').update(readFileSync(path.join(root, p))).digest('hex'));
    }
  };
  walk('');
  return out;
}

interface ShowJson {
  rev: string;
  name: string | null;
  experiments: { name: string; revs: { rev: string; data: { params: Record<string, { data: { train: { C: number; model: string } } }>; metrics: Record<string, { data: { acc: number } }> } }[]; executor: { state: string } | null }[] | null;
}

async function show(ws: string): Promise<ShowJson[]> {
  const r = await reprod(ws, 'exp', 'show', '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ShowJson[];
}

describe('experiments without git', () => {
  it('runs a grid in isolated workspaces, shares the upstream stage, and apply makes status clean', async () => {
    using dir = tempDir();
    const ws = dir.path;
    writeFiles(ws, PIPELINE);
    const before = snapshot(ws);
    const run = await reprod(ws, '--runtime', 'host', 'exp', 'run', '-S', 'train.C=0.5,3', '-S', 'train.model=choice(lr,rf)', '-j', '2');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.match(/Ran stage 'prep'/g)).toHaveLength(1);
    expect(run.stdout.match(/Ran stage 'train'/g)).toHaveLength(4);
    expect(snapshot(ws)).toEqual(before);
    expect(readdirSync(path.join(ws, '.dvc/tmp/exps/run'))).toEqual([]);

    const [workspace] = await show(ws);
    const exps = workspace?.experiments ?? [];
    expect(exps).toHaveLength(4);
    const settings = exps.map((e) => `${e.revs[0]?.data.params['params.yaml']?.data.train.C}/${e.revs[0]?.data.params['params.yaml']?.data.train.model}`).sort();
    expect(settings).toEqual(['0.5/lr', '0.5/rf', '3/lr', '3/rf']);
    const best = [...exps].sort((a, b) => (b.revs[0]?.data.metrics['scores.json']?.data.acc ?? 0) - (a.revs[0]?.data.metrics['scores.json']?.data.acc ?? 0))[0];
    expect(best?.revs[0]?.data.metrics['scores.json']?.data.acc).toBeCloseTo(1 / 1.5);

    // results are in the main cache: prep's output once, four models, two distinct scores (the run-cache keeps metrics too)
    const cached = execFileSync('find', [path.join(ws, '.dvc/cache/files'), '-type', 'f'], { encoding: 'utf8' }).trim().split('\n');
    expect(cached).toHaveLength(1 + 4 + 2);

    const apply = await reprod(ws, '--runtime', 'host', 'exp', 'apply', best?.name ?? '');
    expect(apply.code, apply.stderr).toBe(0);
    expect(parse(readFileSync(path.join(ws, 'params.yaml'), 'utf8')).train.C).toBe(0.5);
    expect(readFileSync(path.join(ws, 'params.yaml'), 'utf8')).toContain('# inverse regularisation');
    const status = await reprod(ws, '--runtime', 'host', 'status');
    expect(status.stdout).toBe('Data and pipelines are up to date.\n');
    expect(status.code).toBe(0);

    // another experiment over work that is not in any experiment is refused, then forced
    const other = exps.find((e) => e.name !== best?.name)?.name ?? '';
    writeFileSync(path.join(ws, 'params.yaml'), readFileSync(path.join(ws, 'params.yaml'), 'utf8').replace('C: 0.5', 'C: 0.7'));
    const refused = await reprod(ws, '--runtime', 'host', 'exp', 'apply', other);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('would overwrite uncommitted changes in params.yaml');
    expect(readFileSync(path.join(ws, 'params.yaml'), 'utf8')).toContain('C: 0.7');
    expect((await reprod(ws, '--runtime', 'host', 'exp', 'apply', '--force', other)).code).toBe(0);
    expect(readFileSync(path.join(ws, 'params.yaml'), 'utf8')).not.toContain('C: 0.7');

    const diff = await reprod(ws, 'exp', 'diff', best?.name ?? '', other, '--json');
    expect(diff.code, diff.stderr).toBe(0);
    expect(Object.keys(JSON.parse(diff.stdout) as object)).toEqual(['params', 'metrics']);

    const rm = await reprod(ws, 'exp', 'remove', other);
    expect(rm.code).toBe(0);
    expect((await show(ws))[0]?.experiments).toHaveLength(3);
  }, 120_000);

  it('a failing experiment is recorded as failed with its logs; the others and the main workspace are untouched', async () => {
    using dir = tempDir();
    const ws = dir.path;
    writeFiles(ws, PIPELINE);
    const before = snapshot(ws);
    const run = await reprod(ws, '--runtime', 'host', 'exp', 'run', '-S', 'train.C=-1,1', '-n', 'c');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/experiment 'c-1' failed/);
    expect(snapshot(ws)).toEqual(before);
    const exps = (await show(ws))[0]?.experiments ?? [];
    expect(exps.map((e) => [e.name, e.executor?.state ?? 'success']).sort()).toEqual([
      ['c-1', 'failed'],
      ['c-2', 'success'],
    ]);
    expect(readFileSync(path.join(ws, '.dvc/tmp/exps/results/c-1/logs/train.log'), 'utf8')).toContain('ZeroDivisionError');
    // a name in use is refused before anything runs
    const again = await reprod(ws, '--runtime', 'host', 'exp', 'run', '-S', 'train.C=2', '-n', 'c-2');
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("an experiment named 'c-2' exists");
  }, 120_000);

  it('--queue records experiments; --run-all runs them', async () => {
    using dir = tempDir();
    const ws = dir.path;
    writeFiles(ws, PIPELINE);
    const q = await reprod(ws, 'exp', 'run', '--queue', '-S', 'train.C=range(1,3)');
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout.match(/^Queued experiment/gm)).toHaveLength(2);
    expect(((await show(ws))[0]?.experiments ?? []).map((e) => e.executor?.state)).toEqual(['queued', 'queued']);
    const all = await reprod(ws, '--runtime', 'host', 'exp', 'run', '--run-all', '-j', '2');
    expect(all.code, all.stderr).toBe(0);
    const exps = (await show(ws))[0]?.experiments ?? [];
    expect(exps.map((e) => e.executor)).toEqual([null, null]);
    expect(exps.map((e) => e.revs[0]?.data.params['params.yaml']?.data.train.C).sort()).toEqual([1, 2]);
  }, 120_000);

  it('cancelling stops the runs, saves nothing and removes the experiment workspaces', async () => {
    using dir = tempDir();
    const ws = dir.path;
    writeFiles(ws, { ...PIPELINE, 'train.py': `import time\nopen('started', 'w').write('')\ntime.sleep(60)\n` });
    const before = snapshot(ws);
    const ac = new AbortController();
    const links: boolean[] = [];
    let first = '';
    const results = await runExperiments({
      root: ws,
      runtime: 'host',
      log: commandLogger(false),
      set: ['train.C=1,2'],
      jobs: 2,
      signal: ac.signal,
      withMainLock: (fn) => fn(),
      onEvent: (e) => {
        // the shared stage runs once, in the first experiment (the others' passes then skip it)
        if (e.kind === 'decision' && e.decision.stage === 'prep' && e.decision.action === 'ran') {
          first = e.name;
          // both trains start right after prep: cancel once one of them is really running
          const poll = setInterval(() => {
            const running = readdirSync(path.join(ws, '.dvc/tmp/exps/run')).filter((n) => existsSync(path.join(ws, '.dvc/tmp/exps/run', n, 'started')));
            if (running.length > 1) {
              // the shared stage's output in an experiment's workspace is a link to the main cache, not a copy
              for (const n of running.filter((x) => x !== first)) {
                const st = lstatSync(path.join(ws, '.dvc/tmp/exps/run', n, 'data/x.txt'));
                links.push(st.isSymbolicLink() || st.nlink > 1);
              }
              clearInterval(poll);
              ac.abort();
            }
          }, 50);
        }
      },
    });
    expect(results.map((r) => r.state)).toEqual(['cancelled', 'cancelled']);
    expect(links.length).toBeGreaterThan(0);
    expect(links.every(Boolean)).toBe(true);
    expect(snapshot(ws)).toEqual(before);
    expect(readdirSync(path.join(ws, '.dvc/tmp/exps/run'))).toEqual([]);
    expect(existsSync(path.join(ws, '.dvc/tmp/exps/results'))).toBe(false);
  }, 120_000);
});

describe('experiments in git', () => {
  it("are commits on the baseline under DVC's refs, built without touching the index, HEAD or work tree", async () => {
    using dir = tempDir();
    const ws = dir.path;
    writeFiles(ws, PIPELINE);
    git(ws, 'init', '-q', '-b', 'main');
    git(ws, 'add', '-A');
    git(ws, 'commit', '-qm', 'baseline');
    const head = git(ws, 'rev-parse', 'HEAD');
    const run = await reprod(ws, '--runtime', 'host', 'exp', 'run', '-S', 'train.C=0.5,3', '-n', 'sweep');
    expect(run.code, run.stderr).toBe(0);
    expect(git(ws, 'status', '--porcelain')).toBe('');
    expect(git(ws, 'rev-parse', 'HEAD')).toBe(head);
    const refs = git(ws, 'for-each-ref', '--format=%(refname)', 'refs/exps').split('\n').sort();
    expect(refs).toEqual([`refs/exps/${head.slice(0, 2)}/${head.slice(2)}/sweep-1`, `refs/exps/${head.slice(0, 2)}/${head.slice(2)}/sweep-2`]);
    const commit = git(ws, 'rev-parse', refs[0] ?? '');
    expect(git(ws, 'rev-parse', `${commit}^`)).toBe(head);
    expect(git(ws, 'log', '-1', '--format=%s', commit)).toMatch(/^dvc: commit experiment [0-9a-f]{64}$/);
    expect(git(ws, 'diff-tree', '-r', '--name-only', '--no-commit-id', head, commit).split('\n').sort()).toEqual(['dvc.lock', 'params.yaml', 'scores.json']);
    expect(parse(git(ws, 'show', `${commit}:params.yaml`)).train.C).toBe(0.5);

    const shown = await show(ws);
    expect(shown[1]?.rev).toBe(head);
    expect(shown[1]?.name).toBe('main');
    expect(shown[1]?.experiments?.map((e) => [e.name, e.revs[0]?.rev]).sort()).toEqual([
      ['sweep-1', commit],
      ['sweep-2', git(ws, 'rev-parse', refs[1] ?? '')],
    ]);

    expect((await reprod(ws, '--runtime', 'host', 'exp', 'apply', 'sweep-2')).code).toBe(0);
    expect(git(ws, 'status', '--porcelain').split('\n').map((l) => l.trim())).toEqual(['M params.yaml', '?? dvc.lock', '?? scores.json']);
    expect((await reprod(ws, '--runtime', 'host', 'status')).stdout).toBe('Data and pipelines are up to date.\n');

    expect((await reprod(ws, 'exp', 'remove', 'sweep-1')).code).toBe(0);
    expect(git(ws, 'for-each-ref', '--format=%(refname)', 'refs/exps')).toBe(refs[1]);
    expect(statSync(path.join(ws, 'params.yaml')).isFile()).toBe(true);
  }, 120_000);

  it('a workspace in a folder the repository ignores keeps its experiments as without git', async () => {
    using dir = tempDir();
    const outer = dir.path;
    writeFiles(outer, { '.gitignore': '/scratch/\n', 'README': 'x\n' });
    git(outer, 'init', '-q', '-b', 'main');
    git(outer, 'add', '-A');
    git(outer, 'commit', '-qm', 'outer');
    const ws = path.join(outer, 'scratch', 'ws');
    writeFiles(ws, PIPELINE);
    const run = await reprod(ws, '--runtime', 'host', 'exp', 'run', '-S', 'train.C=2', '-n', 'inner');
    expect(run.code, run.stderr).toBe(0);
    expect(git(outer, 'for-each-ref', 'refs/exps')).toBe('');
    expect(existsSync(path.join(ws, '.dvc/tmp/exps/results/inner/files/params.yaml'))).toBe(true);
    expect((await show(ws))[0]?.experiments?.map((e) => e.name)).toEqual(['inner']);
  }, 60_000);
});
