/**
 * What a stage container sees of the workspace, on the real engine: the
 * workspace read-only, its declared outs (files or folders, created by the
 * stage) writable and moved into place after the run, DVC's cache, temporary
 * files and config.local hidden, and everything else the stage wrote dropped.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../../../src/adapters/docker/docker-runtime.js';
import { SANDBOX_DIR } from '../../../../src/adapters/docker/stage-sandbox.js';
import { ReprodError } from '../../../../src/core/errors.js';
import type { OutSpec, Stage } from '../../../../src/core/types.js';
import type { ResolvedRuntime } from '../../../../src/pipeline/stage-runtime.js';
import { busyboxImage, captureLog, engine, quietLogger, reprodContainers, testStage } from '../../../helpers/docker.js';
import { tempDir } from '../../../helpers/workspace.js';

const OWNER = { uid: 1234, gid: 2345 };

let docker: Docker;
let image: string;

beforeAll(async () => {
  docker = await engine();
  image = await busyboxImage(docker);
});

function out(p: string, extra: Partial<OutSpec> = {}): OutSpec {
  return { defPath: p, path: p, kind: 'out', cache: true, persist: false, push: true, ...extra };
}

function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
}

/** A workspace owned by OWNER with the files a DVC project has, secrets included. */
function project(): { path: string } & Disposable {
  const ws = tempDir('reprod-sandbox-');
  write(ws.path, {
    'dvc.yaml': 'stages: {}\n',
    'dvc.lock': 'schema: "2.0"\n',
    'params.yaml': 'a: 1\n',
    'data/in.txt': 'input\n',
    '.git/config': '[core]\n',
    '.dvc/config': "[core]\n    remote = store\n['remote \"store\"']\n    url = s3://bucket/path\n",
    '.dvc/config.local': "['remote \"store\"']\n    secret_access_key = s3cr3t-key\n",
    '.dvc/cache/files/md5/ab/cdef': 'cached\n',
    '.dvc/tmp/lock': '',
  });
  own(ws.path);
  return ws;
}

/** Gives a whole tree to OWNER: the stage runs as OWNER, so only the mounts stop it from writing. */
function own(root: string): void {
  execFileSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, root]);
}

async function run(ws: string, stage: Stage, hide: string[] = []) {
  const resolve = (): ResolvedRuntime => ({ kind: 'container', image: { kind: 'image', name: image }, settings: { network: 'none', env: {} }, reason: 'test' });
  const rt = new DockerRuntime({ docker, workspace: ws, resolve, logger: quietLogger, hide });
  const log = captureLog();
  const signal = new AbortController().signal;
  const res = await rt.run({ stage, prepared: await rt.prepare(stage, signal), workspace: ws, runId: `run-${stage.name}-${process.pid}`, env: {}, log, signal });
  return { res, log };
}

/** `refused <path>` or `wrote <path>` for each attempt to append to the path. */
const tryWrites = (paths: string[]) => paths.map((p) => `(echo x >> ${p}) 2>/dev/null && echo "wrote ${p}" || echo "refused ${p}"`).join('; ');

describe('StageSandbox', () => {
  it('shows the workspace read-only, hides the cache, .dvc/tmp and config.local, and keeps only the declared outs', async () => {
    using ws = project();
    const cmd = [
      tryWrites(['dvc.lock', 'dvc.yaml', 'params.yaml', 'data/in.txt', '.git/config', '.dvc/config', 'stages.txt']),
      '(rm -f data/in.txt) 2>/dev/null; test -f data/in.txt && echo "kept data/in.txt"',
      'echo "config.local: $(wc -c < .dvc/config.local) bytes, cache: $(ls -A .dvc/cache | wc -l) entries, tmp: $(ls -A .dvc/tmp | wc -l) entries"',
      'grep -c remote .dvc/config',
      // a folder out created by the stage, a file out in a folder that did not exist, a file out renamed over from a temporary file
      'mkdir data/features && echo f > data/features/f.csv',
      'mkdir models && echo m > models/model.pkl',
      'echo 0.9 > metrics.json.partial && mv metrics.json.partial metrics.json',
      'echo scratch > data/notes.tmp && echo t > /tmp/t && cat /tmp/t',
    ].join('; ');
    const stage = testStage('view', cmd, { outs: [out('data/features'), out('models/model.pkl'), out('metrics.json', { kind: 'metric', cache: false })] });
    const { res, log } = await run(ws.path, stage);
    expect(res.outcome, log.stderr).toEqual({ kind: 'exited', exitCode: 0 });
    expect(log.stdout.split('\n')).toEqual([
      'refused dvc.lock',
      'refused dvc.yaml',
      'refused params.yaml',
      'refused data/in.txt',
      'refused .git/config',
      'refused .dvc/config',
      // a new file at the root, beside an out: written, then dropped
      'wrote stages.txt',
      'kept data/in.txt',
      'config.local: 0 bytes, cache: 0 entries, tmp: 0 entries',
      '2',
      't',
      '',
    ]);
    expect(readFileSync(`${ws.path}/data/features/f.csv`, 'utf8')).toBe('f\n');
    expect(readFileSync(`${ws.path}/models/model.pkl`, 'utf8')).toBe('m\n');
    expect(readFileSync(`${ws.path}/metrics.json`, 'utf8')).toBe('0.9\n');
    expect(readFileSync(`${ws.path}/dvc.lock`, 'utf8')).toBe('schema: "2.0"\n');
    expect(readFileSync(`${ws.path}/data/in.txt`, 'utf8')).toBe('input\n');
    expect(readFileSync(`${ws.path}/.dvc/config.local`, 'utf8')).toContain('s3cr3t-key');
    expect(existsSync(`${ws.path}/stages.txt`)).toBe(false);
    expect(existsSync(`${ws.path}/data/notes.tmp`)).toBe(false);
    expect(log.stderr).toContain('reprod: dropped what the stage wrote outside its outs (only declared outs are kept): data/notes.tmp, stages.txt\n');
    // the outs, and the folders made on the way to them, belong to the workspace's owner
    for (const p of ['data/features', 'data/features/f.csv', 'models', 'models/model.pkl', 'metrics.json']) {
      const st = statSync(`${ws.path}/${p}`);
      expect({ p, uid: st.uid, gid: st.gid }).toEqual({ p, ...OWNER });
    }
    // the scratch space is gone; what holds it is the owner's
    expect(readdirSync(`${ws.path}/${SANDBOX_DIR}`)).toEqual([]);
    expect(statSync(`${ws.path}/${SANDBOX_DIR}`).uid).toBe(OWNER.uid);
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
  });

  it('a failed run leaves none of what it wrote in the workspace', async () => {
    using ws = project();
    const stage = testStage('fails', 'mkdir -p out && echo half > out/part && exit 4', { outs: [out('out')] });
    const { res } = await run(ws.path, stage);
    expect(res.outcome).toEqual({ kind: 'exited', exitCode: 4 });
    expect(existsSync(`${ws.path}/out`)).toBe(false);
    expect(readdirSync(`${ws.path}/${SANDBOX_DIR}`)).toEqual([]);
  });

  it('a persist out that exists is changed in place; symlinks beside an out are kept as links', async () => {
    using ws = project();
    write(ws.path, { 'logs/history.txt': 'run 1\n', 'logs/other.txt': 'not an out\n' });
    symlinkSync('../data/in.txt', `${ws.path}/logs/input-link`);
    own(ws.path);
    const cmd = `echo "run 2" >> logs/history.txt; readlink logs/input-link; cat logs/input-link; ${tryWrites(['logs/other.txt'])}; echo s > logs/summary.txt`;
    const stage = testStage('persist', cmd, { outs: [out('logs/history.txt', { persist: true }), out('logs/summary.txt')] });
    const { res, log } = await run(ws.path, stage);
    expect(res.outcome, log.stderr).toEqual({ kind: 'exited', exitCode: 0 });
    expect(log.stdout).toBe('../data/in.txt\ninput\nrefused logs/other.txt\n');
    expect(readFileSync(`${ws.path}/logs/history.txt`, 'utf8')).toBe('run 1\nrun 2\n');
    expect(readFileSync(`${ws.path}/logs/summary.txt`, 'utf8')).toBe('s\n');
    expect(readFileSync(`${ws.path}/logs/other.txt`, 'utf8')).toBe('not an out\n');
  });

  it('keeps symlinks of an out that stay inside the workspace, and refuses one that leads out of it', async () => {
    using ws = project();
    const inside = testStage('links', 'mkdir out && ln -s ../data/in.txt out/input', { outs: [out('out')] });
    const ok = await run(ws.path, inside);
    expect(ok.res.outcome, ok.log.stderr).toEqual({ kind: 'exited', exitCode: 0 });
    expect(readFileSync(`${ws.path}/out/input`, 'utf8')).toBe('input\n');
    const escaping = testStage('links', 'mkdir out2 && ln -s /etc/hostname out2/host', { outs: [out('out2')] });
    const err = await run(ws.path, escaping).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).message).toBe('stage links: out out2 holds a symlink out2/host to /etc/hostname, outside the workspace');
    expect(existsSync(`${ws.path}/out2`)).toBe(false);
    expect(readdirSync(`${ws.path}/${SANDBOX_DIR}`)).toEqual([]);
  });

  it('says plainly when the stage user cannot enter the workspace', async () => {
    using ws = tempDir('reprod-sandbox-private-');
    // root's and private: the stage runs as 65534
    chmodSync(ws.path, 0o700);
    const err = await run(ws.path, testStage('private', 'echo x > x.txt', { outs: [out('x.txt')] })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).message).toBe('stage private runs as 65534:65534, which cannot read the workspace (owned by 0:0, mode 0700)');
    expect((err as ReprodError).remedy).toContain(`chmod o+rx ${ws.path}`);
  });

  it('hides a cache folder configured elsewhere in the workspace', async () => {
    using ws = project();
    write(ws.path, { 'shared-cache/files/md5/12/3456': 'cached\n' });
    own(ws.path);
    const stage = testStage('hide', 'ls -A shared-cache | wc -l; echo o > o.txt', { outs: [out('o.txt')] });
    const { res, log } = await run(ws.path, stage, ['shared-cache']);
    expect(res.outcome, log.stderr).toEqual({ kind: 'exited', exitCode: 0 });
    expect(log.stdout.trim()).toBe('0');
  });

  it('refuses an out inside a hidden folder, and one reached through a symlink out of the workspace', async () => {
    using ws = project();
    const inCache = await run(ws.path, testStage('bad', 'true', { outs: [out('.dvc/cache/x')] })).catch((e: unknown) => e);
    expect(inCache).toBeInstanceOf(ReprodError);
    expect((inCache as ReprodError).message).toBe('stage bad: out .dvc/cache/x lies in .dvc/cache, which stage containers never see');
    using elsewhere = tempDir('reprod-elsewhere-');
    symlinkSync(elsewhere.path, `${ws.path}/escape`);
    const outside = await run(ws.path, testStage('bad', 'true', { outs: [out('escape/x')] })).catch((e: unknown) => e);
    expect(outside).toBeInstanceOf(ReprodError);
    expect((outside as ReprodError).message).toBe('stage bad: out escape/x would be written through escape, which leads outside the workspace');
    expect(readdirSync(elsewhere.path)).toEqual([]);
  });
});
