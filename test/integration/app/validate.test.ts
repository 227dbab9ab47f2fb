/**
 * `reprod validate` on real files: the schema alone (`--schema-only`, against
 * the examples of iterative/dvcyaml-schema), then what only the workspace
 * can say: dependencies nobody produces, params files and keys that cannot
 * be read, every one of them in one run.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformance } from '../../helpers/conformance.js';
import { reprod, tempDir, writeFiles } from '../../helpers/workspace.js';

describe('validate', () => {
  it('--schema-only accepts every valid example and rejects every invalid one with key and line', async () => {
    const dir = conformance('dvcyaml-examples');
    for (const f of readdirSync(path.join(dir, 'valid'))) {
      const res = await reprod(dir, 'validate', '--schema-only', `valid/${f}`);
      expect(res.code, `${f}: ${res.stderr}`).toBe(0);
    }
    for (const f of readdirSync(path.join(dir, 'invalid'))) {
      const res = await reprod(dir, 'validate', '--schema-only', `invalid/${f}`);
      expect(res.code, f).toBe(2);
      expect(res.stderr, f).toMatch(new RegExp(`invalid/${f.replace(/\./g, '\\.')}:\\d+: [\\w.\\-\\[\\]]+: (unknown key|missing required key)|invalid/${f.replace(/\./g, '\\.')}:\\d+: unknown top-level key`));
    }
  });

  it('--schema-only says which file it cannot read', async () => {
    using ws = tempDir();
    const res = await reprod(ws.path, 'validate', '--schema-only', 'nowhere.yaml');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('ERROR: cannot read nowhere.yaml');
  });

  it('checks files too: a dependency nobody produces', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'dvc.yaml': 'stages:\n  s:\n    cmd: "true"\n    deps: [gone.txt]\n' });
    const res = await reprod(ws.path, 'validate');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/dvc\.yaml:2: stages\.s\.deps: stage 's': dependency 'gone.txt' does not exist/);
    writeFiles(ws.path, { 'gone.txt': '' });
    expect((await reprod(ws.path, 'validate')).stdout).toBe('dvc.yaml: valid (1 stages)\n');
  });

  it('accepts a dependency that a stage produces, or that lies inside an output', async () => {
    using ws = tempDir();
    writeFiles(ws.path, {
      'dvc.yaml':
        'stages:\n  make:\n    cmd: mkdir -p out && echo x > out/f.txt\n    outs: [out]\n' +
        '  use:\n    cmd: cat out/f.txt\n    deps: [out/f.txt]\n',
    });
    const res = await reprod(ws.path, 'validate');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('dvc.yaml: valid (2 stages)\n');
  });

  it('reads params as a run would, and reports every problem at once', async () => {
    using ws = tempDir();
    writeFiles(ws.path, {
      'params.yaml': 'other: 1\n',
      'dvc.yaml':
        'stages:\n  a:\n    cmd: "true"\n    params: [lr]\n' +
        '  b:\n    cmd: "true"\n    deps: [gone.txt]\n' +
        '  c:\n    cmd: "true"\n    params: [{missing.yaml: [k]}]\n',
    });
    const res = await reprod(ws.path, 'validate');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/dvc\.yaml:4: stages\.a\.params\[0\]: stage 'a': parameter 'lr' is missing from 'params.yaml'/);
    expect(res.stderr).toMatch(/stage 'b': dependency 'gone.txt' does not exist/);
    expect(res.stderr).toMatch(/missing\.yaml/);
    writeFiles(ws.path, { 'params.yaml': 'lr: 0.1\n', 'gone.txt': '', 'missing.yaml': 'k: 1\n' });
    expect((await reprod(ws.path, 'validate')).stdout).toBe('dvc.yaml: valid (3 stages)\n');
  });
});
