/**
 * What a directory's listing holds, on real trees: .dvcignore at the root
 * and in folders above the tracked one, DVC's built-in ignores, sub-repos,
 * symlinks and the cases DVC refuses. Expectations follow DVC 3's code
 * (dvc/ignore.py, dvc_data/hashfile/build.py), see walk-files.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { WorkspaceHasher } from '../../../src/hashing/workspace-hasher.js';

let ws: string;

beforeEach(() => {
  ws = mkdtempSync(path.join(os.tmpdir(), 'reprod-ignore-'));
  mkdirSync(path.join(ws, '.dvc'));
});

afterEach(() => {
  rmSync(ws, { recursive: true, force: true });
});

function write(rel: string, content = rel): void {
  const abs = path.join(ws, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, content);
}

async function listed(rel: string): Promise<string[] | undefined> {
  await using h = new WorkspaceHasher({ root: ws, statePath: null, jobs: 1 });
  return (await h.hash(rel))?.entries?.map((e) => e.relpath);
}

async function failure(rel: string): Promise<ReprodError> {
  await using h = new WorkspaceHasher({ root: ws, statePath: null, jobs: 1 });
  const err: unknown = await h.hash(rel).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof ReprodError)) throw new Error(`expected a ReprodError, got ${String(err)}`);
  return err;
}

describe('.dvcignore', () => {
  it('applies the root file with gitignore syntax, negation and anchoring', async () => {
    write('.dvcignore', '# scratch files\n*.tmp\n!keep.tmp\n/data/build/\nlogs/\n');
    for (const f of ['a.txt', 'x.tmp', 'keep.tmp', 'sub/y.tmp', 'build/b.txt', 'sub/logs/l.txt', 'logs']) write(`data/${f}`);
    expect(await listed('data')).toEqual(['a.txt', 'keep.tmp', 'logs']);
  });

  it('applies a .dvcignore of a folder above the tracked one, relative to that folder', async () => {
    write('.dvcignore', '*.tmp\n');
    write('project/.dvcignore', 'data/raw/\n!*.keep.tmp\n');
    for (const f of ['a.txt', 'x.tmp', 'y.keep.tmp', 'raw/r.txt', 'sub/raw/deep.txt']) write(`project/data/${f}`);
    expect(await listed('project/data')).toEqual(['a.txt', 'sub/raw/deep.txt', 'y.keep.tmp']);
  });

  it('leaves out .git and .hg folders, a .git file, and sub-repositories (folders holding a .dvc folder)', async () => {
    for (const f of ['a.txt', '.git/HEAD', '.hg/store', 'sub/.git', 'nested-repo/.dvc/config', 'nested-repo/n.txt', '.hg.txt'])
      write(`data/${f}`);
    expect(await listed('data')).toEqual(['.hg.txt', 'a.txt']);
  });

  it('leaves out empty folders and folders whose files are all ignored', async () => {
    write('.dvcignore', '*.tmp\n');
    write('data/a.txt');
    mkdirSync(path.join(ws, 'data/empty/deeper'), { recursive: true });
    write('data/only-ignored/x.tmp');
    const before = await listed('data');
    expect(before).toEqual(['a.txt']);
  });

  it('refuses a .dvcignore inside the tracked directory, unless it is itself ignored', async () => {
    write('data/a.txt');
    write('data/sub/.dvcignore', '*.bin\n');
    const err = await failure('data');
    expect(err.code).toBe('DVCIGNORE_IN_DIR');
    expect(err.source?.file).toBe('data/sub/.dvcignore');
    write('.dvcignore', 'data/sub/.dvcignore\n');
    expect(await listed('data')).toEqual(['a.txt']);
  });

  it('rereads .dvcignore files after flush(), the end of a pass', async () => {
    write('data/a.txt');
    write('data/b.log');
    await using h = new WorkspaceHasher({ root: ws, statePath: null, jobs: 1 });
    expect((await h.hash('data'))?.info.nfiles).toBe(2);
    write('.dvcignore', '*.log\n');
    expect((await h.hash('data'))?.info.nfiles).toBe(2); // same pass: rules as they were
    await h.flush();
    expect((await h.hash('data'))?.entries?.map((e) => e.relpath)).toEqual(['a.txt']);
  });

  it('still hashes an ignored path named directly (DVC only refuses ignored outputs) and says it is ignored', async () => {
    write('.dvcignore', '*.tmp\nscratch/\n');
    write('x.tmp', 'x');
    write('scratch/s.txt');
    await using h = new WorkspaceHasher({ root: ws, statePath: null, jobs: 1 });
    expect((await h.hash('x.tmp'))?.info.size).toBe(1);
    expect(h.isIgnored('x.tmp', false)).toBe(true);
    expect(h.isIgnored('scratch', true)).toBe(true);
    expect(h.isIgnored('scratch/s.txt', false)).toBe(true);
    expect(h.isIgnored('data/a.txt', false)).toBe(false);
    expect(h.isIgnored('.dvc/config', false)).toBe(true);
  });
});

describe('symlinks and special files', () => {
  it('follows a symlink to a file, skips a symlink to a folder, follows a symlinked root', async () => {
    write('elsewhere/target.txt', 'target bytes');
    write('elsewhere/dir/in.txt');
    write('data/a.txt');
    symlinkSync(path.join(ws, 'elsewhere/target.txt'), path.join(ws, 'data/link.txt'));
    symlinkSync(path.join(ws, 'elsewhere/dir'), path.join(ws, 'data/linkdir'));
    symlinkSync(path.join(ws, 'data'), path.join(ws, 'data-link'));
    await using h = new WorkspaceHasher({ root: ws, statePath: null, jobs: 1 });
    const r = await h.hash('data');
    expect(r?.entries?.map((e) => [e.relpath, e.size])).toEqual([
      ['a.txt', 10],
      ['link.txt', 12],
    ]);
    expect((await h.hash('data/link.txt'))?.info.md5).toBe((await h.hash('elsewhere/target.txt'))?.info.md5);
    expect((await h.hash('data-link'))?.info).toEqual(r?.info);
  });

  it('fails on a broken symlink inside a tracked directory unless it is ignored', async () => {
    write('data/a.txt');
    symlinkSync(path.join(ws, 'nowhere'), path.join(ws, 'data/dangling'));
    const err = await failure('data');
    expect(err.code).toBe('HASH_IO');
    expect(err.message).toMatch(/data\/dangling is a broken symlink/);
    write('.dvcignore', 'dangling\n');
    expect(await listed('data')).toEqual(['a.txt']);
  });

  it('answers null for a broken symlink named directly, as for a missing file', async () => {
    symlinkSync(path.join(ws, 'nowhere'), path.join(ws, 'dangling'));
    await using h = new WorkspaceHasher({ root: ws, statePath: null });
    expect(await h.hash('dangling')).toBeNull();
  });

  it('refuses paths outside the workspace', async () => {
    await using h = new WorkspaceHasher({ root: ws, statePath: null });
    await expect(h.hash('../etc/passwd')).rejects.toMatchObject({ code: 'PATH_OUTSIDE' });
    await expect(h.hash('/etc/passwd')).rejects.toMatchObject({ code: 'PATH_OUTSIDE' });
    expect(await h.hash('data/../missing')).toBeNull();
  });
});
