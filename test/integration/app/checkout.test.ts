/**
 * `reprod checkout` on real files: outputs come back from the cache as
 * dvc.lock records them, whatever is in the way; targets limit the stages;
 * an output whose object is not in the cache is named in the error.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reprod, tempDir, workspaceFiles, writeFiles } from '../../helpers/workspace.js';

const TWO_STAGES = 'stages:\n  s1:\n    cmd: cp a.txt x.txt\n    deps: [a.txt]\n    outs: [x.txt]\n  s2:\n    cmd: cp b.txt y.txt\n    deps: [b.txt]\n    outs: [y.txt]\n';

describe('checkout', () => {
  it('restores outputs from the cache', async () => {
    using ws = tempDir();
    writeFiles(ws.path, {
      'in/a.txt': 'a\n',
      'in/b.txt': 'b\n',
      'dvc.yaml': 'stages:\n  s:\n    cmd: cp -r in out && cp in/a.txt one.txt\n    deps: [in]\n    outs: [out, one.txt]\n',
    });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    const before = await workspaceFiles(ws.path);
    writeFiles(ws.path, { 'one.txt': 'edited\n' });
    writeFileSync(path.join(ws.path, 'out/extra.txt'), 'junk');
    const res = await reprod(ws.path, 'checkout');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/M\tout/);
    expect(res.stdout).toMatch(/M\tone.txt/);
    expect(await workspaceFiles(ws.path)).toEqual(before);
    expect((await reprod(ws.path, 'checkout')).stdout).toMatch(/Nothing to check out/);
  });

  it('adds what is gone, only for the stages named', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'a.txt': 'a\n', 'b.txt': 'b\n', 'dvc.yaml': TWO_STAGES });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    rmSync(path.join(ws.path, 'x.txt'));
    rmSync(path.join(ws.path, 'y.txt'));
    const res = await reprod(ws.path, 'checkout', 's2');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('A\ty.txt\n');
    expect(readFileSync(path.join(ws.path, 'y.txt'), 'utf8')).toBe('b\n');
    expect(existsSync(path.join(ws.path, 'x.txt'))).toBe(false);
  });

  it('names the outputs whose objects are not in the cache, after restoring the others', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'a.txt': 'a\n', 'b.txt': 'b\n', 'dvc.yaml': TWO_STAGES });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    rmSync(path.join(ws.path, 'x.txt'));
    rmSync(path.join(ws.path, 'y.txt'));
    // y.txt holds "b\n", whose md5 is 3b5d5c3712955042212316173ccf37be
    rmSync(path.join(ws.path, '.dvc/cache/files/md5/3b/5d5c3712955042212316173ccf37be'), { force: false });
    const res = await reprod(ws.path, 'checkout');
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('A\tx.txt\n');
    expect(res.stderr).toContain('ERROR: not in the cache, so not checked out: y.txt');
    expect(res.stderr).toContain('Run `reprod repro` to produce them, or pull them from a remote.');
    expect(existsSync(path.join(ws.path, 'y.txt'))).toBe(false);
  });
});
