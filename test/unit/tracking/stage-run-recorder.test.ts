import { describe, expect, it } from 'vitest';
import type { Workspace } from '../../../src/core/ports.js';
import type { PassRecord, PassRun, StageRun, Tracker, TrackingHealth } from '../../../src/core/ports.js';
import type { Stage } from '../../../src/core/types.js';
import { StageRunRecorder } from '../../../src/tracking/stage-run-recorder.js';
import { MemoryLogger, TestClock } from '../../helpers/mlflow-server.js';

function ws(files: Record<string, string>): Workspace {
  return {
    root: '/w',
    readText: async (p) => files[p],
    exists: async (p) => p in files,
    writeTextAtomic: async () => undefined,
    remove: async () => undefined,
    escapeOf: async () => undefined,
  };
}

const stage: Stage = {
  name: 'train',
  group: 'train',
  cmd: 'x',
  wdir: '.',
  deps: [],
  params: [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['a'] }],
  outs: [{ defPath: 'm.json', path: 'm.json', kind: 'metric', cache: false, persist: false, push: true }],
  frozen: false,
  alwaysChanged: false,
  source: { file: 'dvc.yaml' },
};

/** Records the calls; `fail` makes every call throw. */
class FakeTracker implements Tracker {
  calls: string[] = [];
  constructor(private readonly fail = false) {}
  private call(what: string): void {
    this.calls.push(what);
    if (this.fail) throw new Error(`${what} broke`);
  }
  passTags: Record<string, string> | undefined;
  async startPass(o: { name: string; tags?: Record<string, string> }): Promise<PassRun> {
    this.call(`startPass ${o.name}`);
    this.passTags = o.tags;
    return { ref: 'p', runId: 'P', experimentId: '1' };
  }
  async startStageRun(_p: PassRun, o: { stageName: string; tags?: Record<string, string> }): Promise<StageRun> {
    this.call(`startStageRun ${o.stageName} ${o.tags?.['reprod.stage'] ?? ''}`);
    return { ref: 's', stageName: o.stageName, runId: 'S', experimentId: '1', env: { MLFLOW_RUN_ID: 'S' } };
  }
  async finishStageRun(_r: StageRun, rec: { status: string; params: { key: string; value: string }[]; metrics: { key: string }[] }): Promise<void> {
    this.call(`finishStageRun ${rec.status} ${rec.params.map((p) => `${p.key}=${p.value}`).join(',')} ${rec.metrics.map((m) => m.key).join(',')}`);
  }
  async registerModel(): Promise<void> {
    this.call('registerModel');
  }
  async promoteModel(): Promise<void> {
    this.call('promoteModel');
  }
  records: PassRecord[] = [];
  async finishPass(_p: PassRun, status: string, _at: Date, record?: PassRecord): Promise<void> {
    this.call(`finishPass ${status}`);
    if (record) this.records.push(record);
  }
  runIdOf(r: PassRun | StageRun): string | undefined {
    return r.runId;
  }
  health(): TrackingHealth {
    return { available: true, pending: 0, message: '' };
  }
}

describe('stage run recorder', () => {
  it('creates the parent run with the first stage, reads params before the run and metrics after', async () => {
    const tracker = new FakeTracker();
    const files: Record<string, string> = { 'params.yaml': 'a: 1\n' };
    const r = new StageRunRecorder({ tracker, ws: ws(files), clock: new TestClock(), log: new MemoryLogger(), pipelineFile: 'dvc.yaml', models: [] });
    const pass = r.beginPass();
    expect(tracker.calls).toEqual([]);
    const t = await r.startStage(pass, { stage, reprodRunId: 'r', runtime: 'host', reasons: [] });
    expect(t.env).toEqual({ MLFLOW_RUN_ID: 'S' });
    files['params.yaml'] = 'a: 2\n';
    files['m.json'] = '{"acc": 1}';
    expect(await r.finishStage(t, { outcome: 'succeeded', action: 'ran' })).toEqual({ trackingRunId: 'S' });
    await r.endPass(pass, 'succeeded');
    expect(tracker.calls).toEqual(['startPass pipeline', 'startStageRun train train', 'finishStageRun FINISHED a=1 acc', 'finishPass FINISHED']);
  });

  it('never throws when the tracker does: the stage goes on without tracking', async () => {
    const tracker = new FakeTracker(true);
    const log = new MemoryLogger();
    const r = new StageRunRecorder({ tracker, ws: ws({}), clock: new TestClock(), log, pipelineFile: 'dvc.yaml', models: [] });
    const pass = r.beginPass();
    const t = await r.startStage(pass, { stage, reprodRunId: 'r', runtime: 'host', reasons: [] });
    expect(t.env).toEqual({});
    expect(await r.finishStage(t, { outcome: 'failed', action: 'ran', error: 'x' })).toEqual({});
    await r.endPass(pass, 'failed');
    expect(log.text()).toContain('pass not tracked');
  });

  it('leaves no run for a pass without stages', async () => {
    const tracker = new FakeTracker();
    const r = new StageRunRecorder({ tracker, ws: ws({}), clock: new TestClock(), log: new MemoryLogger(), pipelineFile: 'dvc.yaml', models: [] });
    await r.endPass(r.beginPass(), 'succeeded');
    expect(tracker.calls).toEqual([]);
  });

  it("gives the pass's run the pipeline's params and the metrics of stages that ran or were restored, under the pass's name and tags", async () => {
    const tracker = new FakeTracker();
    const files: Record<string, string> = { 'params.yaml': 'a: 1\nb: 2\n' };
    const other: Stage = { ...stage, name: 'other', group: 'other', params: [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['b'] }], outs: [{ ...stage.outs[0]!, defPath: 'o.json', path: 'o.json' }] };
    const r = new StageRunRecorder({ tracker, ws: ws(files), clock: new TestClock(), log: new MemoryLogger(), pipelineFile: 'dvc.yaml', models: [], stages: [stage, other] });
    const pass = r.beginPass({ name: 'exp-1', tags: { 'reprod.experiment': 'exp-1' } });
    // a pass of restored stages only still has a run
    files['o.json'] = '{"size": 3}';
    await r.stageRestored(pass, other);
    expect(tracker.calls).toEqual(['startPass exp-1']);
    expect(tracker.passTags).toMatchObject({ 'reprod.experiment': 'exp-1', 'reprod.kind': 'pipeline', 'mlflow.source.name': 'dvc.yaml' });
    const t = await r.startStage(pass, { stage, reprodRunId: 'r', runtime: 'host', reasons: [] });
    files['m.json'] = '{"acc": 0.5}';
    await r.finishStage(t, { outcome: 'succeeded', action: 'ran' });
    await r.endPass(pass, 'succeeded');
    expect(tracker.records).toHaveLength(1);
    const rec = tracker.records[0]!;
    expect(rec.params).toEqual([
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    expect(rec.metrics.map((m) => [m.key, m.value])).toEqual([
      ['acc', 0.5],
      ['size', 3],
    ]);
    expect(rec.tags).toEqual([
      { key: 'reprod.stages.ran', value: 'train' },
      { key: 'reprod.stages.restored', value: 'other' },
    ]);
  });
});
