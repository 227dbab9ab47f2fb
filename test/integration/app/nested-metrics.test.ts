/**
 * metrics and params of a nested dvc.yaml, in a real git repository: the
 * workspace and HEAD both read every dvc.yaml (HEAD's from git), so a
 * metric of sub/dvc.yaml is shown and compared under its workspace path, as
 * DVC shows it.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reprod, tempDir, writeFiles } from '../../helpers/workspace.js';

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'user.email=t@example.com', '-c', 'user.name=t', ...args], { cwd, encoding: 'utf8' });

describe('metrics and params of nested pipelines', () => {
  it('shows and diffs sub/dvc.yaml’s metrics and params against HEAD', async () => {
    using ws = tempDir();
    git(ws.path, 'init', '-q', '.');
    writeFiles(ws.path, {
      '.dvc/config': '',
      'dvc.yaml': 'stages:\n  top:\n    cmd: echo hi > top.txt\n    outs: [top.txt]\n',
      'sub/train.sh': '#!/bin/sh\necho "{\\"acc\\": $(cut -d" " -f2 params.yaml)}" > m.json\n',
      'sub/params.yaml': 'lr: 1\n',
      'sub/dvc.yaml': 'stages:\n  train:\n    cmd: sh train.sh\n    deps: [train.sh]\n    params: [lr]\n    metrics:\n    - m.json:\n        cache: false\n',
    });
    expect((await reprod(ws.path, 'repro', '-P', '--runtime', 'host')).code).toBe(0);
    git(ws.path, 'add', '-A');
    git(ws.path, 'commit', '-qm', 'base');
    writeFileSync(path.join(ws.path, 'sub/params.yaml'), 'lr: 2\n');
    expect((await reprod(ws.path, 'repro', '-P', '--runtime', 'host')).code).toBe(0);

    expect((await reprod(ws.path, 'metrics', 'show', '--json')).stdout).toBe('{"": {"data": {"sub/m.json": {"data": {"acc": 2}}}}}\n');
    expect((await reprod(ws.path, 'metrics', 'diff', '--json')).stdout).toBe('{"sub/m.json": {"acc": {"old": 1, "new": 2, "diff": 1}}}\n');
    expect((await reprod(ws.path, 'params', 'diff', '--json')).stdout).toBe('{"sub/params.yaml": {"lr": {"old": 1, "new": 2, "diff": 1}}}\n');
    // started in sub/, the same workspace
    expect((await reprod(path.join(ws.path, 'sub'), 'metrics', 'diff', '--json')).stdout).toBe('{"sub/m.json": {"acc": {"old": 1, "new": 2, "diff": 1}}}\n');
  });
});
