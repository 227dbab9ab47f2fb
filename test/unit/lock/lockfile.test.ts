import { describe, expect, it } from 'vitest';
import { thrown } from '../../helpers/thrown.js';
import { PyFloat, type PyDict, type PyValue } from '../../../src/core/pyvalue.js';
import type { HashInfo, LockStage, Stage } from '../../../src/core/types.js';
import {
  emptyLockfile,
  lockStageFromRun,
  parseLockfile,
  parseLockStage,
  serializeLockfile,
  upsertStage,
} from '../../../src/lock/lockfile.js';

const map = (entries: [string, PyValue][]): PyDict => new Map(entries);

const LOCK = `schema: '2.0'
stages:
  train:
    cmd: python train.py --epochs 10
    deps:
    - path: data/prepared
      hash: md5
      md5: 1c4d8e91064ac8e317dbc373b1777677.dir
      size: 107
      nfiles: 12
    - path: train.sh
      hash: md5
      md5: b77f7dede7c09453412403c00395c9dd
      size: 108
      isexec: true
    params:
      params.yaml:
        train:
          lr: 0.01
          epochs: 10
        version: '2.0'
      config/extra.json:
        batch: 16
    outs:
    - path: model.pkl
      hash: md5
      md5: 269eb77b41b74a0dda1e98d8c4ccfd9d
      size: 6
  legacy:
    cmd:
    - echo a > a.txt
    - echo b >> a.txt
    outs:
    - path: a.txt
      md5: 6ef04723483f6570ba1aab3bcb5d2b28
      size: 8
`;

describe('parseLockfile', () => {
  it('reads stages, entries and params with their types and order', () => {
    const lock = parseLockfile(LOCK);
    expect([...lock.stages.keys()]).toEqual(['train', 'legacy']);
    const train = lock.stages.get('train');
    expect(train?.cmd).toBe('python train.py --epochs 10');
    expect(train?.deps).toEqual([
      { path: 'data/prepared', hash: 'md5', md5: '1c4d8e91064ac8e317dbc373b1777677.dir', size: 107, nfiles: 12 },
      { path: 'train.sh', hash: 'md5', md5: 'b77f7dede7c09453412403c00395c9dd', size: 108, isexec: true },
    ]);
    const params = train?.params.get('params.yaml');
    expect(params?.get('version')).toBe('2.0');
    const section = params?.get('train');
    expect(section).toEqual(map([['lr', new PyFloat(0.01)], ['epochs', 10]]));
    expect([...(train?.params.keys() ?? [])]).toEqual(['params.yaml', 'config/extra.json']);
    // A DVC 2 entry has no `hash: md5`.
    expect(lock.stages.get('legacy')?.outs).toEqual([{ path: 'a.txt', md5: '6ef04723483f6570ba1aab3bcb5d2b28', size: 8 }]);
    expect(lock.stages.get('legacy')?.cmd).toEqual(['echo a > a.txt', 'echo b >> a.txt']);
  });

  it('round-trips to the same bytes', () => {
    expect(serializeLockfile(parseLockfile(LOCK))).toBe(LOCK);
  });

  it('accepts DVC 3 extras it does not keep (cloud versioning) and a lock without stages', () => {
    const text = `schema: '2.0'
stages:
  s:
    cmd: x
    outs:
    - path: d
      hash: md5
      md5: 0763696a0ee503cf7daa85645d570297.dir
      size: 4
      nfiles: 2
      files:
      - relpath: a
        md5: 55ef7578b917b32028f18767310eac72
        size: 2
        cloud:
          myremote:
            version_id: v1
            etag: abc
`;
    expect(parseLockfile(text).stages.get('s')?.outs[0]?.nfiles).toBe(2);
    expect(parseLockfile(`schema: '2.0'\n`).stages.size).toBe(0);
  });

  it.each([
    ['not YAML', 'schema: [2.0\n', undefined, undefined],
    ['an empty file', '', undefined, undefined],
    ['a DVC 1 lock file', 'train:\n  cmd: x\n', 1, undefined],
    ['another schema version', "schema: '3.0'\nstages: {}\n", 1, 'schema'],
    ['an unknown stage key', "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    frozen: true\n", 5, 'stages.s.frozen'],
    ['a stage without cmd', "schema: '2.0'\nstages:\n  s:\n    outs: []\n", 4, 'stages.s'],
    ['a cmd of the wrong type', "schema: '2.0'\nstages:\n  s:\n    cmd: 3\n", 4, 'stages.s.cmd'],
    ['an entry without path', "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    deps:\n    - md5: abc\n", 6, 'stages.s.deps[0]'],
    ['a size that is not an integer', "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    deps:\n    - path: a\n      size: 1.5\n", 7, 'stages.s.deps[0].size'],
    ['a float size that looks whole', "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    deps:\n    - path: a\n      size: 3.0\n", 7, 'stages.s.deps[0].size'],
    ['params that are not a mapping', "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    params:\n      params.yaml: [1]\n", 6, 'stages.s.params.params.yaml'],
  ])('rejects %s as LOCK_CORRUPT, never as empty', (_name, text, line, key) => {
    const err = thrown(() => parseLockfile(text));
    expect(err.code).toBe('LOCK_CORRUPT');
    expect(err.source?.file).toBe('dvc.lock');
    if (line !== undefined) expect(err.source?.line).toBe(line);
    if (key !== undefined) expect(err.source?.key).toBe(key);
  });

  it('names the file it was given', () => {
    expect(thrown(() => parseLockfile('x: [', 'sub/dvc.lock')).source?.file).toBe('sub/dvc.lock');
  });

  it('emptyLockfile has no stages and writes as DVC would', () => {
    expect(emptyLockfile().stages.size).toBe(0);
    expect(serializeLockfile(emptyLockfile())).toBe("schema: '2.0'\nstages: {}\n");
  });
});

describe('parseLockStage', () => {
  it('reads a run-cache entry (one stage, no name)', () => {
    const st = parseLockStage('cmd: echo\nouts:\n- path: o\n  hash: md5\n  md5: abc\n  size: 1\n', 'runs/ab/abc/def');
    expect(st).toEqual({ cmd: 'echo', deps: [], params: new Map(), outs: [{ path: 'o', hash: 'md5', md5: 'abc', size: 1 }] });
  });

  it('reports problems at the entry\'s own keys', () => {
    const err = thrown(() => parseLockStage('cmd: echo\nouts:\n- path: o\n  bogus: 1\n', 'entry'));
    expect(err.code).toBe('LOCK_CORRUPT');
    expect(err.source).toMatchObject({ file: 'entry', key: 'outs[0].bogus', line: 4 });
  });
});

describe('serializeLockfile', () => {
  it('sorts deps and outs by code point, params files params.yaml first, and keys at the top level only', () => {
    const stage: LockStage = {
      cmd: 'run',
      deps: [
        { path: 'b', hash: 'md5', md5: '2', size: 1 },
        { path: 'a/😀', hash: 'md5', md5: '3', size: 1 },
        { path: 'a/\ufffd', hash: 'md5', md5: '4', size: 1 },
        { path: 'B', hash: 'md5', md5: '1', size: 1 },
      ],
      params: new Map([
        ['z.yaml', map([['b', 1], ['a', 2]])],
        ['params.yaml', map([['zeta', map([['y', 1], ['x', 2]])], ['alpha', true]])],
        ['a.json', map([['k', null]])],
      ]),
      outs: [{ path: 'out', hash: 'md5', md5: 'f', size: 0, isexec: false }],
    };
    expect(serializeLockfile({ stages: new Map([['s', stage]]) })).toBe(`schema: '2.0'
stages:
  s:
    cmd: run
    deps:
    - path: B
      hash: md5
      md5: '1'
      size: 1
    - path: a/\ufffd
      hash: md5
      md5: '4'
      size: 1
    - path: a/😀
      hash: md5
      md5: '3'
      size: 1
    - path: b
      hash: md5
      md5: '2'
      size: 1
    params:
      params.yaml:
        alpha: true
        zeta:
          y: 1
          x: 2
      a.json:
        k:
      z.yaml:
        a: 2
        b: 1
    outs:
    - path: out
      hash: md5
      md5: f
      size: 0
`);
  });

  it('leaves out empty sections and an unknown md5', () => {
    const stage: LockStage = { cmd: 'x', deps: [{ path: 'd', hash: 'md5', md5: '' }], params: new Map(), outs: [] };
    expect(serializeLockfile({ stages: new Map([['s', stage]]) })).toBe(
      "schema: '2.0'\nstages:\n  s:\n    cmd: x\n    deps:\n    - path: d\n      hash: md5\n",
    );
  });

  it('writes what it reads back (the schema accepts its own output)', () => {
    const stage: LockStage = {
      cmd: ['a', 'b'],
      deps: [],
      params: new Map([['params.yaml', map([['f', new PyFloat(1)], ['s', '1e5'], ['n', null], ['l', []]])]]),
      outs: [{ path: 'o', hash: 'md5', md5: 'abc.dir', size: 3, nfiles: 1 }],
    };
    const lock = { stages: new Map([['x@1', stage]]) };
    const text = serializeLockfile(lock);
    expect(parseLockfile(text)).toEqual(lock);
  });
});

describe('upsertStage', () => {
  const entry = (cmd: string): LockStage => ({ cmd, deps: [], params: new Map(), outs: [] });
  const lock = { stages: new Map([['a', entry('1')], ['b', entry('2')]]) };

  it('replaces an existing stage where it stands', () => {
    const next = upsertStage(lock, 'a', entry('new'));
    expect([...next.stages.keys()]).toEqual(['a', 'b']);
    expect(next.stages.get('a')?.cmd).toBe('new');
    expect(lock.stages.get('a')?.cmd).toBe('1');
  });

  it('appends a new stage at the end', () => {
    expect([...upsertStage(lock, '0', entry('z')).stages.keys()]).toEqual(['a', 'b', '0']);
  });
});

describe('lockStageFromRun', () => {
  const stage: Stage = {
    name: 'train',
    group: 'train',
    cmd: 'python train.py',
    wdir: 'sub',
    deps: [
      { defPath: 'train.py', path: 'sub/train.py' },
      { defPath: 'data', path: 'sub/data' },
    ],
    params: [
      { defPath: 'other.yaml', path: 'sub/other.yaml', keys: null },
      { defPath: 'params.yaml', path: 'sub/params.yaml', keys: ['train.lr', 'seed'] },
    ],
    outs: [{ defPath: 'model.pkl', path: 'sub/model.pkl', kind: 'out', cache: true, persist: false, push: true }],
    frozen: false,
    alwaysChanged: false,
    source: { file: 'sub/dvc.yaml' },
  };
  const hashes = new Map<string, HashInfo>([
    ['sub/train.py', { md5: 'aaa', size: 10, isexec: true }],
    ['sub/data', { md5: 'bbb.dir', size: 20, nfiles: 2 }],
    ['sub/model.pkl', { md5: 'ccc', size: 30, isexec: false }],
  ]);
  const params = new Map<string, PyDict>([
    ['sub/params.yaml', map([['train', map([['lr', new PyFloat(0.1)], ['epochs', 3]])], ['seed', 1], ['unused', 2]])],
    ['sub/other.yaml', map([['z', 1], ['a', map([['y', 1], ['b', 2]])]])],
  ]);

  it('builds the entry DVC would write', () => {
    const entry = lockStageFromRun(stage, { hashes, params });
    expect(serializeLockfile({ stages: new Map([['train', entry]]) })).toBe(`schema: '2.0'
stages:
  train:
    cmd: python train.py
    deps:
    - path: data
      hash: md5
      md5: bbb.dir
      size: 20
      nfiles: 2
    - path: train.py
      hash: md5
      md5: aaa
      size: 10
      isexec: true
    params:
      params.yaml:
        seed: 1
        train.lr: 0.1
      other.yaml:
        a:
          y: 1
          b: 2
        z: 1
    outs:
    - path: model.pkl
      hash: md5
      md5: ccc
      size: 30
`);
  });

  it('refuses to describe a run it has no hash for', () => {
    const noOut = new Map(hashes);
    noOut.delete('sub/model.pkl');
    expect(thrown(() => lockStageFromRun(stage, { hashes: noOut, params })).code).toBe('OUT_MISSING');
    const noDep = new Map(hashes);
    noDep.delete('sub/data');
    expect(thrown(() => lockStageFromRun(stage, { hashes: noDep, params })).code).toBe('DEP_MISSING');
  });

  it('refuses missing params keys and files', () => {
    const noSeed = new Map(params);
    noSeed.set('sub/params.yaml', map([['train', map([['lr', 1]])]]));
    const err = thrown(() => lockStageFromRun(stage, { hashes, params: noSeed }));
    expect(err.code).toBe('PARAMS_MISSING');
    expect(err.message).toContain("'seed'");
    const noFile = new Map(params);
    noFile.delete('sub/other.yaml');
    // a missing params file is a missing input, as a missing dependency is
    expect(thrown(() => lockStageFromRun(stage, { hashes, params: noFile })).code).toBe('DEP_MISSING');
  });
});
