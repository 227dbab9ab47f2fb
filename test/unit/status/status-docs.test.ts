import { describe, expect, it } from 'vitest';
import type { Stage } from '../../../src/core/types.js';
import { nextPipelineStatus, nextStageStatus, type Condition, type StageStatusInput } from '../../../src/status/status-docs.js';
import { serializeStatus, statusSchemaErrors } from '../../../src/status/status-store.js';

const stage: Stage = {
  name: 'train',
  group: 'train',
  cmd: 'python3 train.py',
  wdir: '.',
  deps: [{ defPath: 'data', path: 'data' }],
  params: [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['train'] }],
  outs: [{ defPath: 'model.pkl', path: 'model.pkl', kind: 'out', cache: true, persist: false, push: true }],
  frozen: false,
  alwaysChanged: false,
  source: { file: 'dvc.yaml', key: 'stages.train', line: 2 },
};

const t0 = new Date('2026-11-26T10:00:00.000Z');
const t1 = new Date('2026-11-26T10:00:05.000Z');
const t2 = new Date('2026-11-26T10:00:09.000Z');

const base: StageStatusInput = {
  stage,
  runtime: { kind: 'docker', image: 'sha256:abc', reason: 'convention' },
  phase: 'Stale',
  reasons: [{ kind: 'dep', path: 'data', change: 'modified' }],
  entry: undefined,
};

const cond = (doc: { status: { conditions: Condition[] } }, type: string) => doc.status.conditions.find((c) => c.type === type);

describe('stage status manifests', () => {
  it('are valid against the schema in every phase', () => {
    for (const phase of ['UpToDate', 'Stale', 'Queued', 'Running', 'Failed', 'Blocked', 'Cancelled', 'Frozen', 'Backoff'] as const) {
      const doc = nextStageStatus(undefined, { ...base, phase }, t0);
      expect(statusSchemaErrors(doc), phase).toBe('');
    }
  });

  it('project phases onto Ready / Reconciling / Stalled', () => {
    const running = nextStageStatus(undefined, { ...base, phase: 'Running' }, t0);
    expect([cond(running, 'Ready')?.status, cond(running, 'Reconciling')?.status, cond(running, 'Stalled')?.status]).toEqual(['False', 'True', 'False']);
    expect(cond(running, 'Ready')?.message).toBe('dep modified: data');
    const failed = nextStageStatus(running, { ...base, phase: 'Failed', message: 'exit code 3' }, t1);
    expect([cond(failed, 'Ready')?.status, cond(failed, 'Reconciling')?.status, cond(failed, 'Stalled')?.status]).toEqual(['False', 'False', 'True']);
    expect(cond(failed, 'Stalled')?.reason).toBe('Failed');
  });

  it('keep lastTransitionTime while a condition keeps its status', () => {
    const a = nextStageStatus(undefined, { ...base, phase: 'Queued' }, t0);
    const b = nextStageStatus(a, { ...base, phase: 'Running' }, t1);
    expect(cond(b, 'Ready')?.lastTransitionTime).toBe(t0.toISOString());
    expect(cond(b, 'Reconciling')?.lastTransitionTime).toBe(t0.toISOString());
    const c = nextStageStatus(b, { ...base, phase: 'UpToDate', reasons: [] }, t2);
    expect(cond(c, 'Ready')?.lastTransitionTime).toBe(t2.toISOString());
    expect(c.status.staleReasons).toEqual([]);
  });

  it('count generations by changes of the rendered spec, not of the image', () => {
    const a = nextStageStatus(undefined, base, t0);
    expect(a.metadata.generation).toBe(1);
    const same = nextStageStatus(a, { ...base, runtime: { ...base.runtime, image: 'sha256:def' } }, t1);
    expect(same.metadata.generation).toBe(1);
    const edited = nextStageStatus(same, { ...base, stage: { ...stage, cmd: 'python3 train.py --fast' } }, t2);
    expect(edited.metadata.generation).toBe(2);
    expect(edited.status.observedGeneration).toBe(2);
    expect(edited.status.conditions.every((c) => c.observedGeneration === 2)).toBe(true);
  });

  it('serialize deterministically', () => {
    const doc = nextStageStatus(undefined, base, t0);
    expect(serializeStatus(doc)).toBe(serializeStatus(structuredClone(doc)));
    expect(serializeStatus(doc).startsWith('apiVersion: reprod.dev/v1\nkind: StageStatus\nmetadata:\n  name: train\n')).toBe(true);
  });

  it('the schema rejects what it must', () => {
    const doc = nextStageStatus(undefined, base, t0);
    expect(statusSchemaErrors({ ...doc, status: { ...doc.status, phase: 'Dancing' } })).toMatch(/phase/);
    expect(statusSchemaErrors({ ...doc, extra: 1 })).not.toBe('');
  });
});

describe('pipeline status manifest', () => {
  it('shows an invalid spec as a condition with file, key and line, keeping the last good generation', () => {
    const good = nextPipelineStatus(undefined, { file: 'dvc.yaml', specText: 'a', stages: { train: 'UpToDate' } }, t0);
    expect(good.status.phase).toBe('UpToDate');
    const bad = nextPipelineStatus(
      good,
      {
        file: 'dvc.yaml',
        specText: 'b',
        stages: { train: 'UpToDate' },
        error: { code: 'SCHEMA', message: "unknown key 'extra'", file: 'dvc.yaml', key: 'stages.train', line: 7 },
      },
      t1,
    );
    expect(statusSchemaErrors(bad)).toBe('');
    expect(bad.status.phase).toBe('InvalidSpec');
    expect(bad.metadata.generation).toBe(2);
    expect(bad.status.observedGeneration).toBe(1);
    expect(cond(bad, 'SpecValid')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: "dvc.yaml:7: stages.train: unknown key 'extra'" });
  });

  it('is Degraded when a stage failed, Reconciling while stages run', () => {
    expect(nextPipelineStatus(undefined, { file: 'dvc.yaml', specText: 'a', stages: { a: 'Failed', b: 'Running' } }, t0).status.phase).toBe('Degraded');
    expect(nextPipelineStatus(undefined, { file: 'dvc.yaml', specText: 'a', stages: { a: 'UpToDate', b: 'Running' } }, t0).status.phase).toBe('Reconciling');
  });
});
