import { describe, expect, it } from 'vitest';
import { isAlwaysIgnored, watchPlan } from '../../../../src/adapters/watch/watch-plan.js';
import type { Pipeline, Stage } from '../../../../src/core/types.js';
import { PIPELINE_KEY } from '../../../../src/reconcile/reconciler.js';

function st(name: string, deps: string[], outs: string[], params: string[] = []): Stage {
  return {
    name,
    group: name.split('@')[0] ?? name,
    cmd: 'x',
    wdir: '.',
    deps: deps.map((p) => ({ defPath: p, path: p })),
    params: params.map((p) => ({ defPath: p, path: p, keys: null })),
    outs: outs.map((p) => ({ defPath: p, path: p, kind: 'out' as const, cache: true, persist: false, push: true })),
    frozen: false,
    alwaysChanged: false,
    source: { file: 'dvc.yaml' },
  };
}

//   prepare: data/raw ─► data/clean ; train: data/clean + train.yaml ─► model.pkl (built from stages/train/)
const pipeline: Pipeline = {
  file: 'dvc.yaml',
  stages: [st('prepare', ['data/raw'], ['data/clean']), st('train', ['data/clean', 'src/train.py'], ['model.pkl'], ['train.yaml'])],
  params: [],
  metrics: [],
  plots: [],
};

const plan = watchPlan({
  pipeline,
  varsFiles: ['vars/common.yaml'],
  buildContextOf: (s) => (s.group === 'train' ? 'stages/train' : undefined),
});

describe('watchPlan', () => {
  it('watches the spec files, every dep, params file, out and build context', () => {
    expect(plan.paths).toEqual([
      '.dvc/config',
      '.dvc/config.local',
      '.dvcignore',
      'data/clean',
      'data/raw',
      'dvc.yaml',
      'manifests',
      'model.pkl',
      'params.yaml',
      'src/train.py',
      'stages/train',
      'train.yaml',
      'vars/common.yaml',
    ]);
  });

  it('maps a changed path to the keys that depend on it', () => {
    expect(plan.keysFor('dvc.yaml', false)).toEqual([PIPELINE_KEY]);
    expect(plan.keysFor('manifests/train.yaml', false)).toEqual([PIPELINE_KEY]);
    expect(plan.keysFor('vars/common.yaml', false)).toEqual([PIPELINE_KEY]);
    expect(plan.keysFor('data/raw/part-0001.csv', false)).toEqual(['prepare']);
    // an out of prepare is a dep of train: both look
    expect(plan.keysFor('data/clean/x.csv', false)).toEqual(['prepare', 'train']);
    expect(plan.keysFor('train.yaml', false)).toEqual(['train']);
    expect(plan.keysFor('stages/train/train.py', false)).toEqual(['train']);
    expect(plan.keysFor('README.md', false)).toEqual([]);
  });

  it('a folder that vanished or appeared takes the targets inside it along', () => {
    expect(plan.keysFor('data', true)).toEqual(['prepare', 'train']);
    expect(plan.keysFor('data', false)).toEqual([]);
  });

  it('lets the watcher descend only where targets are', () => {
    expect(plan.isRelevant('')).toBe(true);
    expect(plan.isRelevant('data')).toBe(true);
    expect(plan.isRelevant('stages')).toBe(true);
    expect(plan.isRelevant('stages/train/sub/deep.py')).toBe(true);
    expect(plan.isRelevant('stages/other')).toBe(false);
    expect(plan.isRelevant('docs')).toBe(false);
    expect(plan.isRelevant('.dvc')).toBe(true);
  });

  it('never watches the cache, status, mlruns, .git or node_modules', () => {
    for (const p of ['.dvc/cache/files/md5/ab/cd', '.dvc/tmp/reprod/state.tsv', 'status/train.yaml', 'mlruns/0/meta.yaml', '.git/index', 'src/node_modules/x/y.js']) {
      expect(isAlwaysIgnored(p)).toBe(true);
    }
    expect(isAlwaysIgnored('statusboard.txt')).toBe(false);
    expect(isAlwaysIgnored('.dvc/config')).toBe(false);
    const withCacheDep = watchPlan({ pipeline: { ...pipeline, stages: [st('odd', ['.dvc/cache/x'], ['status/y'])] } });
    expect(withCacheDep.paths).not.toContain('.dvc/cache/x');
    expect(withCacheDep.paths).not.toContain('status/y');
  });

  it('before any valid spec, only the spec files', () => {
    expect(watchPlan({ pipeline: undefined }).paths).toEqual(['.dvc/config', '.dvc/config.local', '.dvcignore', 'dvc.yaml', 'manifests', 'params.yaml']);
  });
});

describe('watchPlan with pipeline files anywhere', () => {
  const anywhere = watchPlan({
    pipeline,
    varsFiles: ['sub/dvc.yaml', 'sub/params.yaml'],
    anyPipelineFile: { ignoredFolder: (p) => p === 'big' || p.startsWith('big/') },
  });

  it('descends into every folder but the ignored ones', () => {
    expect(anywhere.isRelevant('new')).toBe(true);
    expect(anywhere.isRelevant('new/deeper')).toBe(true);
    expect(anywhere.isRelevant('big')).toBe(false);
    expect(anywhere.isRelevant('big/x')).toBe(false);
    // without the option, a folder nothing watched leads to is left alone
    expect(plan.isRelevant('new')).toBe(false);
  });

  it('re-reads the spec for a dvc.yaml in any folder, and for a folder created or removed', () => {
    expect(anywhere.keysFor('new/deeper/dvc.yaml', false)).toEqual([PIPELINE_KEY]);
    expect(anywhere.keysFor('sub/dvc.yaml', false)).toEqual([PIPELINE_KEY]);
    expect(anywhere.keysFor('sub/params.yaml', false)).toEqual([PIPELINE_KEY]);
    expect(anywhere.keysFor('new', true)).toEqual([PIPELINE_KEY]);
    // a folder holding deps and outs: the spec, and the stages inside it
    expect(anywhere.keysFor('data', true)).toEqual([PIPELINE_KEY, 'prepare', 'train'].sort());
    // other files, and anything in an ignored folder, ask for nothing
    expect(anywhere.keysFor('new/notes.txt', false)).toEqual([]);
    expect(anywhere.keysFor('big/dvc.yaml', false)).toEqual([]);
    expect(anywhere.keysFor('big/sub', true)).toEqual([]);
    expect(plan.keysFor('new/deeper/dvc.yaml', false)).toEqual([]);
  });
});
