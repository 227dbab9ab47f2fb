/**
 * One engine: `reprod repro` is one pass of the daemon's reconciler. The same
 * workspace, reproduced once by `repro` and once by the daemon's first pass,
 * gives the same status/*.yaml (times and ids aside) and the same MLflow
 * records: runs, nesting, statuses, params, metrics and tags.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runDaemon } from '../../../src/app/daemon.js';
import type { PassSummary } from '../../../src/reconcile/reconciler.js';
import { busyboxImage, engine, quietLogger } from '../../helpers/docker.js';
import { copyTree, reprod, tempDir } from '../../helpers/workspace.js';

let image: string;

beforeAll(async () => {
  image = await busyboxImage(await engine());
});

// both runs log to an experiment of the same name (it defaults to the workspace folder's name)
let savedExperiment: string | undefined;
beforeEach(() => {
  savedExperiment = process.env['MLFLOW_EXPERIMENT_NAME'];
  process.env['MLFLOW_EXPERIMENT_NAME'] = 'parity';
});
afterEach(() => {
  if (savedExperiment === undefined) delete process.env['MLFLOW_EXPERIMENT_NAME'];
  else process.env['MLFLOW_EXPERIMENT_NAME'] = savedExperiment;
});

function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
}

/** Values that differ from run to run by nature: times, generated ids, container ids. */
const VOLATILE = new Set(['lastTransitionTime', 'startedAt', 'finishedAt', 'durationSeconds', 'runId', 'container', 'trackingRunId', 'nextRetryAt']);

function scrub(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(scrub);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => !VOLATILE.has(k))
      .map(([k, x]) => [k, scrub(x)]),
  );
}

function statusDocs(root: string): Record<string, unknown> {
  const dir = path.join(root, 'status');
  return Object.fromEntries(
    readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => [f, scrub(parse(readFileSync(path.join(dir, f), 'utf8')))]),
  );
}

const readDir = (dir: string): Record<string, string> =>
  existsSync(dir) ? Object.fromEntries(readdirSync(dir).sort().map((f) => [f, readFileSync(path.join(dir, f), 'utf8')])) : {};

/** Tags that carry ids or times of this run. */
const VOLATILE_TAG = /^(mlflow\.parentRunId|reprod\.ref|reprod\.run-id|mlflow\.source\.git\.commit)$|time|date/i;

/**
 * Every MLflow run of the experiment, by name and parent name: its status,
 * params, metric values (not their timestamps) and tags (ids and times aside).
 */
function mlflowRecords(root: string): unknown[] {
  const mlruns = path.join(root, 'mlruns');
  const exp = readdirSync(mlruns).find((e) => /^\d+$/.test(e) && e !== '0' && readFileSync(path.join(mlruns, e, 'meta.yaml'), 'utf8').includes('name: parity'));
  if (!exp) throw new Error(`no experiment 'parity' in ${mlruns}`);
  const dir = path.join(mlruns, exp);
  const runs = readdirSync(dir).filter((r) => existsSync(path.join(dir, r, 'meta.yaml')));
  const nameOf = new Map(runs.map((r) => [r, readFileSync(path.join(dir, r, 'tags', 'mlflow.runName'), 'utf8')]));
  return runs
    .map((r) => {
      const meta = parse(readFileSync(path.join(dir, r, 'meta.yaml'), 'utf8')) as { status: number; lifecycle_stage: string };
      const tags = readDir(path.join(dir, r, 'tags'));
      const parent = tags['mlflow.parentRunId'];
      const metrics = Object.fromEntries(Object.entries(readDir(path.join(dir, r, 'metrics'))).map(([k, text]) => [k, text.trim().split('\n').map((l) => l.split(' ')[1])]));
      return {
        name: nameOf.get(r),
        parent: parent ? nameOf.get(parent) : undefined,
        status: meta.status,
        lifecycle: meta.lifecycle_stage,
        params: readDir(path.join(dir, r, 'params')),
        metrics,
        tags: Object.fromEntries(Object.entries(tags).filter(([k]) => !VOLATILE_TAG.test(k))),
      };
    })
    .sort((a, b) => `${a.parent ?? ""}/${a.name}`.localeCompare(`${b.parent ?? ""}/${b.name}`));
}

describe('one engine', () => {
  it('repro and the daemon write the same status and MLflow records for the same pass', async () => {
    using base = tempDir();
    write(base.path, {
      'in.txt': 'some data\n',
      'params.yaml': 'train:\n  C: 0.5\n',
      'stages/boxed/Dockerfile': `FROM ${image}\n`,
      'score.sh': 'echo \'{"size": 10, "ok": 1}\' > metrics.json\n',
      'dvc.yaml':
        'stages:\n' +
        '  prep:\n    cmd: cp in.txt mid.txt\n    deps: [in.txt]\n    outs: [mid.txt]\n' +
        '  boxed:\n    cmd: wc -c < mid.txt > out.txt\n    deps: [mid.txt]\n    params: [train.C]\n    outs: [out.txt]\n' +
        '  score:\n    cmd: sh score.sh\n    deps: [out.txt, score.sh]\n    metrics:\n      - metrics.json:\n          cache: false\n',
    });
    using viaRepro = tempDir();
    using viaDaemon = tempDir();
    copyTree(base.path, viaRepro.path);
    copyTree(base.path, viaDaemon.path);

    const res = await reprod(viaRepro.path, 'repro');
    expect(res.code, res.stderr).toBe(0);

    const ac = new AbortController();
    const passes: PassSummary[] = [];
    const stopped = runDaemon(
      {
        root: viaDaemon.path,
        runtime: 'auto',
        log: quietLogger,
        http: null,
        hooks: {
          passFinished: (_id, s) => {
            passes.push(s);
            ac.abort();
          },
        },
      },
      ac.signal,
    );
    await stopped;
    expect(passes).toHaveLength(1);
    expect(passes[0]?.decisions.map((d) => `${d.stage}:${d.action}`)).toEqual(['prep:ran', 'boxed:ran', 'score:ran']);

    expect(readFileSync(path.join(viaDaemon.path, 'dvc.lock'), 'utf8')).toBe(readFileSync(path.join(viaRepro.path, 'dvc.lock'), 'utf8'));
    const statusRepro = statusDocs(viaRepro.path);
    expect(Object.keys(statusRepro)).toEqual(['boxed.yaml', 'pipeline.yaml', 'prep.yaml', 'score.yaml']);
    expect(statusDocs(viaDaemon.path)).toEqual(statusRepro);

    const tracked = mlflowRecords(viaRepro.path);
    // a parent run for the pass, and a nested run per stage, all FINISHED (status 3)
    expect(tracked.map((r) => [(r as { parent?: string }).parent, (r as { name: string }).name, (r as { status: number }).status])).toEqual([
      [undefined, 'pipeline', 3],
      ['pipeline', 'boxed', 3],
      ['pipeline', 'prep', 3],
      ['pipeline', 'score', 3],
    ]);
    expect(mlflowRecords(viaDaemon.path)).toEqual(tracked);
  });
});
