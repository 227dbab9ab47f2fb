/**
 * The README's example pipeline, swept: six experiments of train.C ×
 * train.model, two at a time, every stage in its sibling container, in a git
 * repository, then the best one applied.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { exampleWorkspace } from '../helpers/compose.js';
import { reprod } from '../helpers/workspace.js';

let ws = '';
const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: ws, encoding: 'utf8' }).trim();

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

interface Exp {
  name: string;
  revs: { rev: string; data: { params: Record<string, { data: { train: { C: number; model: string } } }>; metrics: Record<string, { data?: { accuracy?: number } }> } }[];
}

beforeAll(() => {
  ws = exampleWorkspace();
  git('init', '-q', '-b', 'main');
  execFileSync('sh', ['-c', "printf '/data/\\n/models/\\n/metrics/\\n/plots/\\n/status/\\n/mlruns/\\n' > .gitignore && printf '/cache\\n/tmp\\n' > .dvc/.gitignore"], { cwd: ws });
  git('add', '-A');
  git('commit', '-qm', 'the example pipeline');
});

afterAll(() => {
  if (ws) rmSync(ws, { recursive: true, force: true });
});

describe('exp run on the example pipeline in containers', () => {
  it('runs six experiments two at a time; ingest and preprocess once; apply of the best makes status clean', async () => {
    const head = git('rev-parse', 'HEAD');
    const before = snapshot(ws);
    const run = await reprod(ws, 'exp', 'run', '-S', 'train.C=0.01,0.1,1', '-S', 'train.model=choice(logistic_regression,random_forest)', '-j', '2');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout.match(/Ran stage 'ingest'/g)).toHaveLength(1);
    expect(run.stdout.match(/Ran stage 'preprocess'/g)).toHaveLength(1);
    expect(run.stdout.match(/Ran stage 'train'/g)).toHaveLength(6);
    // the main workspace is as it was: no params changed, no outputs, no dvc.lock
    expect(snapshot(ws)).toEqual(before);
    expect(git('status', '--porcelain')).toBe('');

    const show = await reprod(ws, 'exp', 'show', '--json');
    expect(show.code, show.stderr).toBe(0);
    const doc = JSON.parse(show.stdout) as { rev: string; experiments: Exp[] | null }[];
    expect(doc[1]?.rev).toBe(head);
    const exps = doc[1]?.experiments ?? [];
    expect(exps).toHaveLength(6);
    const grid = exps.map((e) => `${e.revs[0]?.data.params['params.yaml']?.data.train.C}/${e.revs[0]?.data.params['params.yaml']?.data.train.model}`).sort();
    expect(grid).toEqual(['0.01/logistic_regression', '0.01/random_forest', '0.1/logistic_regression', '0.1/random_forest', '1/logistic_regression', '1/random_forest']);
    const accuracy = (e: Exp) => e.revs[0]?.data.metrics['metrics/scores.json']?.data?.accuracy ?? -1;
    for (const e of exps) {
      expect(accuracy(e)).toBeGreaterThan(0.8);
      expect(accuracy(e)).toBeLessThanOrEqual(1);
    }

    // in git, each is a commit on the baseline where DVC puts it
    const refs = git('for-each-ref', '--format=%(refname) %(objectname)', 'refs/exps').split('\n');
    expect(refs.map((r) => r.split(' ')[0]).sort()).toEqual(exps.map((e) => `refs/exps/${head.slice(0, 2)}/${head.slice(2)}/${e.name}`).sort());
    for (const r of refs) expect(git('rev-parse', `${r.split(' ')[1]}^`)).toBe(head);
    expect(refs.map((r) => r.split(' ')[1]).sort()).toEqual(exps.map((e) => e.revs[0]?.rev).sort());

    const best = [...exps].sort((a, b) => accuracy(b) - accuracy(a))[0];
    // the table people read, best first
    const table = await reprod(ws, 'exp', 'show', '--sort-by', 'accuracy', '--sort-order', 'desc');
    expect(table.code, table.stderr).toBe(0);
    const rows = table.stdout.split('\n').filter((l) => /^[├└]── /.test(l));
    expect(rows).toHaveLength(6);
    expect(rows[0]).toContain(String(accuracy(best as Exp)));
    const apply = await reprod(ws, 'exp', 'apply', best?.name ?? '');
    expect(apply.code, apply.stderr).toBe(0);
    expect(parse(readFileSync(path.join(ws, 'params.yaml'), 'utf8')).train).toMatchObject(best?.revs[0]?.data.params['params.yaml']?.data.train ?? {});
    expect(JSON.parse(readFileSync(path.join(ws, 'metrics/scores.json'), 'utf8')).accuracy).toBe(accuracy(best as Exp));
    const status = await reprod(ws, 'status');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toBe('Data and pipelines are up to date.\n');
  }, 1_500_000);
});
