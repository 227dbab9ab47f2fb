/**
 * `repro` with MLflow tracking switched off (REPROD_TRACKING=off, or
 * --no-tracking): the stages run and are committed as ever, and no MLflow
 * run is recorded anywhere (no ./mlruns, nothing waiting in the outbox),
 * while the same run with tracking on records them.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseLockfile } from '../../../src/lock/lockfile.js';
import { reprod, tempDir } from '../../helpers/workspace.js';

function workspace(root: string): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'in.txt'), 'x\n');
  writeFileSync(path.join(root, 'dvc.yaml'), 'stages:\n  a:\n    cmd: cp in.txt a.txt\n    deps: [in.txt]\n    outs: [a.txt]\n  b:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n');
}

/** What MLflow tracking left in the workspace: runs in ./mlruns and records in the outbox. */
function trackingFiles(root: string): string[] {
  const out: string[] = [];
  for (const dir of ['mlruns', '.dvc/tmp/reprod/mlflow-outbox']) {
    const abs = path.join(root, dir);
    if (existsSync(abs)) out.push(...readdirSync(abs, { recursive: true }).map((f) => `${dir}/${String(f)}`));
  }
  return out;
}

const saved = process.env['REPROD_TRACKING'];
afterEach(() => {
  if (saved === undefined) delete process.env['REPROD_TRACKING'];
  else process.env['REPROD_TRACKING'] = saved;
});

describe('repro without tracking', () => {
  it('records MLflow runs by default', async () => {
    delete process.env['REPROD_TRACKING'];
    using ws = tempDir();
    workspace(ws.path);
    const res = await reprod(ws.path, 'repro');
    expect(res.code, res.stderr).toBe(0);
    expect(trackingFiles(ws.path).some((f) => f.startsWith('mlruns/') && f.endsWith('meta.yaml'))).toBe(true);
  });

  it.each([
    ['REPROD_TRACKING=off', 'off', []],
    ['--no-tracking', undefined, ['--no-tracking']],
  ])('records none with %s, and runs and commits the stages as ever', async (_what, env, flags) => {
    if (env === undefined) delete process.env['REPROD_TRACKING'];
    else process.env['REPROD_TRACKING'] = env;
    using ws = tempDir();
    workspace(ws.path);
    const res = await reprod(ws.path, 'repro', ...flags);
    expect(res.code, res.stderr).toBe(0);
    expect(trackingFiles(ws.path)).toEqual([]);
    expect([...parseLockfile(readFileSync(path.join(ws.path, 'dvc.lock'), 'utf8')).stages.keys()]).toEqual(['a', 'b']);
    expect(readFileSync(path.join(ws.path, 'b.txt'), 'utf8')).toBe('x\n');
  });

  it('refuses a REPROD_TRACKING it does not know, before running anything', async () => {
    process.env['REPROD_TRACKING'] = 'maybe';
    using ws = tempDir();
    workspace(ws.path);
    const res = await reprod(ws.path, 'repro');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("REPROD_TRACKING is 'maybe': it must be on or off");
    expect(existsSync(path.join(ws.path, 'dvc.lock'))).toBe(false);
  });
});
