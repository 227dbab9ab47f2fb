/**
 * `reprod checkout` on real files: outputs come back from the cache as
 * dvc.lock and the `.dvc` files record them; targets limit the stages; an
 * output whose object is not in the cache is named in the error. It keeps
 * work the cache lacks (hand edits, as `dvc checkout` keeps them unless
 * --force), and refuses before writing anything listings and md5s that are
 * not DVC's, and outputs under a symlink that leaves the workspace.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG, HOOK, HOSTILE_RELPATHS, hostileWorkspace, md5, PATH_MD5, pipelineRecording, plantListing, putObject, snapshot, write } from '../../helpers/hostile.js';
import { reprod, tempDir, workspaceFiles, writeFiles } from '../../helpers/workspace.js';

const read = (root: string, p: string) => readFileSync(path.join(root, p), 'utf8');

const TWO_STAGES = 'stages:\n  s1:\n    cmd: cp a.txt x.txt\n    deps: [a.txt]\n    outs: [x.txt]\n  s2:\n    cmd: cp b.txt y.txt\n    deps: [b.txt]\n    outs: [y.txt]\n';

describe('checkout', () => {
  it('restores outputs from the cache, keeping what the cache lacks unless forced', async () => {
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
    // neither the edit nor the extra file is in the cache: kept, as DVC keeps them, unless forced
    const kept = await reprod(ws.path, 'checkout');
    expect(kept.code).toBe(1);
    expect(kept.stderr).toMatch(/one\.txt: not checked out: it has changes that are not in the cache/);
    expect(kept.stderr).toMatch(/out\/extra\.txt: not checked out/);
    expect(read(ws.path, 'one.txt')).toBe('edited\n');
    expect(read(ws.path, 'out/extra.txt')).toBe('junk');
    const res = await reprod(ws.path, 'checkout', '--force');
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

/** Two file outputs, produced and cached. */
async function twoOuts(root: string): Promise<void> {
  if (!existsSync(path.join(root, 'in.txt'))) write(root, { 'in.txt': 'in\n' });
  write(root, { 'dvc.yaml': 'stages:\n  s:\n    cmd: cp in.txt a.txt && cp in.txt b.txt\n    deps: [in.txt]\n    outs: [a.txt, b.txt]\n' });
  const res = await reprod(root, 'repro');
  expect(res.code, res.stderr).toBe(0);
}

describe('checkout keeps work the cache lacks', () => {
  it('restores deleted outputs, and outputs whose current content is cached, without --force', async () => {
    using ws = tempDir();
    write(ws.path, { 'in.txt': 'v1\n' });
    await twoOuts(ws.path);
    write(ws.path, { 'in.txt': 'v2\n' });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    // a.txt back at the first run's content, which the cache holds: replacing it loses nothing
    write(ws.path, { 'a.txt': 'v1\n' });
    rmSync(path.join(ws.path, 'b.txt'));
    const res = await reprod(ws.path, 'checkout');
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toBe('M\ta.txt\nA\tb.txt\n');
    expect(read(ws.path, 'a.txt')).toBe('v2\n');
    expect(read(ws.path, 'b.txt')).toBe('v2\n');
  });

  it('refuses a hand edit that is not in the cache: names it, exits 1 and changes nothing; --force replaces it', async () => {
    using ws = tempDir();
    await twoOuts(ws.path);
    write(ws.path, { 'a.txt': 'edited by hand\n' });
    rmSync(path.join(ws.path, 'b.txt'));

    const kept = await reprod(ws.path, 'checkout');
    expect(kept.code).toBe(1);
    expect(kept.stderr).toContain('nothing was checked out: it would overwrite or delete 1 file whose content is not in the cache, kept as they are:\n');
    expect(kept.stderr).toContain('  a.txt: not checked out: it has changes that are not in the cache (use --force to overwrite them)\n');
    expect(kept.stderr).toMatch(/hint: .*--force/);
    expect(kept.stdout).toBe('');
    // as in DVC, nothing is applied when something would be lost: b.txt is not restored either
    expect(read(ws.path, 'a.txt')).toBe('edited by hand\n');
    expect(existsSync(path.join(ws.path, 'b.txt'))).toBe(false);

    const forced = await reprod(ws.path, 'checkout', '-f');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toBe('M\ta.txt\nA\tb.txt\n');
    expect(read(ws.path, 'a.txt')).toBe('in\n');
    expect(read(ws.path, 'b.txt')).toBe('in\n');
  });

  it('names each unsaved file of a directory output: edited ones and ones it would delete', async () => {
    using ws = tempDir();
    write(ws.path, { 'dvc.yaml': 'stages:\n  s:\n    cmd: mkdir -p d && echo 1 > d/one && echo 2 > d/two\n    outs: [d]\n' });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    write(ws.path, { 'd/one': 'mine\n', 'd/new': 'also mine\n' });
    const kept = await reprod(ws.path, 'checkout', 's');
    expect(kept.code).toBe(1);
    expect(kept.stderr).toContain('2 files whose content is not in the cache');
    expect(kept.stderr).toContain('  d/new: not checked out');
    expect(kept.stderr).toContain('  d/one: not checked out');
    expect(kept.stderr).not.toContain('d/two');
    expect(read(ws.path, 'd/one')).toBe('mine\n');
    expect(read(ws.path, 'd/new')).toBe('also mine\n');
  });
});

it('checkout of a directory keeps what DVC never tracks in it: ignored files and links to folders', async () => {
  using ws = tempDir();
  write(ws.path, { '.dvcignore': '*.log\n', 'dvc.yaml': 'stages:\n  s:\n    cmd: mkdir -p d/sub && echo 1 > d/one && echo 2 > d/sub/two\n    outs: [d]\n' });
  expect((await reprod(ws.path, 'repro')).code).toBe(0);
  mkdirSync(path.join(ws.path, 'elsewhere'));
  write(ws.path, { 'elsewhere/keep': 'k\n', 'd/run.log': 'my notes\n', 'd/sub/deep.log': 'more\n', 'd/one': 'edited\n', 'd/extra': 'x\n' });
  symlinkSync('../elsewhere', path.join(ws.path, 'd', 'folder-link'));
  const res = await reprod(ws.path, 'checkout', '--force');
  expect(res.code, res.stderr).toBe(0);
  expect(res.stdout).toBe('M\td/\n');
  expect(read(ws.path, 'd/one')).toBe('1\n');
  expect(existsSync(path.join(ws.path, 'd', 'extra'))).toBe(false);
  expect(read(ws.path, 'd/run.log')).toBe('my notes\n');
  expect(read(ws.path, 'd/sub/deep.log')).toBe('more\n');
  expect(read(ws.path, 'd/folder-link/keep')).toBe('k\n');
  expect((await reprod(ws.path, 'status')).stdout).toBe('Data and pipelines are up to date.\n');
});

describe('checkout refuses what the cache or dvc.lock cannot be trusted with', () => {
  it.each(HOSTILE_RELPATHS)('a cached listing naming %j: an error naming the object and the row; nothing written anywhere', async (relpath) => {
    using h = hostileWorkspace();
    const oid = plantListing(path.join(h.ws, '.dvc', 'cache'), relpath);
    pipelineRecording(h.ws, oid);
    const before = h.untouchable();
    const cacheBefore = snapshot(path.join(h.ws, '.dvc', 'cache'));

    const res = await reprod(h.ws, 'checkout');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`directory listing .dvc/cache/files/md5/${oid.slice(0, 2)}/${oid.slice(2)} (${oid}) is not one DVC writes: row 0 names ${JSON.stringify(relpath)}`);
    expect(res.stderr).toMatch(/hint: .*hostile/);
    expect(h.untouchable()).toEqual(before);
    expect(read(h.ws, '.git/hooks/post-checkout')).toBe(HOOK);
    expect(read(h.ws, '.dvc/config')).toBe(CONFIG);
    expect(existsSync(path.join(h.ws, 'data'))).toBe(false);
    expect(snapshot(path.join(h.ws, '.dvc', 'cache'))).toEqual(cacheBefore);
  });

  it('an md5 in dvc.lock that is a path: refused with the file, key and line; nothing is read or copied', async () => {
    using h = hostileWorkspace();
    write(h.ws, {
      'dvc.yaml': 'stages:\n  s:\n    cmd: echo x > host.txt\n    outs: [host.txt]\n',
      'dvc.lock': `schema: '2.0'\nstages:\n  s:\n    cmd: echo x > host.txt\n    outs:\n    - path: host.txt\n      hash: md5\n      md5: ${PATH_MD5}\n      size: 1\n`,
    });
    const before = h.untouchable();
    const res = await reprod(h.ws, 'checkout');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`dvc.lock:8: stages.s.outs[0].md5: stage 's': output 'host.txt': '${PATH_MD5}' is not an md5`);
    expect(existsSync(path.join(h.ws, 'host.txt'))).toBe(false);
    expect(h.untouchable()).toEqual(before);
  });

  it('an output under a symlink that leaves the workspace: refused, the outside left as it was', async () => {
    using h = hostileWorkspace();
    const outside = path.join(h.outer, 'elsewhere');
    write(h.ws, { 'dvc.yaml': 'stages:\n  s:\n    cmd: mkdir -p data/link && echo made > data/link/x\n    outs: [data/link/x]\n' });
    expect((await reprod(h.ws, 'repro')).code).toBe(0);
    // the folder becomes a link to somewhere else, where a file of the same name is precious
    rmSync(path.join(h.ws, 'data', 'link'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'x'), 'precious\n');
    symlinkSync(outside, path.join(h.ws, 'data', 'link'));
    const before = h.untouchable();

    const res = await reprod(h.ws, 'checkout');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`output of 's' 'data/link/x' lies under 'data/link', a symlink to '${outside}' (outside the workspace)`);
    expect(read(outside, 'x')).toBe('precious\n');
    expect(h.untouchable()).toEqual(before);
  });
});

it('checkout restores a granular target and a .dvc file output, as DVC does', async () => {
  using ws = tempDir();
  write(ws.path, { 'dvc.yaml': 'stages:\n  s:\n    cmd: mkdir -p d && echo 1 > d/one && echo 2 > d/two\n    outs: [d]\n' });
  expect((await reprod(ws.path, 'repro')).code).toBe(0);
  rmSync(path.join(ws.path, 'd'), { recursive: true });
  const one = await reprod(ws.path, 'checkout', 'd/one');
  expect(one.code, one.stderr).toBe(0);
  expect(one.stdout).toBe('A\td/one\n');
  expect(read(ws.path, 'd/one')).toBe('1\n');
  expect(existsSync(path.join(ws.path, 'd', 'two'))).toBe(false);
  // a `.dvc` file's output (what `dvc add` records) is checked out too
  putObject(path.join(ws.path, '.dvc', 'cache'), md5('raw\n'), 'raw\n');
  write(ws.path, { 'raw.txt.dvc': `outs:\n- md5: ${md5('raw\n')}\n  size: 4\n  hash: md5\n  path: raw.txt\n` });
  const all = await reprod(ws.path, 'checkout');
  expect(all.code, all.stderr).toBe(0);
  expect(all.stdout).toBe('M\td/\nA\traw.txt\n');
  expect(read(ws.path, 'raw.txt')).toBe('raw\n');
  expect(read(ws.path, 'd/two')).toBe('2\n');
});
