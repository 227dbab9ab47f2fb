import { chownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { containerIdFromMountinfo, resolveHostPaths } from '../../../../src/adapters/docker/host-paths.js';
import { ReprodError } from '../../../../src/core/errors.js';
import { busyboxImage, engine, nodeImage } from '../../../helpers/docker.js';
import { tempDir } from '../../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../../..');
const SOCKET = '/var/run/docker.sock';

let docker: Docker;
let busybox: string;

beforeAll(async () => {
  docker = await engine();
  busybox = await busyboxImage(docker);
});

/** Runs a container to its end; returns its stdout and exit code, and removes it. */
async function runToEnd(opts: Docker.ContainerCreateOptions): Promise<{ stdout: string; stderr: string; exitCode: number; id: string }> {
  const c = await docker.createContainer({ ...opts, AttachStdout: true, AttachStderr: true });
  try {
    const stream = await c.attach({ stream: true, stdout: true, stderr: true });
    const out = new PassThrough();
    const err = new PassThrough();
    let stdout = '';
    let stderr = '';
    out.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    err.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const ended = new Promise((resolve) => stream.once('end', resolve));
    docker.modem.demuxStream(stream, out, err);
    await c.start();
    const waited: unknown = await c.wait();
    await ended;
    const exitCode = typeof waited === 'object' && waited !== null && 'StatusCode' in waited && typeof waited.StatusCode === 'number' ? waited.StatusCode : -1;
    return { stdout, stderr, exitCode, id: c.id };
  } finally {
    await c.remove({ force: true });
  }
}

describe('host paths, with a container whose workspace mount differs from the host path', () => {
  it('finds the container from its mountinfo and maps its mounts to host paths', async () => {
    using ws = tempDir('reprod-hostpath-');
    const c = await docker.createContainer({ Image: busybox, Cmd: ['sleep', '300'], HostConfig: { Binds: [`${ws.path}:/mnt/ws`], NetworkMode: 'none' } });
    try {
      await c.start();
      const exec = await c.exec({ Cmd: ['cat', '/proc/self/mountinfo'], AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      const out = new PassThrough();
      let mountinfo = '';
      out.setEncoding('utf8').on('data', (d: string) => (mountinfo += d));
      const ended = new Promise((resolve) => stream.once('end', resolve));
      docker.modem.demuxStream(stream, out, new PassThrough());
      await ended;
      expect(containerIdFromMountinfo(mountinfo)).toBe(c.id);

      // reprod's view from inside that container: its own files, the engine's inspect
      const inside = { readFile: async (f: string) => (f === '/proc/self/mountinfo' ? mountinfo : undefined), env: {} };
      const mapper = await resolveHostPaths(docker, { workspace: '/mnt/ws', ...inside });
      expect(mapper.containerId).toBe(c.id);
      expect(mapper.toHost('/mnt/ws')).toBe(ws.path);
      expect(mapper.toHost('/mnt/ws/data/raw.csv')).toBe(`${ws.path}/data/raw.csv`);
      expect(() => mapper.toHost('/etc/hosts')).toThrow(ReprodError);

      const err = await resolveHostPaths(docker, { workspace: '/srv/project', ...inside }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReprodError);
      expect((err as ReprodError).remedy).toContain('-v "$PWD:$PWD"');

      const overridden = await resolveHostPaths(docker, { workspace: '/srv/project', ...inside, env: { REPROD_HOST_WORKSPACE: '/home/me/project' } });
      expect(overridden.toHost('/srv/project/a')).toBe('/home/me/project/a');
    } finally {
      await c.remove({ force: true });
    }
  });

  it('refuses a container the engine does not know', async () => {
    const id = 'f'.repeat(64);
    const mountinfo = `1 0 8:1 /var/lib/docker/containers/${id}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n`;
    const err = await resolveHostPaths(docker, { workspace: '/ws', env: {}, readFile: async (f) => (f === '/proc/self/mountinfo' ? mountinfo : undefined) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).message).toContain('which the Docker engine it talks to does not know');
  });

  it('reprod inside a container (workspace at /mnt/ws) runs a stage that reads and writes the right host files', async () => {
    const node = await nodeImage(docker);
    using ws = tempDir('reprod-inside-');
    using scripts = tempDir('reprod-script-');
    chownSync(ws.path, 1234, 1234);
    writeFileSync(path.join(ws.path, 'input.txt'), 'payload\n');
    writeFileSync(
      path.join(scripts.path, 'inside.mts'),
      `
import { DockerRuntime } from ${JSON.stringify(`${REPO}/src/adapters/docker/docker-runtime.ts`)};
import { connectEngine } from ${JSON.stringify(`${REPO}/src/adapters/docker/engine.ts`)};
const workspace = process.env.WS;
const logger = { debug() {}, info() {}, warn() {}, error() {}, child() { return logger; } };
const rt = new DockerRuntime({
  docker: connectEngine(), workspace, logger,
  resolve: () => ({ kind: 'container', image: { kind: 'image', name: ${JSON.stringify(busybox)} }, settings: { network: 'none', env: {} }, reason: 'test' }),
});
const stage = { name: 'inside', group: 'inside', cmd: ['cat input.txt > output.txt', 'pwd >> output.txt'], wdir: '.', deps: [], params: [], outs: [{ defPath: 'output.txt', path: 'output.txt', kind: 'out', cache: true, persist: false, push: true }], frozen: false, alwaysChanged: false, source: { file: 'dvc.yaml' } };
try {
  const mapper = await rt.hostPathMapper();
  const prepared = await rt.prepare(stage, new AbortController().signal);
  const res = await rt.run({ stage, prepared, workspace, runId: 'inside-1', env: {}, signal: new AbortController().signal, log: { write: (c) => process.stderr.write(c) } });
  console.log(JSON.stringify({ containerId: mapper.containerId, host: mapper.toHost(workspace), outcome: res.outcome }));
} catch (e) {
  console.log(JSON.stringify({ error: e.message, remedy: e.remedy }));
}
`,
    );
    const reprodContainer = (workspace: string): Docker.ContainerCreateOptions => ({
      Image: node,
      Cmd: ['/usr/bin/node', '--import', 'tsx', '/scripts/inside.mts'],
      WorkingDir: REPO,
      Env: [`WS=${workspace}`],
      HostConfig: {
        Binds: [`${REPO}:${REPO}:ro`, `${scripts.path}:/scripts:ro`, `${ws.path}:/mnt/ws`, `${SOCKET}:${SOCKET}`],
        NetworkMode: 'none',
      },
    });

    const ok = await runToEnd(reprodContainer('/mnt/ws'));
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ containerId: ok.id, host: ws.path, outcome: { kind: 'exited', exitCode: 0 } });
    expect(readFileSync(path.join(ws.path, 'output.txt'), 'utf8')).toBe(`payload\n${ws.path}\n`);
    expect(statSync(path.join(ws.path, 'output.txt')).uid).toBe(1234);

    const refused = await runToEnd(reprodContainer('/opt/not-mounted'));
    const answer: unknown = JSON.parse(refused.stdout);
    expect(answer).toMatchObject({ error: expect.stringContaining('/opt/not-mounted is not on a bind mount or volume of reprod') });
    expect(answer).toMatchObject({ remedy: expect.stringContaining('-v "$PWD:$PWD" -w "$PWD"') });
  });
});
