// An experiment over a nested dvc.yaml's params, on real files, stages on the host: its sub/dvc.lock is kept with it and applied back.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLockfile } from '../../../src/lock/lockfile.js';
import { reprod, tempDir, writeFiles } from '../../helpers/workspace.js';

describe('experiments on a nested pipeline', () => {
  it('runs with sub/params.yaml changed, and apply brings back sub/dvc.lock with it', async () => {
    using dir = tempDir();
    const ws = dir.path;
    writeFiles(ws, {
      '.dvc/config': '',
      'dvc.yaml': 'stages:\n  top:\n    cmd: echo top > top.txt\n    outs: [top.txt]\n',
      'sub/params.yaml': 'lr: 1\n',
      'sub/dvc.yaml': 'stages:\n  train:\n    cmd: cat ../top.txt params.yaml > model.txt\n    deps: [../top.txt]\n    params: [lr]\n    outs: [model.txt]\n',
    });
    expect((await reprod(ws, '--runtime', 'host', 'repro', '-P')).code).toBe(0);
    const run = await reprod(ws, '--runtime', 'host', 'exp', 'run', '-n', 'fast', '-S', 'sub/params.yaml:lr=3');
    expect(run.code, run.stderr).toBe(0);
    // the main workspace is as it was
    expect(readFileSync(path.join(ws, 'sub/params.yaml'), 'utf8')).toBe('lr: 1\n');
    expect(parseLockfile(readFileSync(path.join(ws, 'sub/dvc.lock'), 'utf8')).stages.get('train')?.params.get('params.yaml')?.get('lr')).toBe(1);

    // exp show has the nested params file, from the experiment's own tree
    const show = await reprod(ws, 'exp', 'show', '--json');
    const shown = JSON.parse(show.stdout) as { experiments: { name: string; revs: { data: { params: Record<string, { data: Record<string, unknown> }>; outs: Record<string, unknown> } }[] }[] | null }[];
    const fast = shown[0]?.experiments?.find((e) => e.name === 'fast')?.revs[0]?.data;
    expect(fast?.params['sub/params.yaml']?.data).toEqual({ lr: 3 });
    expect(Object.keys(fast?.outs ?? {})).toEqual(['top.txt', 'sub/model.txt']);
    const apply = await reprod(ws, '--runtime', 'host', 'exp', 'apply', 'fast');
    expect(apply.code, apply.stderr).toBe(0);
    expect(readFileSync(path.join(ws, 'sub/params.yaml'), 'utf8')).toBe('lr: 3\n');
    expect(parseLockfile(readFileSync(path.join(ws, 'sub/dvc.lock'), 'utf8')).stages.get('train')?.params.get('params.yaml')?.get('lr')).toBe(3);
    expect(readFileSync(path.join(ws, 'sub/model.txt'), 'utf8')).toBe('top\nlr: 3\n');
    const status = await reprod(ws, '--runtime', 'host', 'status');
    expect(status.stdout).toBe('Data and pipelines are up to date.\n');
  }, 60_000);
});
