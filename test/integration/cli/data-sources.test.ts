/**
 * `.dvc` files as data sources, on real files and (where it matters) a real
 * git repository: `reprod add` writes what `dvc add` writes (n02's recorded
 * `.dvc` file and cache objects, byte for byte) and the `.gitignore` entry;
 * it refuses what DVC refuses, writing nothing. status names changed data
 * sources in DVC's words; repro and commit record them; checkout, push,
 * pull and gc include them; remove deletes them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformance } from '../../helpers/conformance.js';
import { cacheListing, copyTree, readLines, reprod, reprodOk, tempDir, workspaceFiles, writeFiles } from '../../helpers/workspace.js';

const N02 = conformance('dvc-3.67', 'n02-dvc-add-dep');
const read = (root: string, p: string) => readFileSync(path.join(root, p), 'utf8');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
}

function gitRepo(root: string): void {
  git(root, 'init', '-q', '-b', 'master');
  git(root, 'config', 'user.name', 'reprod test');
  git(root, 'config', 'user.email', 'test@reprod.invalid');
  appendExclude(root);
}

function appendExclude(root: string): void {
  writeFileSync(path.join(root, '.git', 'info', 'exclude'), '/status/\n/mlruns/\n');
}

/** n02's workspace before `dvc add data/raw`: its data, dvc.yaml and config, no .dvc file, no cache. */
function n02BeforeAdd(root: string): void {
  copyTree(path.join(N02, 'input'), root);
  rmSync(path.join(root, 'data', 'raw.dvc'));
  rmSync(path.join(root, '.dvc', 'cache'), { recursive: true });
}

const ok = reprodOk;

describe('reprod add', () => {
  it('writes the .dvc file and the cache objects `dvc add data/raw` wrote in n02', async () => {
    using ws = tempDir();
    n02BeforeAdd(ws.path);
    expect(await ok(ws.path, 'add', 'data/raw')).toBe('');
    expect(read(ws.path, 'data/raw.dvc')).toBe(readFileSync(path.join(N02, 'input', 'data', 'raw.dvc'), 'utf8'));
    const recorded = execFileSync('find', ['.', '-type', 'f'], { cwd: path.join(N02, 'input', '.dvc', 'cache'), encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((p) => `${p.slice(2)}\t${statSync(path.join(N02, 'input', '.dvc', 'cache', p)).size}`)
      .sort();
    expect(await cacheListing(ws.path)).toEqual(recorded);
    // no git repository: no .gitignore
    expect(existsSync(path.join(ws.path, 'data', '.gitignore'))).toBe(false);
    // and what was added is a data source the pipeline reads: the recorded first repro follows
    await ok(ws.path, 'repro');
    expect(read(ws.path, 'dvc.lock')).toBe(readFileSync(path.join(N02, 'expected', 'dvc.lock'), 'utf8'));
    expect(await ok(ws.path, 'status', '--json')).toBe('{}\n');
  });

  it('adds files (an executable one says isexec), at the root and in folders, beside the file', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'a.csv': 'x,y\n1,2\n', 'tools/run.sh': '#!/bin/sh\necho hi\n' });
    execFileSync('chmod', ['755', path.join(ws.path, 'tools/run.sh')]);
    await ok(ws.path, 'add', 'a.csv', 'tools/run.sh');
    expect(read(ws.path, 'a.csv.dvc')).toBe(`outs:\n- md5: ${md5Of(ws.path, 'a.csv')}\n  size: 8\n  hash: md5\n  path: a.csv\n`);
    expect(read(ws.path, 'tools/run.sh.dvc')).toBe(`outs:\n- md5: ${md5Of(ws.path, 'tools/run.sh')}\n  size: 18\n  isexec: true\n  hash: md5\n  path: run.sh\n`);
    expect(existsSync(path.join(ws.path, '.dvc', 'cache', 'files', 'md5', md5Of(ws.path, 'a.csv').slice(0, 2), md5Of(ws.path, 'a.csv').slice(2)))).toBe(true);
    expect(await ok(ws.path, 'status', '--json')).toBe('{}\n');
  });

  it('links the workspace to the cache as cache.type says', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'data/big.bin': 'payload\n', '.dvc/config': '[cache]\n    type = hardlink\n' });
    await ok(ws.path, 'add', 'data/big.bin');
    const sum = md5Of(ws.path, 'data/big.bin');
    const object = path.join(ws.path, '.dvc', 'cache', 'files', 'md5', sum.slice(0, 2), sum.slice(2));
    expect(statSync(path.join(ws.path, 'data/big.bin')).ino).toBe(statSync(object).ino);
  });

  it('in a git repository, git-ignores the path as DVC does and says what to git add', async () => {
    using ws = tempDir();
    gitRepo(ws.path);
    n02BeforeAdd(ws.path);
    writeFileSync(path.join(ws.path, 'data', '.gitignore'), '/other');
    const out = await ok(ws.path, 'add', 'data/raw');
    expect(out).toBe('\nTo track the changes with git, run:\n\n\tgit add data/.gitignore data/raw.dvc\n');
    // appended on a line of its own
    expect(read(ws.path, 'data/.gitignore')).toBe('/other\n/raw\n');
    git(ws.path, 'add', '-A');
    const files = git(ws.path, 'ls-files').split('\n');
    expect(files).toContain('data/raw.dvc');
    expect(files.filter((f) => f.startsWith('data/raw/'))).toEqual([]);
    // adding it again changes nothing and writes no second entry
    await ok(ws.path, 'add', 'data/raw');
    expect(read(ws.path, 'data/.gitignore')).toBe('/other\n/raw\n');
  });

  it('in a sub-folder, takes paths from there, writes each .dvc file beside its data and names what to git add from there', async () => {
    using ws = tempDir();
    using remote = tempDir('reprod-remote-');
    gitRepo(ws.path);
    writeFiles(ws.path, { '.dvc/config': '', 'sub/raw/a.txt': 'a\n', 'sub/deeper/b.txt': 'b\n', 'top.csv': 'x\n' });
    const sub = path.join(ws.path, 'sub');
    expect(await ok(sub, 'add', 'raw')).toBe('\nTo track the changes with git, run:\n\n\tgit add .gitignore raw.dvc\n');
    expect(read(ws.path, 'sub/raw.dvc')).toMatch(/\n  path: raw\n$/);
    expect(read(ws.path, 'sub/.gitignore')).toBe('/raw\n');
    expect(await ok(sub, 'add', '../top.csv', 'deeper/b.txt')).toBe('\nTo track the changes with git, run:\n\n\tgit add ../.gitignore ../top.csv.dvc deeper/.gitignore deeper/b.txt.dvc\n');
    expect(read(ws.path, 'top.csv.dvc')).toBe(`outs:\n- md5: ${md5Of(ws.path, 'top.csv')}\n  size: 2\n  hash: md5\n  path: top.csv\n`);
    expect(read(ws.path, 'sub/deeper/b.txt.dvc')).toMatch(/\n  path: b\.txt\n$/);
    const outside = await reprod(sub, 'add', '../../elsewhere.txt');
    expect(outside.code).not.toBe(0);
    expect(outside.stderr).toMatch(/outside of DVC project: \.\.\/\.\.\/elsewhere\.txt/);

    // a .dvc file as a target of the data commands, from the same folder
    await ok(sub, 'remote', 'add', '-d', 'store', remote.path);
    expect(await ok(sub, 'push', 'deeper/b.txt.dvc')).toBe('1 file pushed\n');
    const cloud = JSON.parse(await ok(sub, 'status', '-c', '--json')) as Record<string, string>;
    expect(cloud['../top.csv']).toBe('new');
    expect(cloud['deeper/b.txt']).toBeUndefined();
    rmSync(path.join(sub, 'deeper/b.txt'));
    expect(await ok(sub, 'checkout', 'deeper/b.txt.dvc')).toBe('A\tdeeper/b.txt\n');
    expect(read(ws.path, 'sub/deeper/b.txt')).toBe('b\n');
  });

  it("refuses what DVC refuses, naming the path, and writes nothing", async () => {
    using ws = tempDir();
    gitRepo(ws.path);
    writeFiles(ws.path, {
      'dvc.yaml': 'stages:\n  make:\n    cmd: mkdir -p out && echo x > out/x.txt && echo y > y.txt\n    outs: [out, y.txt]\n',
      'tracked.txt': 'in git\n',
      'free.txt': 'free\n',
      'clash.txt': 'clash\n',
      'clash.txt.dvc': 'outs:\n- md5: 55ef7578b917b32028f18767310eac72\n  size: 13\n  hash: md5\n  path: elsewhere.txt\n',
    });
    git(ws.path, 'add', 'tracked.txt');
    await ok(ws.path, 'repro');
    const before = await workspaceFiles(ws.path);
    const cases: [string[], RegExp][] = [
      [['y.txt'], /cannot update 'y\.txt': overlaps with an output of stage: 'make' in 'dvc\.yaml'/],
      [['out/x.txt'], /cannot update 'out\/x\.txt': overlaps with an output of stage: 'make'/],
      [['.'], /Cached output\(s\) outside of DVC project: \./],
      [['../elsewhere'], /Cached output\(s\) outside of DVC project: \.\.\/elsewhere/],
      [['.dvc/config'], /Path '\.dvc\/config' is ignored by DVC: it is inside \.dvc/],
      [['.git/HEAD'], /Path '\.git\/HEAD' is ignored by DVC: it is inside \.git/],
      [['dvc.yaml'], /DVC file 'dvc\.yaml' cannot be an output/],
      [['missing.txt'], /output 'missing\.txt' does not exist/],
      [['tracked.txt'], /output 'tracked\.txt' is already tracked by SCM/],
      [['clash.txt'], /'clash\.txt\.dvc' already exists and does not track 'clash\.txt'/],
      // checked before anything is written: the good target is not added either
      [['free.txt', 'y.txt'], /overlaps with an output of stage: 'make'/],
    ];
    for (const [args, message] of cases) {
      const r = await reprod(ws.path, 'add', ...args);
      // DVC's refusals exit non-zero (usage errors 2, a missing path 1)
      expect(r.code, args.join(' ')).toBe(args.includes('missing.txt') ? 1 : 2);
      expect(r.stderr).toMatch(message);
    }
    mkdirSync(path.join(ws.path, 'data'));
    writeFiles(ws.path, { 'data/raw/a.txt': 'a\n' });
    await ok(ws.path, 'add', 'data/raw');
    const parent = await reprod(ws.path, 'add', 'data');
    expect(parent.code).toBe(2);
    expect(parent.stderr).toMatch(/Cannot add 'data', because it is overlapping with other DVC tracked output: 'data\/raw'/);
    rmSync(path.join(ws.path, 'data'), { recursive: true });
    expect((await workspaceFiles(ws.path)).filter((l) => !l.endsWith('\t.gitignore'))).toEqual(before.filter((l) => !l.endsWith('\t.gitignore')));
    expect(existsSync(path.join(ws.path, 'free.txt.dvc'))).toBe(false);
  });
});

describe('data sources at a git revision', () => {
  it('metrics diff reads HEAD\'s copy of an added metrics file from the cache, through HEAD\'s .dvc file', async () => {
    using ws = tempDir();
    gitRepo(ws.path);
    writeFiles(ws.path, { 'dvc.yaml': 'metrics:\n  - m.json\n', 'm.json': '{"n": 1}\n', '.dvc/config': '' });
    await ok(ws.path, 'add', 'm.json');
    git(ws.path, 'add', '-A');
    git(ws.path, 'commit', '-q', '-m', 'v1');
    // git holds m.json.dvc, not m.json: HEAD's value comes from the cache
    expect(git(ws.path, 'ls-files').split('\n')).not.toContain('m.json');
    writeFileSync(path.join(ws.path, 'm.json'), '{"n": 3}\n');
    await ok(ws.path, 'add', 'm.json');
    expect(await ok(ws.path, 'metrics', 'diff', '--json')).toBe('{"m.json": {"n": {"old": 1, "new": 3, "diff": 2}}}\n');
  });
});

describe('reprod remove X.dvc', () => {
  it('deletes the .dvc file and its .gitignore entry; the data stays, unlinked from the cache, unless --outs', async () => {
    using ws = tempDir();
    gitRepo(ws.path);
    writeFiles(ws.path, { 'data/a.txt': 'a\n', 'data/b.txt': 'b\n', '.dvc/config': '[cache]\n    type = hardlink\n' });
    await ok(ws.path, 'add', 'data/a.txt', 'data/b.txt');
    expect(read(ws.path, 'data/.gitignore')).toBe('/a.txt\n/b.txt\n');
    expect(statSync(path.join(ws.path, 'data/a.txt')).nlink).toBe(2);
    const missing = await reprod(ws.path, 'remove', 'data/c.txt.dvc', 'data/a.txt.dvc');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/'data\/c\.txt\.dvc' does not exist/);
    expect(existsSync(path.join(ws.path, 'data/a.txt.dvc'))).toBe(true);
    await ok(ws.path, 'remove', 'data/a.txt.dvc');
    expect(existsSync(path.join(ws.path, 'data/a.txt.dvc'))).toBe(false);
    expect(read(ws.path, 'data/.gitignore')).toBe('/b.txt\n');
    // a plain file again: editing it cannot change the cache
    expect(statSync(path.join(ws.path, 'data/a.txt')).nlink).toBe(1);
    expect(read(ws.path, 'data/a.txt')).toBe('a\n');
    await ok(ws.path, 'remove', '--outs', 'data/b.txt.dvc');
    expect(existsSync(path.join(ws.path, 'data/b.txt'))).toBe(false);
    expect(existsSync(path.join(ws.path, 'data/.gitignore'))).toBe(false);
  });
});

function md5Of(root: string, p: string): string {
  return execFileSync('md5sum', [path.join(root, p)], { encoding: 'utf8' }).split(' ')[0] as string;
}

describe('data sources in status, repro, commit, checkout, push, pull and gc', () => {
  it('status says modified, deleted and not in cache, as DVC words them', async () => {
    using ws = tempDir();
    copyTree(path.join(N02, 'input'), ws.path);
    await ok(ws.path, 'repro');
    writeFileSync(path.join(ws.path, 'data/raw/a.txt'), 'changed\n');
    expect(await ok(ws.path, 'status', '--json')).toBe('{"count": [{"changed deps": {"data/raw": "modified"}}], "data/raw.dvc": [{"changed outs": {"data/raw": "modified"}}]}\n');
    expect(await ok(ws.path, 'status')).toBe('count:\n    dep modified: data/raw\ndata/raw.dvc:\n    out modified: data/raw\n');
    // a .dvc file (or the path it tracks) as a target: only it
    expect(await ok(ws.path, 'status', '--json', 'data/raw.dvc')).toBe('{"data/raw.dvc": [{"changed outs": {"data/raw": "modified"}}]}\n');
    expect(await ok(ws.path, 'status', '--json', 'data/raw')).toBe('{"data/raw.dvc": [{"changed outs": {"data/raw": "modified"}}]}\n');
    expect((await reprod(ws.path, 'status', '-q', 'data/raw.dvc')).code).toBe(1);
    rmSync(path.join(ws.path, 'data/raw'), { recursive: true });
    expect(await ok(ws.path, 'status', '--json', 'data/raw.dvc')).toBe('{"data/raw.dvc": [{"changed outs": {"data/raw": "deleted"}}]}\n');
    await ok(ws.path, 'checkout', 'data/raw.dvc');
    // an object of the listing gone from the cache: "not in cache", said before the workspace is looked at
    rmSync(path.join(ws.path, '.dvc/cache/files/md5/5c/9597f3c8245907ea71a89d9d39d08e'));
    expect(await ok(ws.path, 'status', '--json', 'data/raw.dvc')).toBe('{"data/raw.dvc": [{"changed outs": {"data/raw": "not in cache"}}]}\n');
  });

  it('a .dvc output under a symlink that leaves the workspace is refused: nothing read or written there', async () => {
    using ws = tempDir();
    using outside = tempDir('reprod-outside-');
    writeFiles(outside.path, { 'data/s.txt': 'secret\n' });
    symlinkSync(outside.path, path.join(ws.path, 'link'));
    writeFiles(ws.path, {
      'x.dvc': 'outs:\n- md5: 55ef7578b917b32028f18767310eac72\n  size: 1\n  hash: md5\n  path: link/data\n',
      'dvc.yaml': 'stages:\n  use:\n    cmd: cat link/data/s.txt > copy.txt\n    deps: [link/data]\n    outs: [copy.txt]\n',
    });
    for (const args of [['status', '--json'], ['commit'], ['repro', 'x.dvc'], ['repro']]) {
      const r = await reprod(ws.path, ...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/x\.dvc: 'x\.dvc': output 'link\/data' lies under 'link', a symlink to .* \(outside the workspace\)/);
    }
    expect(read(ws.path, 'x.dvc')).toContain('md5: 55ef7578b917b32028f18767310eac72\n');
    expect(readdirSync(path.join(outside.path, 'data'))).toEqual(['s.txt']);
    expect(existsSync(path.join(ws.path, 'copy.txt'))).toBe(false);
    // not hashed: the hash state cache never saw the file outside
    const state = path.join(ws.path, '.dvc', 'tmp', 'reprod', 'state.tsv');
    if (existsSync(state)) expect(readFileSync(state, 'utf8')).not.toContain('s.txt');
  });

  it('status of a workspace with .dvc files and no dvc.yaml lists them', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'x.txt': 'x\n' });
    await ok(ws.path, 'add', 'x.txt');
    expect(await ok(ws.path, 'status')).toBe('Data and pipelines are up to date.\n');
    writeFileSync(path.join(ws.path, 'x.txt'), 'y\n');
    expect(await ok(ws.path, 'status', '--json')).toBe('{"x.txt.dvc": [{"changed outs": {"x.txt": "modified"}}]}\n');
    expect(await ok(ws.path, 'commit')).toBe("Committed stage 'x.txt.dvc'\n");
    expect(await ok(ws.path, 'status', '--json')).toBe('{}\n');
    expect(read(ws.path, 'x.txt.dvc')).toContain(`md5: ${md5Of(ws.path, 'x.txt')}\n`);
  });

  it('repro records a changed source first, refuses a missing one, and verifies a named .dvc alone', async () => {
    using ws = tempDir();
    copyTree(path.join(N02, 'input'), ws.path);
    await ok(ws.path, 'repro');
    writeFileSync(path.join(ws.path, 'data/raw/d.txt'), 'ddd\n');
    const dry = await ok(ws.path, 'repro', '--dry');
    expect(dry).toMatch(/^Would verify data sources in stage: 'data\/raw\.dvc': out modified: data\/raw$/m);
    expect(read(ws.path, 'data/raw.dvc')).toBe(readFileSync(path.join(N02, 'input', 'data', 'raw.dvc'), 'utf8'));
    // named alone, the source is verified and no stage runs
    const alone = await ok(ws.path, 'repro', 'data/raw.dvc');
    expect(alone).toBe("Verifying data sources in stage: 'data/raw.dvc'\n");
    expect(read(ws.path, 'data/raw.dvc')).toContain('nfiles: 4\n');
    expect(await ok(ws.path, 'status', '--json')).toBe('{"count": [{"changed deps": {"data/raw": "modified"}}]}\n');
    await ok(ws.path, 'repro');
    const lock = read(ws.path, 'dvc.lock');
    const dvcFile = read(ws.path, 'data/raw.dvc');
    rmSync(path.join(ws.path, 'data/raw'), { recursive: true });
    const missing = await reprod(ws.path, 'repro');
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("Verifying data sources in stage: 'data/raw.dvc'\n");
    expect(missing.stderr).toMatch(/failed to reproduce 'data\/raw\.dvc': missing data 'source': data\/raw/);
    // nothing recorded, nothing ran
    expect(read(ws.path, 'dvc.lock')).toBe(lock);
    expect(read(ws.path, 'data/raw.dvc')).toBe(dvcFile);
    expect(readLines(path.join(ws.path, 'listing.txt'))).toEqual(['a.txt', 'b.txt', 'd.txt', 'sub']);
  });

  it('repro -f verifies an unchanged source; a frozen one is still recorded; --downstream from a .dvc file runs its readers', async () => {
    using ws = tempDir();
    copyTree(path.join(N02, 'input'), ws.path);
    await ok(ws.path, 'repro');
    const forced = await ok(ws.path, 'repro', '-f');
    expect(forced).toMatch(/^Verifying data sources in stage: 'data\/raw\.dvc'$/m);
    expect(forced).toMatch(/^Running stage 'count' \(forced\)/m);
    // unchanged data: the file keeps its bytes
    expect(read(ws.path, 'data/raw.dvc')).toBe(readFileSync(path.join(N02, 'input', 'data', 'raw.dvc'), 'utf8'));
    writeFileSync(path.join(ws.path, 'data/raw.dvc'), `frozen: true\n${read(ws.path, 'data/raw.dvc')}`);
    writeFileSync(path.join(ws.path, 'data/raw/b.txt'), 'BBB\n');
    expect(await ok(ws.path, 'status', '--json')).toBe('{"count": [{"changed deps": {"data/raw": "modified"}}], "data/raw.dvc": [{"changed outs": {"data/raw": "modified"}}]}\n');
    const down = await ok(ws.path, 'repro', '--downstream', 'data/raw.dvc');
    expect(down).toMatch(/^Verifying outputs in frozen stage: 'data\/raw\.dvc'\nRunning stage 'count'/m);
    expect(read(ws.path, 'data/raw.dvc')).toMatch(/^frozen: true\nouts:\n- md5: [0-9a-f]{32}\.dir\n  size: 12\n  nfiles: 3\n  hash: md5\n  path: raw\n$/);
    expect(read(ws.path, 'all.txt')).toBe('aaa\nBBB\n');
    expect(await ok(ws.path, 'status', '--json')).toBe('{}\n');
  });

  it('commit records a changed source; checkout restores it; push and pull move its objects; gc keeps them', async () => {
    using ws = tempDir();
    using remote = tempDir('reprod-remote-');
    copyTree(path.join(N02, 'input'), ws.path);
    await ok(ws.path, 'repro');
    writeFileSync(path.join(ws.path, 'data/raw/a.txt'), 'edited by hand\n');
    expect(await ok(ws.path, 'commit', 'data/raw.dvc')).toBe("Committed stage 'data/raw.dvc'\n");
    const dvcFile = read(ws.path, 'data/raw.dvc');
    expect(dvcFile).not.toBe(readFileSync(path.join(N02, 'input', 'data', 'raw.dvc'), 'utf8'));
    expect(await ok(ws.path, 'commit')).toBe("Committed stage 'count'\n");
    expect(await ok(ws.path, 'status', '--json')).toBe('{}\n');
    const files = await workspaceFiles(ws.path);
    rmSync(path.join(ws.path, 'data/raw'), { recursive: true });
    expect(await ok(ws.path, 'checkout')).toBe('A\tdata/raw/\n');
    expect(await workspaceFiles(ws.path)).toEqual(files);
    // gc: the source's old listing is no longer used, its new one is
    const gc = await ok(ws.path, 'gc');
    const key = (oid: string) => `files/md5/${oid.slice(0, 2)}/${oid.slice(2)}`;
    const current = /md5: (\w+\.dir)/.exec(dvcFile)?.[1] as string;
    expect(gc).toContain(key('07526cd625dbb1c572ec0778e63f4545.dir'));
    expect(gc).not.toContain(key(current));
    await ok(ws.path, 'remote', 'add', '-d', 'store', remote.path);
    await ok(ws.path, 'push');
    rmSync(path.join(ws.path, '.dvc', 'cache'), { recursive: true });
    rmSync(path.join(ws.path, 'data/raw'), { recursive: true });
    expect(await ok(ws.path, 'pull', 'data/raw.dvc')).toMatch(/^A\tdata\/raw\/$/m);
    expect(await workspaceFiles(ws.path)).toEqual(files);
    // repro --pull: a source that is only missing comes from the remote, as DVC pulls it, and nothing reruns
    rmSync(path.join(ws.path, '.dvc', 'cache'), { recursive: true });
    rmSync(path.join(ws.path, 'data/raw'), { recursive: true });
    const pulled = await ok(ws.path, '--runtime', 'host', 'repro', '--pull');
    expect(pulled).toMatch(/^Pulling data for stage: 'data\/raw\.dvc'\n/);
    expect(pulled).not.toMatch(/Verifying data sources/);
    expect(await workspaceFiles(ws.path)).toEqual(files);
  });
});
