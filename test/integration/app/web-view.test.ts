/**
 * The web view's model on real files: status documents written through its
 * sink become `condition` and `run` events (one per change, none for a
 * rewrite that changes nothing), a run's output becomes `log` events line by
 * line whatever the chunks, and a stage's panel gives each reason's values
 * old (dvc.lock) → new (params.yaml, the dep's md5), its last run and log.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loadSpec, openProject } from '../../../src/app/project.js';
import { WebView } from '../../../src/app/web-view.js';
import { systemClock, type ViewEvent } from '../../../src/core/ports.js';
import type { Stage } from '../../../src/core/types.js';
import { StatusReporter } from '../../../src/status/reporter.js';
import { quietLogger } from '../../helpers/docker.js';
import { tempDir, writeFiles } from '../../helpers/workspace.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

const DVC_YAML = `stages:
  prep:
    cmd: cp in.txt mid.txt
    deps:
      - in.txt
    outs:
      - mid.txt
  train:
    cmd: cp mid.txt model.txt
    deps:
      - mid.txt
    params:
      - train
    outs:
      - model.txt
`;

function lock(inMd5: string): string {
  return `schema: '2.0'
stages:
  train:
    cmd: cp mid.txt model.txt
    deps:
    - path: mid.txt
      hash: md5
      md5: ${md5('old')}
      size: 3
    params:
      params.yaml:
        train:
          C: 1.0
          seed: 42
    outs:
    - path: model.txt
      hash: md5
      md5: ${md5('m')}
      size: 1
  prep:
    cmd: cp in.txt mid.txt
    deps:
    - path: in.txt
      hash: md5
      md5: ${inMd5}
      size: 3
    outs:
    - path: mid.txt
      hash: md5
      md5: ${md5('old')}
      size: 3
`;
}

function setup(root: string) {
  writeFiles(root, { 'dvc.yaml': DVC_YAML, 'params.yaml': 'train:\n  C: 0.5\n  seed: 42\n', 'in.txt': 'new', 'mid.txt': 'mid', 'model.txt': 'm', 'dvc.lock': lock(md5('old')), '.dvc/config': '' });
  const project = openProject(root);
  const spec = loadSpec(root);
  const enqueued: string[] = [];
  const web = new WebView({
    project,
    spec: () => spec,
    phases: () => ({ prep: 'Stale', train: 'Stale' }),
    runtimeOf: () => 'host',
    enqueue: (s) => enqueued.push(s),
    cancel: () => false,
    actions: true,
    log: quietLogger,
    env: {},
  });
  const events: ViewEvent[] = [];
  web.subscribe((e) => events.push(e));
  const sink = web.statusSink(new StatusReporter(project.statusStore, systemClock, () => ({ kind: 'host', reason: 'test' })));
  const stage = (name: string) => spec.dag.byName.get(name) as Stage;
  return { project, spec, web, events, sink, stage, enqueued };
}

describe('the web view model', () => {
  it('draws the graph from the spec, producer → consumer', async () => {
    using ws = tempDir();
    const { web, project } = setup(ws.path);
    try {
      expect(web.pipeline()).toEqual({
        stages: [
          { name: 'prep', phase: 'Stale', reasons: [], runtime: 'host' },
          { name: 'train', phase: 'Stale', reasons: [], runtime: 'host' },
        ],
        edges: [{ from: 'prep', to: 'train' }],
        actions: true,
      });
    } finally {
      await project.hasher[Symbol.asyncDispose]();
    }
  });

  it('a status write is an event when the phase or reasons change, and only then', async () => {
    using ws = tempDir();
    const { events, sink, stage, web, project } = setup(ws.path);
    try {
      const reasons = [{ kind: 'param' as const, file: 'params.yaml', key: 'train', change: 'modified' as const }];
      await sink.stage(stage('train'), undefined, { phase: 'Running', reasons, entry: undefined });
      await sink.stage(stage('train'), undefined, { phase: 'Running', reasons, entry: undefined });
      await sink.stage(stage('train'), undefined, {
        phase: 'UpToDate',
        reasons: [],
        entry: undefined,
        lastRun: { runId: 'r1', action: 'ran', outcome: 'Succeeded', runtime: 'host', exitCode: 0, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:02.000Z' },
      });
      expect(events.map((e) => (e.kind === 'condition' ? [e.kind, e.stage, e.previous, e.phase, e.reasons] : e.kind === 'run' ? [e.kind, e.stage, e.runId] : [e.kind]))).toEqual([
        ['condition', 'train', 'Stale', 'Running', ['param modified: params.yaml:train']],
        ['run', 'train', 'r1'],
        ['condition', 'train', 'Running', 'UpToDate', []],
      ]);
      expect(web.pipeline().stages.find((s) => s.name === 'train')?.phase).toBe('UpToDate');
    } finally {
      await project.hasher[Symbol.asyncDispose]();
    }
  });

  it("a run's output: a log event per line, across chunks and streams; the panel has the lines so far", async () => {
    using ws = tempDir();
    const { events, web, stage, project } = setup(ws.path);
    try {
      const out = web.tee(stage('prep'));
      out.write('one\ntw', 'stdout');
      out.write('oops\n', 'stderr');
      out.write('o\r\nthree', 'stdout');
      expect(events).toEqual([
        { kind: 'log-reset', stage: 'prep' },
        { kind: 'log', stage: 'prep', stream: 'stdout', line: 'one', n: 1 },
        { kind: 'log', stage: 'prep', stream: 'stderr', line: 'oops', n: 2 },
        { kind: 'log', stage: 'prep', stream: 'stdout', line: 'two', n: 3 },
      ]);
      const d = await web.stage('prep');
      expect(d?.log).toEqual(['one', 'oops', 'two']);
      expect(d?.logSeq).toBe(3);
      // a new run starts a new log
      web.tee(stage('prep'));
      expect((await web.stage('prep'))?.log).toEqual([]);
    } finally {
      await project.hasher[Symbol.asyncDispose]();
    }
  });

  it("the panel: each reason's values old → new, from dvc.lock and the workspace", async () => {
    using ws = tempDir();
    const { sink, stage, web, project } = setup(ws.path);
    try {
      await sink.stage(stage('train'), undefined, {
        phase: 'Stale',
        reasons: [
          { kind: 'dep', path: 'mid.txt', change: 'modified' },
          { kind: 'param', file: 'params.yaml', key: 'train', change: 'modified' },
        ],
        entry: undefined,
      });
      const d = await web.stage('train');
      expect(d?.reasons).toEqual([
        { code: 'modified', message: 'dep modified: mid.txt', changes: [{ what: 'mid.txt', old: md5('old'), new: md5('mid') }] },
        { code: 'params-changed', message: 'param modified: params.yaml:train', changes: [{ what: 'params.yaml:train.C', old: '1.0', new: '0.5' }] },
      ]);
      expect(d?.cmd).toBe('cp mid.txt model.txt');
      expect(await web.stage('nope')).toBeUndefined();
    } finally {
      await project.hasher[Symbol.asyncDispose]();
    }
  });

  it("the last run links to its MLflow run; a rerun forces the stage's next plan once", async () => {
    using ws = tempDir();
    const root = ws.path;
    writeFiles(root, { 'dvc.yaml': DVC_YAML, 'params.yaml': 'train:\n  C: 1.0\n  seed: 42\n', '.dvc/config': '' });
    const project = openProject(root);
    const spec = loadSpec(root);
    const enqueued: string[] = [];
    const web = new WebView({ project, spec: () => spec, phases: () => ({}), runtimeOf: () => 'host', enqueue: (s) => enqueued.push(s), cancel: (s) => s === 'train', actions: true, log: quietLogger, env: { MLFLOW_TRACKING_URI: 'https://mlflow.example/' } });
    try {
      const sink = web.statusSink(new StatusReporter(project.statusStore, systemClock, () => ({ kind: 'host', reason: 'test' })));
      await sink.stage(spec.dag.byName.get('prep') as Stage, undefined, {
        phase: 'UpToDate',
        reasons: [],
        entry: undefined,
        lastRun: { runId: 'r1', action: 'ran', outcome: 'Succeeded', runtime: 'host', trackingRunId: 'abc123' },
      });
      expect((await web.stage('prep'))?.lastRun).toMatchObject({ trackingRunId: 'abc123', trackingUrl: 'https://mlflow.example/#/runs/abc123' });

      expect(web.takeRerun('prep')).toBe(false);
      expect(web.act('rerun', 'prep')).toEqual({ ok: true, message: 'prep: running it again' });
      expect(enqueued).toEqual(['prep']);
      // asked while it runs: looked at again once it has settled
      await sink.stage(spec.dag.byName.get('prep') as Stage, undefined, { phase: 'Running', reasons: [], entry: undefined });
      expect(enqueued).toEqual(['prep']);
      await sink.stage(spec.dag.byName.get('prep') as Stage, undefined, { phase: 'UpToDate', reasons: [], entry: undefined });
      expect(enqueued).toEqual(['prep', 'prep']);
      expect(web.takeRerun('prep')).toBe(true);
      expect(web.takeRerun('prep')).toBe(false);
      expect(web.act('rerun', 'nope')).toMatchObject({ ok: false, status: 404 });
      // cancel: what the reconciler says (here, only train runs)
      expect(web.act('cancel', 'prep')).toEqual({ ok: false, status: 409, message: 'prep is not running: nothing to cancel' });
      expect(web.act('cancel', 'train')).toEqual({ ok: true, message: 'train: cancelling its run' });
    } finally {
      await project.hasher[Symbol.asyncDispose]();
    }
  });
});
