/**
 * `freeze`, `unfreeze` and `remove` on real workspaces: what they write to
 * dvc.yaml and dvc.lock, what status says after, and that outputs linked to
 * the cache become the workspace's own files on `remove`.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLockfile } from '../../../src/lock/lockfile.js';
import { reprod, tempDir, writeFiles } from '../../helpers/workspace.js';

const PIPELINE = `stages:
  a:
    cmd: echo a > a.txt
    outs: [a.txt]
  # b reads a
  b:
    cmd: cat a.txt a.txt > b.txt
    deps: [a.txt]
    outs: [b.txt]
`;

const read = (root: string, p: string) => readFileSync(path.join(root, p), 'utf8');

describe('freeze and unfreeze', () => {
  it('freeze writes `frozen: true` and nothing else; a frozen stage is not rerun for its deps; unfreeze gives the file back', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'dvc.yaml': PIPELINE });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    expect((await reprod(ws.path, 'freeze', 'b')).code).toBe(0);
    expect(read(ws.path, 'dvc.yaml')).toBe(PIPELINE.replace('    outs: [b.txt]\n', '    outs: [b.txt]\n    frozen: true\n'));
    const lockBefore = read(ws.path, 'dvc.lock');

    writeFileSync(path.join(ws.path, 'a.txt'), 'changed\n');
    const status = await reprod(ws.path, 'status', '--json');
    // a's out changed; b's dep did too, but b is frozen
    expect(status.stdout).toBe('{"a": [{"changed outs": {"a.txt": "modified"}}]}\n');
    const repro = await reprod(ws.path, 'repro', 'b');
    expect(repro.code, repro.stderr).toBe(0);
    expect(read(ws.path, 'b.txt')).toBe('a\na\n');
    expect(read(ws.path, 'dvc.lock')).toBe(lockBefore);

    expect((await reprod(ws.path, 'unfreeze', 'b')).code).toBe(0);
    expect(read(ws.path, 'dvc.yaml')).toBe(PIPELINE);
  });

  it('refuses a templated stage and an unknown one, and leaves dvc.yaml as it was', async () => {
    using ws = tempDir();
    const text = 'stages:\n  g:\n    foreach: [x, y]\n    do:\n      cmd: echo ${item} > ${item}.txt\n      outs: ["${item}.txt"]\n';
    writeFiles(ws.path, { 'dvc.yaml': text });
    const templated = await reprod(ws.path, 'freeze', 'g@x');
    expect(templated.code).toBe(2);
    expect(templated.stderr).toMatch(/cannot dump a parametrized stage: 'g@x'/);
    const unknown = await reprod(ws.path, 'freeze', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/stage 'nope' does not exist/);
    expect(read(ws.path, 'dvc.yaml')).toBe(text);
  });
});

describe('remove', () => {
  it('takes the stage out of dvc.yaml and dvc.lock, keeps its outputs, and leaves the rest alone', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'dvc.yaml': PIPELINE });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    expect((await reprod(ws.path, 'remove', 'b')).code).toBe(0);
    expect(read(ws.path, 'dvc.yaml')).toBe('stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n  # b reads a\n');
    expect([...parseLockfile(read(ws.path, 'dvc.lock')).stages.keys()]).toEqual(['a']);
    expect(read(ws.path, 'b.txt')).toBe('a\na\n');
    expect((await reprod(ws.path, 'status', '--json')).stdout).toBe('{}\n');
  });

  it('the last stage with --outs: dvc.yaml, dvc.lock and the output go', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'dvc.yaml': 'stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n' });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    expect((await reprod(ws.path, 'remove', 'a', '--outs')).code).toBe(0);
    for (const f of ['dvc.yaml', 'dvc.lock', 'a.txt']) expect(existsSync(path.join(ws.path, f)), f).toBe(false);
  });

  it('with cache.type hardlink, a kept output is unlinked from the cache: editing it leaves the cache object whole', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { '.dvc/config': '[cache]\n    type = hardlink\n', 'dvc.yaml': 'stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n' });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    const md5 = parseLockfile(read(ws.path, 'dvc.lock')).stages.get('a')?.outs[0]?.md5 ?? '';
    const object = path.join(ws.path, '.dvc/cache/files/md5', md5.slice(0, 2), md5.slice(2));
    expect(statSync(path.join(ws.path, 'a.txt')).nlink).toBe(2);
    expect((await reprod(ws.path, 'remove', 'a')).code).toBe(0);
    expect(statSync(path.join(ws.path, 'a.txt')).nlink).toBe(1);
    writeFileSync(path.join(ws.path, 'a.txt'), 'edited\n');
    expect(readFileSync(object, 'utf8')).toBe('a\n');
  });

  it('one generated stage of a group is refused; the group goes by its name', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'dvc.yaml': 'stages:\n  g:\n    foreach: [x, y]\n    do:\n      cmd: echo ${item} > ${item}.txt\n      outs: ["${item}.txt"]\n  k:\n    cmd: echo k > k.txt\n    outs: [k.txt]\n' });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    const one = await reprod(ws.path, 'remove', 'g@x');
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/generated by 'g'/);
    expect((await reprod(ws.path, 'remove', 'g')).code).toBe(0);
    expect(read(ws.path, 'dvc.yaml')).toBe('stages:\n  k:\n    cmd: echo k > k.txt\n    outs: [k.txt]\n');
    expect([...parseLockfile(read(ws.path, 'dvc.lock')).stages.keys()]).toEqual(['k']);
  });
});
