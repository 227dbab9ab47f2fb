import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../../../src/adapters/docker/docker-runtime.js';
import { LABEL, stageLabels } from '../../../../src/adapters/docker/labels.js';
import { removeOrphans, type KeptContainer } from '../../../../src/adapters/docker/orphans.js';
import { OWNER_LABEL, procfs, startTimeOf, type ContainerOwner } from '../../../../src/adapters/docker/owner.js';
import { busyboxImage, engine, quietLogger, reprodContainers } from '../../../helpers/docker.js';
import { tempDir } from '../../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../../..');

let docker: Docker;
let image: string;

beforeAll(async () => {
  docker = await engine();
  image = await busyboxImage(docker);
});

/** A reprod process (node + tsx) that starts a long stage and prints `started` once the container runs. */
function childScript(workspace: string): string {
  return `
import { DockerRuntime } from ${JSON.stringify(`${REPO}/src/adapters/docker/docker-runtime.ts`)};
import { connectEngine } from ${JSON.stringify(`${REPO}/src/adapters/docker/engine.ts`)};
const logger = { debug() {}, info() {}, warn() {}, error() {}, child() { return logger; } };
const rt = new DockerRuntime({
  docker: connectEngine(), workspace: ${JSON.stringify(workspace)}, logger,
  resolve: () => ({ kind: 'container', image: { kind: 'image', name: ${JSON.stringify(image)} }, settings: { network: 'none', env: {} }, reason: 'test' }),
});
const stage = { name: 'slow', group: 'slow', cmd: 'echo started; sleep 300', wdir: '.', deps: [], params: [], outs: [], frozen: false, alwaysChanged: false, source: { file: 'dvc.yaml' } };
const prepared = await rt.prepare(stage, new AbortController().signal);
await rt.run({ stage, prepared, workspace: ${JSON.stringify(workspace)}, runId: 'killed-run', env: {}, signal: new AbortController().signal,
  log: { write: (chunk) => process.stdout.write(chunk) } });
`;
}

describe('orphan containers', () => {
  it("keeps a live reprod process's running container (as a manual repro must the daemon's), removes it once that process is killed", async () => {
    using ws = tempDir('reprod-orphan-');
    using scripts = tempDir('reprod-script-');
    const script = path.join(scripts.path, 'child.mts');
    writeFileSync(script, childScript(ws.path));
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        if (out.includes('started')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`the child exited (${code}) before its stage started: ${out}`)));
    });
    const rt = new DockerRuntime({ docker, workspace: ws.path, logger: quietLogger, resolve: () => ({ kind: 'host', reason: 'test' }) });
    // another live reprod owns it (this test is that other process): not an orphan
    expect(await rt.removeOrphans()).toEqual([]);
    const live = await reprodContainers(docker, ws.path);
    expect(live.map((c) => [c.Labels[LABEL.stage], c.Labels[OWNER_LABEL.pid]])).toEqual([['slow', String(child.pid)]]);

    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const left = await reprodContainers(docker, ws.path);
    // the engine may still report the container as `created` for a moment after its first output under load
    expect(left.map((c) => [c.Labels[LABEL.stage], c.Labels[LABEL.runId]])).toEqual([['slow', 'killed-run']]);
    expect(['running', 'created']).toContain(left[0]?.State);

    const removed = await rt.removeOrphans();
    expect(removed).toEqual([{ id: left[0]?.Id, stage: 'slow', runId: 'killed-run', state: 'running' }]);
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
    expect(await rt.removeOrphans()).toEqual([]);
  });

  it('spares the runs it knows and other workspaces', async () => {
    using a = tempDir('reprod-orphan-a-');
    using b = tempDir('reprod-orphan-b-');
    const create = async (workspace: string, runId: string) =>
      (
        await docker.createContainer({
          Image: image,
          Cmd: ['sleep', '300'],
          Labels: stageLabels({ workspace, stage: 'train', runId, specHash: '0123456789abcdef' }),
          HostConfig: { NetworkMode: 'none' },
        })
      ).id;
    const known = await create(a.path, 'known');
    const stale = await create(a.path, 'stale');
    const other = await create(b.path, 'stale');
    try {
      const removed = await removeOrphans(docker, a.path, (runId) => runId === 'known');
      expect(removed).toEqual([{ id: stale, stage: 'train', runId: 'stale', state: 'created' }]);
      expect((await reprodContainers(docker, a.path)).map((c) => c.Id)).toEqual([known]);
      expect((await reprodContainers(docker, b.path)).map((c) => c.Id)).toEqual([other]);
    } finally {
      for (const id of [known, stale, other]) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    }
  });

  it('keeps a container whose owner is a live process and removes it once that process is gone', async () => {
    using ws = tempDir('reprod-orphan-');
    const sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
    const gone = new Promise((resolve) => sleeper.on('exit', resolve));
    const pid = sleeper.pid as number;
    const owner: ContainerOwner = {
      id: 'another-process',
      host: 'this-host',
      bootId: procfs.bootId(),
      pidNs: procfs.pidNs(),
      pid,
      startTime: startTimeOf(procfs.stat(pid)),
    };
    expect(owner.startTime).toMatch(/^\d+$/);
    const id = (
      await docker.createContainer({
        Image: image,
        Cmd: ['sleep', '300'],
        Labels: stageLabels({ workspace: ws.path, stage: 'train', runId: 'theirs', specHash: '0123456789abcdef', owner }),
        HostConfig: { NetworkMode: 'none' },
      })
    ).id;
    try {
      const kept: KeptContainer[] = [];
      // the workspace lock does not matter: a live owner's container is its own to remove
      expect(await removeOrphans(docker, ws.path, () => false, { workspaceLockHeld: true, onKept: (c) => kept.push(c) })).toEqual([]);
      expect(kept).toEqual([{ id, stage: 'train', runId: 'theirs', state: 'created', owner: 'alive' }]);
      sleeper.kill('SIGKILL');
      await gone;
      expect(await removeOrphans(docker, ws.path)).toEqual([{ id, stage: 'train', runId: 'theirs', state: 'created' }]);
      expect(await reprodContainers(docker, ws.path)).toEqual([]);
    } finally {
      sleeper.kill('SIGKILL');
      await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    }
  });

  it('an owner in another PID namespace (a daemon in its container, seen from the host) is spared unless the workspace lock is held', async () => {
    using ws = tempDir('reprod-orphan-');
    // a real process in its own PID namespace: pid 1 of a container, as the daemon is under compose
    const ownerBox = await docker.createContainer({
      Image: image,
      Cmd: ['sh', '-c', 'hostname; cat /proc/sys/kernel/random/boot_id; readlink /proc/1/ns/pid; cat /proc/1/stat; exec sleep 300'],
      Tty: true, // plain output, no stream frames
      HostConfig: { NetworkMode: 'none' },
    });
    let stage: string | undefined;
    try {
      await ownerBox.start();
      const lines = await new Promise<string[]>((resolve, reject) => {
        const deadline = Date.now() + 30_000;
        const poll = async (): Promise<void> => {
          const text = (await ownerBox.logs({ stdout: true, stderr: false })).toString('utf8');
          const got = text.split('\n').filter((l) => l.trim() !== '');
          if (got.length >= 4) resolve(got);
          else if (Date.now() > deadline) reject(new Error(`the owner container printed ${JSON.stringify(text)}`));
          else setTimeout(() => void poll().catch(reject), 20);
        };
        void poll().catch(reject);
      });
      const [host = '', bootId = '', pidNs = '', stat = ''] = lines.map((l) => l.trim());
      expect(bootId).toBe(procfs.bootId());
      expect(pidNs).not.toBe(procfs.pidNs());
      const owner: ContainerOwner = { id: 'daemon-in-a-container', host, bootId, pidNs, pid: 1, startTime: startTimeOf(stat) };
      stage = (
        await docker.createContainer({
          Image: image,
          Cmd: ['sleep', '300'],
          Labels: stageLabels({ workspace: ws.path, stage: 'train', runId: 'daemon-run', specHash: '0123456789abcdef', owner }),
          HostConfig: { NetworkMode: 'none' },
        })
      ).id;
      const kept: KeptContainer[] = [];
      expect(await removeOrphans(docker, ws.path, () => false, { onKept: (c) => kept.push(c) })).toEqual([]);
      expect(kept.map((c) => [c.id, c.owner])).toEqual([[stage, 'unknown']]);
      // holding the workspace lock, a process knows no other is inside a pass: the container is left over
      expect(await removeOrphans(docker, ws.path, () => false, { workspaceLockHeld: true })).toEqual([
        { id: stage, stage: 'train', runId: 'daemon-run', state: 'created' },
      ]);
    } finally {
      await ownerBox.remove({ force: true }).catch(() => undefined);
      if (stage) await docker.getContainer(stage).remove({ force: true }).catch(() => undefined);
    }
  });
});
