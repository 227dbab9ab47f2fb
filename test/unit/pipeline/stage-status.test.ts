import { describe, expect, it } from 'vitest';
import { PyFloat, type PyDict, type PyValue } from '../../../src/core/pyvalue.js';
import type { HashInfo, LockStage, Stage } from '../../../src/core/types.js';
import { reasonCode, stageStatus, toDvcStatusJson, type StageObservation } from '../../../src/pipeline/stage-status.js';

const dict = (o: Record<string, PyValue>): PyDict => new Map(Object.entries(o));

const stage: Stage = {
  name: 'train',
  group: 'train',
  cmd: 'python train.py',
  wdir: '.',
  deps: [
    { defPath: 'data.csv', path: 'data.csv' },
    { defPath: 'train.py', path: 'train.py' },
  ],
  params: [
    { defPath: 'params.yaml', path: 'params.yaml', keys: ['train.lr', 'seed'] },
    { defPath: 'other.yaml', path: 'other.yaml', keys: null },
  ],
  outs: [{ defPath: 'model.pkl', path: 'model.pkl', kind: 'out', cache: true, persist: false, push: true }],
  frozen: false,
  alwaysChanged: false,
  source: { file: 'dvc.yaml', key: 'stages.train', line: 2 },
};

const h = (md5: string, size = 1): HashInfo => ({ md5, size });

const lock: LockStage = {
  cmd: 'python train.py',
  deps: [
    { path: 'data.csv', hash: 'md5', md5: 'aaa', size: 1 },
    { path: 'train.py', hash: 'md5', md5: 'bbb', size: 1 },
  ],
  params: new Map([
    ['params.yaml', dict({ seed: 1, 'train.lr': new PyFloat(0.01) })],
    ['other.yaml', dict({ a: 1, b: 'x' })],
  ]),
  outs: [{ path: 'model.pkl', hash: 'md5', md5: 'ccc', size: 1 }],
};

function observe(over: Partial<{ hashes: [string, HashInfo | null][]; params: [string, PyDict | null][]; cached: string[] }> = {}): StageObservation {
  const hashes = new Map<string, HashInfo | null>([
    ['data.csv', h('aaa')],
    ['train.py', h('bbb')],
    ['model.pkl', h('ccc')],
    ...(over.hashes ?? []),
  ]);
  const params = new Map<string, PyDict | null>([
    ['params.yaml', dict({ seed: 1, train: dict({ lr: new PyFloat(0.01) }), unrelated: 5 })],
    ['other.yaml', dict({ a: 1, b: 'x' })],
    ...(over.params ?? []),
  ]);
  const cached = new Set(over.cached ?? ['ccc']);
  return { hashes, params, inCache: (m) => cached.has(m) };
}

describe('stageStatus', () => {
  it('is empty when everything matches the lock', () => {
    expect(stageStatus(stage, lock, observe())).toEqual([]);
  });

  it('reports a modified and a deleted dep', () => {
    const r = stageStatus(stage, lock, observe({ hashes: [['data.csv', h('zzz')], ['train.py', null]] }));
    expect(toDvcStatusJson(r)).toEqual([{ 'changed deps': { 'data.csv': 'modified', 'train.py': 'deleted' } }]);
  });

  it('compares params as values: 0.01 equals 1.0e-2, an int equals the same float', () => {
    const p = dict({ seed: new PyFloat(1), train: dict({ lr: new PyFloat(1.0e-2) }) });
    expect(stageStatus(stage, lock, observe({ params: [['params.yaml', p]] }))).toEqual([]);
  });

  it('reports params key changes in the listed order', () => {
    const p = dict({ train: dict({ lr: new PyFloat(0.1) }) });
    const r = stageStatus(stage, lock, observe({ params: [['params.yaml', p]] }));
    expect(toDvcStatusJson(r)).toEqual([{ 'changed deps': { 'params.yaml': { 'train.lr': 'modified', seed: 'deleted' } } }]);
    expect(r.map(reasonCode)).toEqual(['params-changed', 'params-changed']);
  });

  it('whole-file params: new and deleted top-level keys', () => {
    const r = stageStatus(stage, lock, observe({ params: [['other.yaml', dict({ b: 'x', c: 3 })]] }));
    expect(toDvcStatusJson(r)).toEqual([{ 'changed deps': { 'other.yaml': { c: 'new', a: 'deleted' } } }]);
  });

  it('a params file missing is `deleted`; one without a lock entry is `new`', () => {
    const r = stageStatus(stage, { ...lock, params: new Map([['params.yaml', lock.params.get('params.yaml')!]]) }, observe({ params: [['params.yaml', null]] }));
    expect(toDvcStatusJson(r)).toEqual([{ 'changed deps': { 'params.yaml': 'deleted', 'other.yaml': 'new' } }]);
  });

  it('an output not in the cache is `not in cache`, a deleted one `deleted`', () => {
    expect(toDvcStatusJson(stageStatus(stage, lock, observe({ cached: [] })))).toEqual([{ 'changed outs': { 'model.pkl': 'not in cache' } }]);
    expect(toDvcStatusJson(stageStatus(stage, lock, observe({ hashes: [['model.pkl', null]] })))).toEqual([
      { 'changed outs': { 'model.pkl': 'deleted' } },
    ]);
  });

  it('a changed command comes last, after deps and outs', () => {
    const r = stageStatus({ ...stage, cmd: 'python train.py --fast' }, lock, observe({ hashes: [['model.pkl', null]] }));
    expect(toDvcStatusJson(r)).toEqual([{ 'changed outs': { 'model.pkl': 'deleted' } }, 'changed command']);
  });

  it('a cmd list differs from the same single command as a string', () => {
    expect(toDvcStatusJson(stageStatus({ ...stage, cmd: ['python train.py'] }, lock, observe()))).toEqual(['changed command']);
  });

  it('a new stage (no lock entry): deps read as modified, params as new, missing outs as deleted, no command change', () => {
    const r = stageStatus(stage, undefined, observe({ hashes: [['model.pkl', null]] }));
    expect(toDvcStatusJson(r)).toEqual([
      { 'changed deps': { 'data.csv': 'modified', 'train.py': 'modified', 'params.yaml': 'new', 'other.yaml': 'new' } },
      { 'changed outs': { 'model.pkl': 'deleted' } },
    ]);
  });

  it('a DVC 2 lock entry (no `hash: md5`) cannot be compared and reruns the stage', () => {
    const legacy: LockStage = { ...lock, deps: lock.deps.map((d) => ({ path: d.path, md5: d.md5, size: d.size })) };
    expect(toDvcStatusJson(stageStatus(stage, legacy, observe()))).toEqual([
      { 'changed deps': { 'data.csv': 'modified', 'train.py': 'modified' } },
    ]);
  });

  it('frozen stages ignore their deps; always_changed stages are always stale', () => {
    const frozen = { ...stage, frozen: true };
    expect(stageStatus(frozen, lock, observe({ hashes: [['data.csv', h('zzz')]] }))).toEqual([]);
    expect(toDvcStatusJson(stageStatus({ ...stage, alwaysChanged: true }, lock, observe()))).toEqual(['always changed']);
  });
});
