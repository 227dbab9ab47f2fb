import { describe, expect, it } from 'vitest';
import type { PathEscape } from '../../../src/core/ports.js';
import type { Stage } from '../../../src/core/types.js';
import { outsEscapeError } from '../../../src/reconcile/out-guard.js';

const stage: Stage = {
  name: 'train',
  group: 'train',
  cmd: 'x',
  wdir: '.',
  deps: [],
  params: [],
  outs: [
    { defPath: 'model.pkl', path: 'model.pkl', kind: 'out', cache: true, persist: false, push: true },
    { defPath: 'data/link/m.json', path: 'data/link/m.json', kind: 'metric', cache: false, persist: false, push: true },
  ],
  frozen: false,
  alwaysChanged: false,
  source: { file: 'dvc.yaml', key: 'stages.train', line: 7 },
};

/** A workspace where `data/link` leads to /elsewhere. */
const ws = {
  escapeOf: async (p: string): Promise<PathEscape | undefined> =>
    p.startsWith('data/link/') ? { path: p, link: 'data/link', target: '/elsewhere', reason: 'outside the workspace' } : undefined,
};

describe('outsEscapeError', () => {
  it('names the stage, the output, the link, its target, and where the stage is declared', async () => {
    const err = await outsEscapeError(ws, stage);
    expect(err?.code).toBe('PATH_OUTSIDE');
    expect(err?.location).toBe('dvc.yaml:7: stages.train.metrics');
    expect(err?.message).toBe(
      "stage 'train': output 'data/link/m.json' lies under 'data/link', a symlink to '/elsewhere' (outside the workspace): reprod neither writes nor deletes through it",
    );
  });

  it('is undefined when every output stays inside', async () => {
    expect(await outsEscapeError(ws, { ...stage, outs: stage.outs.slice(0, 1) })).toBeUndefined();
  });
});
