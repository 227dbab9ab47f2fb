import { chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../../../src/adapters/docker/docker-runtime.js';
import { LABEL } from '../../../../src/adapters/docker/labels.js';
import { ReprodError } from '../../../../src/core/errors.js';
import type { RunRequest } from '../../../../src/core/ports.js';
import type { OutSpec, Stage } from '../../../../src/core/types.js';
import type { ContainerSettings, ResolvedRuntime } from '../../../../src/pipeline/stage-runtime.js';
import { busyboxImage, captureLog, engine, quietLogger, reprodContainers, testStage } from '../../../helpers/docker.js';
import { tempDir } from '../../../helpers/workspace.js';

const OWNER = { uid: 1234, gid: 2345 };

let docker: Docker;
let image: string;

beforeAll(async () => {
  docker = await engine();
  image = await busyboxImage(docker);
});

/** A temporary workspace owned by OWNER, as a user's project would be. */
function workspace(): { path: string } & Disposable {
  const ws = tempDir('reprod-docker-');
  chownSync(ws.path, OWNER.uid, OWNER.gid);
  return ws;
}

/** A declared out of a test stage (workspace-relative path). */
function declared(p: string, extra: Partial<OutSpec> = {}): OutSpec {
  return { defPath: p, path: p, kind: 'out', cache: true, persist: false, push: true, ...extra };
}

type Request = Omit<RunRequest, 'prepared'> & { prepared?: RunRequest['prepared'] };

/** The runtime under test; `run` prepares first when the request does not say, as executeStage does. */
function runtime(ws: string, settings: Partial<ContainerSettings> = {}, byStage: Record<string, ResolvedRuntime> = {}) {
  const resolve = (stage: Stage): ResolvedRuntime =>
    byStage[stage.name] ?? {
      kind: 'container',
      image: { kind: 'image', name: image },
      settings: { network: 'none', env: {}, ...settings },
      reason: 'test',
    };
  const rt = new DockerRuntime({ docker, workspace: ws, resolve, logger: quietLogger });
  return {
    prepare: (stage: Stage, signal: AbortSignal) => rt.prepare(stage, signal),
    identify: (stage: Stage, signal: AbortSignal) => rt.identify(stage, signal),
    run: async (req: Request) => rt.run({ ...req, prepared: req.prepared ?? (await rt.prepare(req.stage, req.signal)) }),
  };
}

function request(ws: string, stage: Stage, extra: Partial<RunRequest> = {}): Request & { log: ReturnType<typeof captureLog> } {
  return { stage, workspace: ws, runId: `run-${stage.name}-${process.pid}`, env: {}, log: captureLog(), signal: new AbortController().signal, ...extra } as Request & {
    log: ReturnType<typeof captureLog>;
  };
}

describe('DockerRuntime', () => {
  it('prepares a named image to its ID, and identifies it by that ID without pulling', async () => {
    using ws = workspace();
    const rt = runtime(ws.path);
    const prepared = await rt.prepare(testStage('s', 'true'), new AbortController().signal);
    if (prepared.kind !== 'container') throw new Error('expected a container runtime');
    expect(prepared.imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(prepared.imageId).toBe((await docker.getImage(image).inspect()).Id);
    expect(prepared.ref).toBe(image);
    expect(await rt.identify(testStage('s', 'true'), new AbortController().signal)).toEqual({ kind: 'container', key: prepared.imageId, ref: image });
  });

  it('runs in the wdir, as the workspace owner, and writes files the owner owns', async () => {
    using ws = workspace();
    mkdirSync(`${ws.path}/sub`);
    chownSync(`${ws.path}/sub`, OWNER.uid, OWNER.gid);
    writeFileSync(`${ws.path}/sub/input.txt`, 'from the host\n');
    const rt = runtime(ws.path, { env: { FROM_MANIFEST: 'm' } });
    const stage = testStage('write', 'cat input.txt > out.txt && id -u >> out.txt && id -g >> out.txt && pwd >> out.txt && echo "$HOME $FROM_REQ $FROM_MANIFEST" >> out.txt', {
      wdir: 'sub',
      outs: [declared('sub/out.txt')],
    });
    const res = await rt.run(request(ws.path, stage, { env: { FROM_REQ: 'r' } }));
    expect(res.outcome).toEqual({ kind: 'exited', exitCode: 0 });
    expect(res.runtime).toMatch(/^sha256:/);
    expect(res.container).toMatch(/^[0-9a-f]{64}$/);
    expect(res.finishedAt.getTime()).toBeGreaterThanOrEqual(res.startedAt.getTime());
    const out = `${ws.path}/sub/out.txt`;
    expect(readFileSync(out, 'utf8')).toBe(`from the host\n${OWNER.uid}\n${OWNER.gid}\n${ws.path}/sub\n/tmp r m\n`);
    const st = statSync(out);
    expect({ uid: st.uid, gid: st.gid }).toEqual(OWNER);
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
  });

  it('streams stdout and stderr to the log sink, each to its own stream', async () => {
    using ws = workspace();
    const req = request(ws.path, testStage('logs', 'echo out1; echo err1 >&2; printf "caf\\303\\251\\n"; echo err2 >&2'));
    const res = await runtime(ws.path).run(req);
    expect(res.outcome).toEqual({ kind: 'exited', exitCode: 0 });
    expect(req.log.stdout).toBe('out1\ncafé\n');
    expect(req.log.stderr).toBe('err1\nerr2\n');
  });

  it('reports a non-zero exit code', async () => {
    using ws = workspace();
    const res = await runtime(ws.path).run(request(ws.path, testStage('fail', 'echo failing >&2; exit 3')));
    expect(res.outcome).toEqual({ kind: 'exited', exitCode: 3 });
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
  });

  it('runs each command of a list in order, in its own container, and stops at the first failure', async () => {
    using ws = workspace();
    const cmds = ['echo a >> seq; hostname >> hosts', 'echo b >> seq; hostname >> hosts; cat seq hosts; exit 2', 'echo c >> seq'];
    const req = request(ws.path, testStage('list', cmds, { outs: [declared('seq'), declared('hosts')] }));
    const res = await runtime(ws.path).run(req);
    expect(res.outcome).toEqual({ kind: 'exited', exitCode: 2 });
    // the second command saw what the first wrote; the third never ran
    const [a, b, ...hosts] = req.log.stdout.trim().split('\n');
    expect([a, b]).toEqual(['a', 'b']);
    expect(new Set(hosts).size).toBe(2);
    expect(res.container?.startsWith(hosts[1] ?? '-')).toBe(true);
    // a failed run leaves none of its outs in the workspace
    expect(existsSync(`${ws.path}/seq`)).toBe(false);
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
  });

  it('cancels mid-run: stops the container, removes it, reports cancelled', async () => {
    using ws = workspace();
    const ctrl = new AbortController();
    const rt = runtime(ws.path);
    const stage = testStage('slow', 'echo started; sleep 30; echo finished > done.txt');
    let labels: Record<string, string> | undefined;
    const log = captureLog();
    const sink = {
      write(chunk: string, stream: 'stdout' | 'stderr') {
        log.write(chunk, stream);
        if (log.stdout.includes('started') && !labels) {
          labels = {};
          void reprodContainers(docker, ws.path).then((found) => {
            labels = found[0]?.Labels ?? {};
            ctrl.abort();
          });
        }
      },
    };
    const t0 = Date.now();
    const res = await rt.run({ ...request(ws.path, stage), log: sink, signal: ctrl.signal, runId: 'run-cancel-1' });
    expect(res.outcome).toEqual({ kind: 'cancelled' });
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(labels).toMatchObject({
      [LABEL.managed]: 'true',
      [LABEL.stage]: 'slow',
      [LABEL.runId]: 'run-cancel-1',
      [LABEL.workspace]: ws.path,
    });
    expect(labels?.[LABEL.specHash]).toMatch(/^[0-9a-f]{16}$/);
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
    expect(() => statSync(`${ws.path}/done.txt`)).toThrow();
  });

  it('does nothing when the signal is already aborted', async () => {
    using ws = workspace();
    const ctrl = new AbortController();
    ctrl.abort();
    const res = await runtime(ws.path).run({ ...request(ws.path, testStage('never', 'echo x > x')), signal: ctrl.signal });
    expect(res.outcome).toEqual({ kind: 'cancelled' });
    expect(() => statSync(`${ws.path}/x`)).toThrow();
  });

  it('gives a stage no network by default, and the bridge when asked', async () => {
    using ws = workspace();
    const none = request(ws.path, testStage('net', "cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' ' | sort"));
    expect((await runtime(ws.path).run(none)).outcome).toEqual({ kind: 'exited', exitCode: 0 });
    expect(none.log.stdout).toBe('lo\n');
    const bridge = request(ws.path, testStage('net', "cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d ' ' | sort"));
    await runtime(ws.path, { network: 'bridge' }).run(bridge);
    expect(bridge.log.stdout).toBe('eth0\nlo\n');
  });

  it('drops every capability and forbids new privileges', async () => {
    using ws = workspace();
    const req = request(ws.path, testStage('caps', "grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status | tr -s '\\t ' ' '"));
    await runtime(ws.path).run(req);
    expect(req.log.stdout).toBe('CapEff: 0000000000000000\nCapBnd: 0000000000000000\nNoNewPrivs: 1\n');
  });

  it('never runs a stage as root: its settings naming root are refused before any container exists', async () => {
    using ws = workspace();
    for (const user of ['0', '0:0', 'root', 'root:root', '1000:0']) {
      const err = await runtime(ws.path, { user })
        .run(request(ws.path, testStage('root', 'echo ran > ran.txt', { outs: [declared('ran.txt')] })))
        .catch((e: unknown) => e);
      expect(err, user).toBeInstanceOf(ReprodError);
      expect((err as ReprodError).code).toBe('SANDBOX');
      expect((err as ReprodError).message).toContain(`\`user: ${user}\``);
    }
    expect(existsSync(`${ws.path}/ran.txt`)).toBe(false);
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
  });

  it('in a workspace that root owns, runs as 65534:65534 and gives its outs back to root', async () => {
    using ws = tempDir('reprod-docker-root-');
    expect(statSync(ws.path).uid).toBe(0);
    const req = request(ws.path, testStage('nobody', 'mkdir out && id -u > out/ids && id -g >> out/ids && id -u > top.txt', { outs: [declared('out'), declared('top.txt')] }));
    expect((await runtime(ws.path).run(req)).outcome, req.log.stderr).toEqual({ kind: 'exited', exitCode: 0 });
    expect(readFileSync(`${ws.path}/out/ids`, 'utf8')).toBe('65534\n65534\n');
    for (const p of ['out', 'out/ids', 'top.txt']) {
      const st = statSync(`${ws.path}/${p}`);
      expect({ p, uid: st.uid, gid: st.gid }).toEqual({ p, uid: 0, gid: 0 });
    }
  });

  it('a manifest user (not root) overrides the default', async () => {
    using ws = workspace();
    const req = request(ws.path, testStage('other', 'id -u > who && id -g >> who', { outs: [declared('who')] }));
    expect((await runtime(ws.path, { user: '4321:4321' }).run(req)).outcome, req.log.stderr).toEqual({ kind: 'exited', exitCode: 0 });
    expect(readFileSync(`${ws.path}/who`, 'utf8')).toBe('4321\n4321\n');
    // moved into place, then given to the workspace's owner
    expect(statSync(`${ws.path}/who`).uid).toBe(OWNER.uid);
  });

  it('sets a pids limit of 512 by default, and the manifest\'s when it has one', async () => {
    using ws = workspace();
    const cmd = 'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max';
    const def = request(ws.path, testStage('pids', cmd));
    await runtime(ws.path).run(def);
    expect(def.log.stdout.trim()).toBe('512');
    const set = request(ws.path, testStage('pids', cmd));
    await runtime(ws.path, { pidsLimit: 64 }).run(set);
    expect(set.log.stdout.trim()).toBe('64');
  });

  it('applies the CPU limit', async () => {
    using ws = workspace();
    const req = request(ws.path, testStage('cpu', 'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cut -d" " -f1 /sys/fs/cgroup/cpu.max'));
    await runtime(ws.path, { cpus: 0.5 }).run(req);
    expect(req.log.stdout.trim()).toBe('50000');
  });

  it('reports an OOM kill under the memory limit', async () => {
    using ws = workspace();
    const res = await runtime(ws.path, { memoryBytes: 16 * 1024 * 1024 }).run(request(ws.path, testStage('oom', 'head -c 200m /dev/zero | tail > /dev/null')));
    expect(res.outcome).toEqual({ kind: 'exited', exitCode: 137, oomKilled: true });
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
  });

  it('runs stages that resolve to the host on the host', async () => {
    using ws = workspace();
    const host: ResolvedRuntime = { kind: 'host', reason: 'runs on the host: no stages/h/Dockerfile and no manifest' };
    const rt = runtime(ws.path, {}, { h: host });
    expect((await rt.prepare(testStage('h', 'true'), new AbortController().signal)).kind).toBe('host');
    const req = request(ws.path, testStage('h', 'echo $$ > host.txt'));
    const res = await rt.run(req);
    expect(res).toMatchObject({ outcome: { kind: 'exited', exitCode: 0 }, runtime: 'host' });
    expect(res.container).toBeUndefined();
  });

  it('fails with a RUNTIME error naming the image when it is missing and cannot be pulled', async () => {
    using ws = workspace();
    const missing: ResolvedRuntime = {
      kind: 'container',
      image: { kind: 'image', name: '127.0.0.1:9/reprod-test/missing:never' },
      settings: { network: 'none', env: {} },
      reason: 'test',
    };
    const err = await runtime(ws.path, {}, { m: missing })
      .prepare(testStage('m', 'true'), new AbortController().signal)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).code).toBe('RUNTIME');
    expect((err as ReprodError).message).toContain('127.0.0.1:9/reprod-test/missing:never is not in the engine and could not be pulled');
  });
});
