/**
 * reprod's repro and status on real files, beyond the recorded
 * DVC cases: wdir, persist, metrics, frozen, always_changed, targets, failures
 * and bad input. Expected hashes are computed here independently (md5 of the
 * bytes the commands write).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLockfile } from '../../../src/lock/lockfile.js';
import { reprod, tempDir, workspaceFiles } from '../../helpers/workspace.js';

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');

function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
}

const read = (root: string, p: string) => readFileSync(path.join(root, p), 'utf8');

function lockOf(root: string) {
  return parseLockfile(read(root, 'dvc.lock'));
}

describe('repro', () => {
  it('runs a stage in its wdir and locks paths relative to it', async () => {
    using ws = tempDir();
    write(ws.path, {
      'sub/in.txt': 'hello\n',
      'dvc.yaml': 'stages:\n  up:\n    wdir: sub\n    cmd: tr a-z A-Z < in.txt > out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n',
    });
    const res = await reprod(ws.path, 'repro');
    expect(res.code, res.stderr).toBe(0);
    expect(read(ws.path, 'sub/out.txt')).toBe('HELLO\n');
    const entry = lockOf(ws.path).stages.get('up');
    expect(entry?.deps).toEqual([{ path: 'in.txt', hash: 'md5', md5: md5('hello\n'), size: 6 }]);
    expect(entry?.outs).toEqual([{ path: 'out.txt', hash: 'md5', md5: md5('HELLO\n'), size: 6 }]);
    expect(existsSync(path.join(ws.path, '.dvc/cache/files/md5', md5('HELLO\n').slice(0, 2), md5('HELLO\n').slice(2)))).toBe(true);
  });

  it('keeps persist outputs, and caches metrics with cache: false through the run-cache as DVC does', async () => {
    using ws = tempDir();
    write(ws.path, {
      'in.txt': 'x\n',
      'dvc.yaml':
        'stages:\n  s:\n    cmd: "cat in.txt >> log.txt && echo \'{\\"acc\\": 0.5}\' > m.json"\n    deps: [in.txt]\n' +
        '    outs:\n      - log.txt:\n          persist: true\n    metrics:\n      - m.json:\n          cache: false\n',
    });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    write(ws.path, { 'in.txt': 'y\n' });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    expect(read(ws.path, 'log.txt')).toBe('x\ny\n');
    // persist disables the run-cache, so the uncached metric stays out of the cache
    const objects = readdirSync(path.join(ws.path, '.dvc/cache/files/md5'), { recursive: true }).filter((f) => String(f).length > 3);
    expect(objects.map(String).some((f) => f.replace('/', '') === md5('{"acc": 0.5}\n'))).toBe(false);
  });

  it('a metric with cache: false is cached with the run-cache entry when nothing else prevents it', async () => {
    using ws = tempDir();
    write(ws.path, {
      'in.txt': 'x\n',
      'dvc.yaml': 'stages:\n  s:\n    cmd: "echo \'{\\"acc\\": 1}\' > m.json"\n    deps: [in.txt]\n    metrics:\n      - m.json:\n          cache: false\n',
    });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    const h = md5('{"acc": 1}\n');
    expect(existsSync(path.join(ws.path, '.dvc/cache/files/md5', h.slice(0, 2), h.slice(2)))).toBe(true);
    expect(existsSync(path.join(ws.path, '.dvc/cache/runs'))).toBe(true);
  });

  it('never runs a frozen stage; always reruns an always_changed one', async () => {
    using ws = tempDir();
    write(ws.path, {
      'in.txt': '1\n',
      'dvc.yaml':
        'stages:\n  a:\n    cmd: cp in.txt a.txt\n    deps: [in.txt]\n    outs: [a.txt]\n' +
        '  b:\n    cmd: date +%s%N > b.txt\n    always_changed: true\n    outs: [b.txt]\n',
    });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    const b1 = read(ws.path, 'b.txt');
    write(ws.path, { 'in.txt': '2\n', 'dvc.yaml': read(ws.path, 'dvc.yaml').replace('  a:\n', '  a:\n    frozen: true\n') });
    const res = await reprod(ws.path, 'repro');
    expect(res.stdout).toMatch(/Stage 'a' is frozen/);
    expect(res.stdout).toMatch(/Running stage 'b' \(always changed\)/);
    expect(read(ws.path, 'a.txt')).toBe('1\n');
    expect(read(ws.path, 'b.txt')).not.toBe(b1);
    const st = await reprod(ws.path, 'status', '--json');
    expect(JSON.parse(st.stdout)).toEqual({ b: ['always changed'] });
  });

  it('targets: upstream by default, --downstream, --single-item, --force, --dry', async () => {
    using ws = tempDir();
    write(ws.path, {
      'in.txt': 'v1\n',
      'dvc.yaml':
        'stages:\n  a:\n    cmd: cp in.txt a.txt\n    deps: [in.txt]\n    outs: [a.txt]\n' +
        '  b:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n' +
        '  c:\n    cmd: cp b.txt c.txt\n    deps: [b.txt]\n    outs: [c.txt]\n',
    });
    const ran = (out: string) => [...out.matchAll(/Running stage '([^']+)'/g)].map((m) => m[1]);
    expect(ran((await reprod(ws.path, 'repro', 'b')).stdout)).toEqual(['a', 'b']);
    expect(existsSync(path.join(ws.path, 'c.txt'))).toBe(false);

    const dry = await reprod(ws.path, 'repro', '--dry');
    expect(dry.stdout).toMatch(/Would run stage 'c'/);
    expect(existsSync(path.join(ws.path, 'c.txt'))).toBe(false);

    expect(ran((await reprod(ws.path, 'repro', '--downstream', 'b')).stdout)).toEqual(['c']);
    expect(ran((await reprod(ws.path, 'repro', '--force', '--single-item', 'b')).stdout)).toEqual(['b']);
    expect(ran((await reprod(ws.path, 'repro', '--force', '--no-run-cache', 'c')).stdout)).toEqual(['a', 'b', 'c']);
  });

  it('a failing command: exit 1, its outputs removed (never half-written), dvc.lock unchanged, --keep-going runs other branches', async () => {
    using ws = tempDir();
    write(ws.path, {
      'in.txt': 'ok\n',
      'dvc.yaml':
        'stages:\n  bad:\n    cmd: echo partial > bad.txt && exit 3\n    deps: [in.txt]\n    outs: [bad.txt]\n' +
        '  after:\n    cmd: cp bad.txt after.txt\n    deps: [bad.txt]\n    outs: [after.txt]\n' +
        '  good:\n    cmd: cp in.txt good.txt\n    deps: [in.txt]\n    outs: [good.txt]\n',
    });
    const res = await reprod(ws.path, 'repro', '--keep-going');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/failed to reproduce 'bad': the command failed with exit code 3/);
    expect(res.stdout).toMatch(/Stage 'after' not run: upstream 'bad' failed/);
    expect(existsSync(path.join(ws.path, 'bad.txt'))).toBe(false);
    expect(read(ws.path, 'good.txt')).toBe('ok\n');
    expect([...lockOf(ws.path).stages.keys()]).toEqual(['good']);
  });

  it('an out the command did not write is an error naming it', async () => {
    using ws = tempDir();
    write(ws.path, { 'dvc.yaml': 'stages:\n  s:\n    cmd: "true"\n    outs: [never.txt]\n' });
    const res = await reprod(ws.path, 'repro');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/stage 's' did not produce its output 'never.txt'/);
    expect(existsSync(path.join(ws.path, 'dvc.lock'))).toBe(false);
  });

  it('status names the stage and every reason for humans', async () => {
    using ws = tempDir();
    write(ws.path, {
      'in.txt': '1\n',
      'params.yaml': 'lr: 0.1\n',
      'dvc.yaml': 'stages:\n  s:\n    cmd: cp in.txt o.txt\n    deps: [in.txt]\n    params: [lr]\n    outs: [o.txt]\n',
    });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    write(ws.path, { 'in.txt': '2\n', 'params.yaml': 'lr: 0.2\n' });
    const st = await reprod(ws.path, 'status');
    expect(st.stdout).toBe('s:\n    dep modified: in.txt\n    param modified: params.yaml:lr\n');
  });
});

describe('commit and status -q (outputs produced outside reprod, e.g. by Airflow tasks)', () => {
  it('commit records what the commands wrote by hand; status -q exits 1 while stale, 0 after', async () => {
    using ws = tempDir();
    write(ws.path, {
      'in.txt': 'a\n',
      'dvc.yaml': 'stages:\n  s:\n    cmd: cp in.txt o.txt\n    deps: [in.txt]\n    outs: [o.txt]\n',
    });
    expect((await reprod(ws.path, 'status', '-q')).code).toBe(1);
    write(ws.path, { 'o.txt': 'a\n' });
    const res = await reprod(ws.path, 'commit');
    expect(res.stdout).toBe("Committed stage 's'\n");
    expect(lockOf(ws.path).stages.get('s')?.outs[0]?.md5).toBe(md5('a\n'));
    const q = await reprod(ws.path, 'status', '-q');
    expect([q.code, q.stdout]).toEqual([0, '']);
    expect((await reprod(ws.path, 'repro')).stdout).toMatch(/Stage 's' didn't change/);
  });
});

describe('bad input: one clear message (file, key, line), non-zero exit, nothing deleted', () => {
  const base =
    'stages:\n  a:\n    cmd: cp in.txt a.txt\n    deps: [in.txt]\n    outs: [a.txt]\n' +
    '  b:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n';

  async function afterBreaking(dvcYaml: string, extra: Record<string, string> = {}) {
    const ws = tempDir();
    write(ws.path, { 'in.txt': 'x\n', 'dvc.yaml': base });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    const before = await workspaceFiles(ws.path);
    const lockBefore = read(ws.path, 'dvc.lock');
    write(ws.path, { 'dvc.yaml': dvcYaml, ...extra });
    const res = await reprod(ws.path, 'repro');
    const changed = ['dvc.yaml', ...Object.keys(extra)];
    const keep = (l: string) => !changed.some((k) => l.endsWith(`\t${k}`));
    expect((await workspaceFiles(ws.path)).filter(keep)).toEqual(before.filter(keep));
    expect(read(ws.path, 'dvc.lock')).toBe(lockBefore);
    ws[Symbol.dispose]();
    return res;
  }

  it('YAML syntax error', async () => {
    const res = await afterBreaking(base.replace('deps: [a.txt]', 'deps: [a.txt'));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^ERROR: dvc\.yaml:\d+(:\d+)?: invalid YAML/m);
  });

  it('unknown key', async () => {
    const res = await afterBreaking(base.replace('    outs: [b.txt]\n', '    outs: [b.txt]\n    outz: [c]\n'));
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("dvc.yaml:10: stages.b: unknown key 'outz'");
  });

  it('missing dependency', async () => {
    const res = await afterBreaking(base.replace('deps: [in.txt]', 'deps: [in.txt, nowhere.txt]'));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/dvc\.yaml:2: stages\.a: stage 'a': dependency 'nowhere.txt' does not exist/);
  });

  it('cycle', async () => {
    const res = await afterBreaking(base.replace('deps: [in.txt]', 'deps: [in.txt, b.txt]'));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/dvc\.yaml:2: stages\.a: the pipeline has a cycle: a -> b -> a/);
  });

  it('overlapping output', async () => {
    const res = await afterBreaking(base.replace('outs: [b.txt]', 'outs: [b.txt, a.txt/inner]'));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/dvc\.yaml:6: stages\.b\.outs: the output paths 'a.txt' \(stage 'a'\) and 'a.txt\/inner' \(stage 'b'\) overlap/);
  });

  it('a path leaving the workspace', async () => {
    const res = await afterBreaking(base.replace('deps: [in.txt]', 'deps: [../in.txt]'));
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/dvc\.yaml:4/);
  });

  it('a params key that does not exist', async () => {
    const res = await afterBreaking(base.replace('deps: [in.txt]', 'deps: [in.txt]\n    params: [lr]'), { 'params.yaml': 'other: 1\n' });
    // a missing input: exit 1, and the line of dvc.yaml that lists the key
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/dvc\.yaml:\d+: stages\.a\.params\[0\]: stage 'a': parameter 'lr' is missing from 'params.yaml'/);
  });
});

describe('status', () => {
  it('the mtime of a file in a tracked folder changes nothing; a mode change neither', async () => {
    using ws = tempDir();
    write(ws.path, { 'd/a.txt': 'a', 'dvc.yaml': 'stages:\n  s:\n    cmd: ls d > l.txt\n    deps: [d]\n    outs: [l.txt]\n' });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    const t = statSync(path.join(ws.path, 'd/a.txt')).mtime;
    writeFileSync(path.join(ws.path, 'd/a.txt'), 'a');
    expect(statSync(path.join(ws.path, 'd/a.txt')).mtime >= t).toBe(true);
    expect((await reprod(ws.path, 'status', '--json')).stdout).toBe('{}\n');
  });
});
