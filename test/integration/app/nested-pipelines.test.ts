/**
 * A workspace with a dvc.yaml in a sub-folder, on real files: each file gets
 * its own dvc.lock with paths relative to its folder, stages are addressed
 * as `sub/dvc.yaml:stage`, the DAG crosses files both ways, and commands
 * started inside `sub/` find the workspace root, take targets from there
 * (stages, `.dvc` files and paths, the data commands too) and print stages
 * and paths from there.
 * Expected hashes are computed here (md5 of the bytes the commands write).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseLockfile } from '../../../src/lock/lockfile.js';
import { reprod, tempDir, writeFiles } from '../../helpers/workspace.js';

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const read = (root: string, p: string) => readFileSync(path.join(root, p), 'utf8');

/**
 *   data/in.txt ─► top ─► top.txt ─► sub/dvc.yaml:usetop ─► sub/both.txt
 *   sub/sin.txt ─► sub/dvc.yaml:inner ─► sub/inner.txt ─► report ─► report.txt
 *                                          top.txt ───────┘
 */
const WORKSPACE = {
  '.dvc/config': '[core]\n    no_scm = True\n',
  'data/in.txt': 'alpha\nbeta\n',
  'params.yaml': 'n: 99\n',
  'dvc.yaml': [
    'stages:',
    '  top:',
    '    cmd: tr a-z A-Z < data/in.txt > top.txt',
    '    deps: [data/in.txt]',
    '    outs: [top.txt]',
    '  report:',
    '    cmd: cat sub/inner.txt top.txt > report.txt',
    '    deps: [sub/inner.txt, top.txt]',
    '    outs: [report.txt]',
    '',
  ].join('\n'),
  'sub/sin.txt': 'one\ntwo\nthree\n',
  'sub/params.yaml': 'n: 1\n',
  'sub/dvc.yaml': [
    'stages:',
    '  inner:',
    '    cmd: wc -l < sin.txt > inner.txt',
    '    deps: [sin.txt]',
    '    params: [n]',
    '    outs: [inner.txt]',
    '  usetop:',
    '    cmd: cat ../top.txt sin.txt > both.txt',
    '    deps: [../top.txt, sin.txt]',
    '    outs: [both.txt]',
    '',
  ].join('\n'),
};

const ran = (stdout: string) => [...stdout.matchAll(/^Running stage '([^']+)'/gm)].map((m) => m[1]);

describe('nested dvc.yaml files', () => {
  it('repro in sub/ runs that folder’s pipeline with its upstream, and writes sub/dvc.lock relative to sub/', async () => {
    using ws = tempDir();
    writeFiles(ws.path, WORKSPACE);
    const res = await reprod(path.join(ws.path, 'sub'), 'repro', '--runtime', 'host');
    expect(res.code, res.stderr).toBe(0);
    // DVC's order: a post-order walk of the stages in index order (the root file's first); named from sub/
    expect(ran(res.stdout)).toEqual(['../dvc.yaml:top', 'inner', 'usetop']);
    expect(res.stdout).toContain("Running stage 'usetop' (dep modified: ../top.txt; dep modified: sin.txt; out deleted: both.txt):\n> cat ../top.txt sin.txt > both.txt\n");
    // run in sub/, reading ../top.txt (inside the workspace, so accepted)
    expect(read(ws.path, 'sub/both.txt')).toBe('ALPHA\nBETA\none\ntwo\nthree\n');
    expect(existsSync(path.join(ws.path, 'report.txt'))).toBe(false);

    const sub = parseLockfile(read(ws.path, 'sub/dvc.lock'));
    expect([...sub.stages.keys()]).toEqual(['inner', 'usetop']);
    expect(sub.stages.get('usetop')?.deps).toEqual([
      { path: '../top.txt', hash: 'md5', md5: md5('ALPHA\nBETA\n'), size: 11 },
      { path: 'sin.txt', hash: 'md5', md5: md5('one\ntwo\nthree\n'), size: 14 },
    ]);
    expect(sub.stages.get('usetop')?.outs).toEqual([{ path: 'both.txt', hash: 'md5', md5: md5('ALPHA\nBETA\none\ntwo\nthree\n'), size: 25 }]);
    // the params.yaml beside sub/dvc.yaml, not the root's
    expect(sub.stages.get('inner')?.params.get('params.yaml')).toEqual(new Map([['n', 1]]));
    const root = parseLockfile(read(ws.path, 'dvc.lock'));
    expect([...root.stages.keys()]).toEqual(['top']);

    // status from the root covers every file; only the root's report is left
    const status = await reprod(ws.path, 'status', '--json');
    expect(status.stdout).toBe('{"report": [{"changed deps": {"sub/inner.txt": "modified", "top.txt": "modified"}}, {"changed outs": {"report.txt": "deleted"}}]}\n');
    // repro at the root takes the root's dvc.yaml: report, upstream of it only skipped
    const again = await reprod(ws.path, 'repro', '--runtime', 'host');
    expect(again.code, again.stderr).toBe(0);
    expect(ran(again.stdout)).toEqual(['report']);
    expect(read(ws.path, 'report.txt')).toBe('3\nALPHA\nBETA\n');
    expect((await reprod(ws.path, 'status', '--json')).stdout).toBe('{}\n');
  });

  it('status names nested stages by address and takes targets from sub/; -P reaches the root’s report from a change in sub/', async () => {
    using ws = tempDir();
    writeFiles(ws.path, WORKSPACE);
    expect((await reprod(ws.path, 'repro', '-P', '--runtime', 'host')).code).toBe(0);
    writeFileSync(path.join(ws.path, 'sub/params.yaml'), 'n: 2\n');
    const status = await reprod(ws.path, 'status', '--json');
    expect(status.stdout).toBe('{"sub/dvc.yaml:inner": [{"changed deps": {"sub/params.yaml": {"n": "modified"}}}]}\n');
    // the root's params.yaml is not sub's: changing it changes nothing
    writeFileSync(path.join(ws.path, 'params.yaml'), 'n: 100\n');
    expect((await reprod(ws.path, 'status', '--json')).stdout).toBe(status.stdout);
    // targets: an address from the root, a bare name from sub/, a file
    expect((await reprod(ws.path, 'status', 'sub/dvc.yaml:inner')).stdout).toContain('sub/dvc.yaml:inner');
    // in sub/, DVC names stages and paths from there
    expect((await reprod(path.join(ws.path, 'sub'), 'status', '--json', 'inner')).stdout).toBe('{"inner": [{"changed deps": {"params.yaml": {"n": "modified"}}}]}\n');
    expect((await reprod(path.join(ws.path, 'sub'), 'status', '--json', '../dvc.yaml')).stdout).toBe('{}\n');
    const unknown = await reprod(path.join(ws.path, 'sub'), 'status', 'top');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/stage 'sub\/dvc.yaml:top' does not exist/);

    // every pipeline: inner runs; its output is the same, so report downstream of it is not run
    const res = await reprod(ws.path, 'repro', '--all-pipelines', '--runtime', 'host');
    expect(res.code, res.stderr).toBe(0);
    expect(ran(res.stdout)).toEqual(['sub/dvc.yaml:inner']);
    expect((await reprod(ws.path, 'status', '--json')).stdout).toBe('{}\n');
    // a new line in sub/sin.txt: inner and usetop, then the root's report on inner's new output
    writeFileSync(path.join(ws.path, 'sub/sin.txt'), 'one\ntwo\nthree\nfour\n');
    expect(Object.keys(JSON.parse((await reprod(ws.path, 'status', '--json')).stdout) as object)).toEqual(['sub/dvc.yaml:inner', 'sub/dvc.yaml:usetop']);
    const fromSub = await reprod(path.join(ws.path, 'sub'), 'status');
    expect(fromSub.stdout).toBe(['inner:', '    dep modified: sin.txt', 'usetop:', '    dep modified: sin.txt', ''].join('\n'));
    const all = await reprod(ws.path, 'repro', '-P', '--runtime', 'host');
    expect(ran(all.stdout)).toEqual(['sub/dvc.yaml:inner', 'report', 'sub/dvc.yaml:usetop']);
    expect(read(ws.path, 'report.txt')).toBe('4\nALPHA\nBETA\n');
  });

  it('writes status manifests under the address, shows the DAG across files, and commits nested stages', async () => {
    using ws = tempDir();
    writeFiles(ws.path, WORKSPACE);
    expect((await reprod(ws.path, 'repro', '-P', '--runtime', 'host')).code).toBe(0);
    const doc = parse(read(ws.path, 'status/sub/dvc.yaml:usetop.yaml')) as { metadata: { name: string }; spec: { wdir: string; deps: string[] }; status: { phase: string } };
    expect(doc.metadata.name).toBe('sub/dvc.yaml:usetop');
    expect(doc.spec.wdir).toBe('sub');
    expect(doc.spec.deps).toEqual(['top.txt', 'sub/sin.txt']);
    expect(doc.status.phase).toBe('UpToDate');
    const pipeline = parse(read(ws.path, 'status/pipeline.yaml')) as { spec: { stages: string[] } };
    expect(pipeline.spec.stages).toEqual(['top', 'report', 'sub/dvc.yaml:inner', 'sub/dvc.yaml:usetop']);

    expect((await reprod(ws.path, 'validate')).stdout).toBe('dvc.yaml, sub/dvc.yaml: valid (4 stages)\n');
    const dag = await reprod(ws.path, 'dag', '--json');
    const edges = (JSON.parse(dag.stdout) as { edges: { from: string; to: string }[] }).edges.map((e) => `${e.from}>${e.to}`).sort();
    expect(edges).toEqual(['sub/dvc.yaml:inner>report', 'top>report', 'top>sub/dvc.yaml:usetop']);
    // from sub/, named from there; a target there is a stage of sub/dvc.yaml
    expect((await reprod(path.join(ws.path, 'sub'), 'dag', 'usetop')).stdout).toBe('../dvc.yaml:top\nusetop  <- ../dvc.yaml:top\n');
    // every format names them so (DVC relabels its graph by stage.addressing, dvc/commands/dag.py)
    const mermaid = 'flowchart TD\n\tnode1["../dvc.yaml:top"]\n\tnode2["usetop"]\n\tnode1-->node2';
    expect((await reprod(path.join(ws.path, 'sub'), 'dag', '--md', 'usetop')).stdout).toBe(`\`\`\`mermaid\n${mermaid}\n\`\`\`\n`);
    expect((await reprod(path.join(ws.path, 'sub'), 'dag', '--mermaid', 'usetop')).stdout).toBe(`${mermaid}\n`);
    expect((await reprod(path.join(ws.path, 'sub'), 'dag', '--dot', 'dvc.yaml:inner')).stdout).toBe('strict digraph {\n  "inner";\n}\n');
    expect((await reprod(ws.path, 'dag', '--md', 'sub/dvc.yaml:usetop')).stdout).toContain('\tnode1["sub/dvc.yaml:usetop"]\n\tnode2["top"]\n\tnode2-->node1\n');

    // an output rewritten by hand, committed from sub/ by its bare name: sub/dvc.lock takes it
    writeFileSync(path.join(ws.path, 'sub/inner.txt'), '42\n');
    const commit = await reprod(path.join(ws.path, 'sub'), 'commit', 'inner');
    expect(commit.code, commit.stderr).toBe(0);
    const lock = parseLockfile(read(ws.path, 'sub/dvc.lock'));
    expect(lock.stages.get('inner')?.outs[0]?.md5).toBe(md5('42\n'));
    expect(read(ws.path, `.dvc/cache/files/md5/${md5('42\n').slice(0, 2)}/${md5('42\n').slice(2)}`)).toBe('42\n');
  });

  it('freezes and removes nested stages in their own dvc.yaml and dvc.lock', async () => {
    using ws = tempDir();
    writeFiles(ws.path, WORKSPACE);
    expect((await reprod(ws.path, 'repro', '-P', '--runtime', 'host')).code).toBe(0);
    const rootYaml = read(ws.path, 'dvc.yaml');
    const freeze = await reprod(path.join(ws.path, 'sub'), 'freeze', 'inner');
    expect(freeze.code, freeze.stderr).toBe(0);
    expect(read(ws.path, 'sub/dvc.yaml')).toBe(WORKSPACE['sub/dvc.yaml'].replace('    outs: [inner.txt]\n', '    outs: [inner.txt]\n    frozen: true\n'));
    expect(read(ws.path, 'dvc.yaml')).toBe(rootYaml);
    writeFileSync(path.join(ws.path, 'sub/sin.txt'), 'changed\n');
    // frozen: inner is not stale, usetop is
    expect(Object.keys(JSON.parse((await reprod(ws.path, 'status', '--json')).stdout) as object)).toEqual(['sub/dvc.yaml:usetop']);

    const remove = await reprod(ws.path, 'remove', 'sub/dvc.yaml:usetop');
    expect(remove.code, remove.stderr).toBe(0);
    expect(read(ws.path, 'sub/dvc.yaml')).not.toContain('usetop');
    expect([...parseLockfile(read(ws.path, 'sub/dvc.lock')).stages.keys()]).toEqual(['inner']);
    expect([...parseLockfile(read(ws.path, 'dvc.lock')).stages.keys()]).toEqual(['top', 'report']);
    expect(read(ws.path, 'sub/both.txt')).toBe('ALPHA\nBETA\none\ntwo\nthree\n');
  });

  it('checks out, garbage-collects and moves data of nested stages through every dvc.lock', async () => {
    using ws = tempDir();
    using remote = tempDir();
    writeFiles(ws.path, WORKSPACE);
    expect((await reprod(ws.path, 'repro', '-P', '--runtime', 'host')).code).toBe(0);
    rmSync(path.join(ws.path, 'sub/both.txt'));
    const checkout = await reprod(ws.path, 'checkout');
    expect(checkout.stdout).toBe('A\tsub/both.txt\n');
    expect(read(ws.path, 'sub/both.txt')).toBe('ALPHA\nBETA\none\ntwo\nthree\n');
    // top.txt, report.txt, inner.txt, both.txt: all in use, none collected
    expect((await reprod(ws.path, 'gc')).stdout).toContain('all 4 objects are in use');
    expect((await reprod(ws.path, 'remote', 'add', '-d', 'store', remote.path)).code).toBe(0);
    expect((await reprod(ws.path, 'push')).stdout).toContain('4 files pushed');
    rmSync(path.join(ws.path, '.dvc/cache'), { recursive: true });
    rmSync(path.join(ws.path, 'sub/inner.txt'));
    const pull = await reprod(ws.path, 'pull');
    expect(pull.code, pull.stderr).toBe(0);
    expect(read(ws.path, 'sub/inner.txt')).toBe('3\n');
  });

  it('push, fetch, pull, checkout and status -c in sub/ read targets from there and print paths from there, as DVC', async () => {
    using ws = tempDir();
    using remote = tempDir();
    writeFiles(ws.path, WORKSPACE);
    expect((await reprod(ws.path, 'repro', '-P', '--runtime', 'host')).code).toBe(0);
    const sub = path.join(ws.path, 'sub');
    expect((await reprod(sub, 'remote', 'add', '-d', 'store', remote.path)).code).toBe(0);
    const cloud = async (...targets: string[]) => JSON.parse((await reprod(sub, 'status', '-c', '--json', ...targets)).stdout) as Record<string, string>;
    // named from sub/, as DVC's str(out)
    expect(await cloud()).toEqual({ '../top.txt': 'new', '../report.txt': 'new', 'inner.txt': 'new', 'both.txt': 'new' });
    // `inner` in sub/ is sub/dvc.yaml:inner, a path is from sub/, `../` climbs, `dvc.yaml` is sub's own
    expect((await reprod(sub, 'push', 'inner')).stdout).toBe('1 file pushed\n');
    expect(await cloud('inner.txt')).toEqual({});
    expect(await cloud('dvc.yaml')).toEqual({ 'both.txt': 'new' });
    expect((await reprod(sub, 'push', '../top.txt', '../dvc.yaml:report')).stdout).toBe('2 files pushed\n');
    expect(await cloud()).toEqual({ 'both.txt': 'new' });
    expect((await reprod(sub, 'push', 'usetop')).stdout).toBe('1 file pushed\n');
    const unknown = await reprod(sub, 'push', 'top');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/'top' is not a stage, a \.dvc file or a tracked output/);

    rmSync(path.join(ws.path, '.dvc/cache'), { recursive: true });
    rmSync(path.join(sub, 'inner.txt'));
    rmSync(path.join(ws.path, 'top.txt'));
    expect((await reprod(sub, 'fetch', 'inner.txt')).stdout).toBe('1 file fetched\n');
    expect((await reprod(sub, 'checkout', 'inner')).stdout).toBe('A\tinner.txt\n');
    expect(read(ws.path, 'sub/inner.txt')).toBe('3\n');
    expect((await reprod(sub, 'pull', '../top.txt')).stdout).toBe('A\t../top.txt\n1 file fetched and 1 file added\n');
    expect(read(ws.path, 'top.txt')).toBe('ALPHA\nBETA\n');
    // both.txt's object is on the remote only: checkout names it from sub/
    rmSync(path.join(sub, 'both.txt'));
    const missing = await reprod(sub, 'checkout', 'both.txt');
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not in the cache, so not checked out: both\.txt\n/);
    // from the root, the same file by its workspace path
    expect((await reprod(ws.path, 'pull', 'sub/dvc.yaml:usetop')).stdout).toBe('A\tsub/both.txt\n1 file fetched and 1 file added\n');
  });

  it('refuses a dvc.yaml in sub/ whose dep leaves the workspace, naming the file and line', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { ...WORKSPACE, 'sub/deeper/dvc.yaml': 'stages:\n  up:\n    cmd: cat ../../../x\n    deps:\n    - ../../../x\n' });
    const res = await reprod(path.join(ws.path, 'sub'), 'status');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/sub\/deeper\/dvc\.yaml:5/);
    expect(res.stderr).toMatch(/outside the workspace/);
  });
});
