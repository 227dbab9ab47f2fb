import { describe, expect, it } from 'vitest';
import { PyFloat, type PyDict, type PyValue } from '../../../src/core/pyvalue.js';
import type { LockStage } from '../../../src/core/types.js';
import { staleDetail, type CurrentValues } from '../../../src/status/stale-detail.js';

const dict = (o: Record<string, PyValue>): PyDict => new Map(Object.entries(o));

const locked: LockStage = {
  cmd: 'python3 train.py',
  deps: [{ path: 'data/processed', hash: 'md5', md5: '0123456789abcdef0123456789abcdef.dir', size: 10, nfiles: 2 }],
  params: new Map([
    ['params.yaml', dict({ train: dict({ C: new PyFloat(1), seed: 42, model: 'lr' }), 'preprocess.seed': 42 })],
  ]),
  outs: [{ path: 'models/model.pkl', hash: 'md5', md5: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', size: 5 }],
};

const now = (params: Record<string, PyDict>, md5: Record<string, string> = {}): CurrentValues => ({
  params: (f) => params[f],
  md5: (p) => md5[p],
});

describe('staleDetail: the values behind each reason, old → new', () => {
  it('names each leaf of a changed params section, with its old and new value', () => {
    const current = dict({ train: dict({ C: new PyFloat(0.5), seed: 42, model: 'lr', extra: true }), preprocess: dict({ seed: 42 }) });
    const [r] = staleDetail([{ code: 'params-changed', message: 'param modified: params.yaml:train', path: 'params.yaml', key: 'train' }], locked, now({ 'params.yaml': current }));
    expect(r).toEqual({
      code: 'params-changed',
      message: 'param modified: params.yaml:train',
      changes: [
        { what: 'params.yaml:train.C', old: '1.0', new: '0.5' },
        { what: 'params.yaml:train.extra', new: 'True' },
      ],
    });
  });

  it('a dotted key listed in dvc.yaml is looked up in the file; a deleted one has no new value', () => {
    const changed = staleDetail([{ code: 'params-changed', message: '', path: 'params.yaml', key: 'preprocess.seed' }], locked, now({ 'params.yaml': dict({ preprocess: dict({ seed: 7 }) }) }));
    expect(changed[0]?.changes).toEqual([{ what: 'params.yaml:preprocess.seed', old: '42', new: '7' }]);
    const deleted = staleDetail([{ code: 'params-changed', message: '', path: 'params.yaml', key: 'preprocess.seed' }], locked, now({ 'params.yaml': dict({}) }));
    expect(deleted[0]?.changes).toEqual([{ what: 'params.yaml:preprocess.seed', old: '42' }]);
  });

  it('a dependency or an output: its md5 in dvc.lock and now', () => {
    const reasons = staleDetail(
      [
        { code: 'modified', message: 'dep modified: data/processed', path: 'data/processed' },
        { code: 'deleted', message: 'out deleted: models/model.pkl', path: 'models/model.pkl' },
        { code: 'modified', message: 'dep modified: new.csv', path: 'new.csv' },
      ],
      locked,
      now({}, { 'data/processed': 'fedcba9876543210fedcba9876543210.dir', 'new.csv': 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' }),
    );
    expect(reasons.map((r) => r.changes)).toEqual([
      [{ what: 'data/processed', old: '0123456789abcdef0123456789abcdef.dir', new: 'fedcba9876543210fedcba9876543210.dir' }],
      [{ what: 'models/model.pkl', old: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }],
      [{ what: 'new.csv', new: 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' }],
    ]);
  });

  it('reasons without a path (command, image) carry their message only; no lock entry means no old values', () => {
    expect(staleDetail([{ code: 'cmd-changed', message: 'command changed' }], locked, now({}))).toEqual([{ code: 'cmd-changed', message: 'command changed', changes: [] }]);
    const fresh = staleDetail([{ code: 'params-changed', message: '', path: 'params.yaml', key: 'train' }], undefined, now({ 'params.yaml': dict({ train: dict({ C: 1 }) }) }));
    expect(fresh[0]?.changes).toEqual([{ what: 'params.yaml:train.C', new: '1' }]);
  });

  it('a value that turned from a section into a scalar is one change', () => {
    const r = staleDetail([{ code: 'params-changed', message: '', path: 'params.yaml', key: 'train' }], locked, now({ 'params.yaml': dict({ train: 'none' }) }));
    expect(r[0]?.changes).toEqual([{ what: 'params.yaml:train', old: "{'C': 1.0, 'seed': 42, 'model': 'lr'}", new: 'none' }]);
  });
});
