import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../../../src/adapters/docker/docker-runtime.js';
import { LABEL, stageLabels } from '../../../../src/adapters/docker/labels.js';
import { removeOrphans } from '../../../../src/adapters/docker/orphans.js';
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
  it('removes the container of a reprod process killed mid-run', async () => {
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
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const left = await reprodContainers(docker, ws.path);
    // the engine may still report the container as `created` for a moment after its first output under load
    expect(left.map((c) => [c.Labels[LABEL.stage], c.Labels[LABEL.runId]])).toEqual([['slow', 'killed-run']]);
    expect(['running', 'created']).toContain(left[0]?.State);

    const rt = new DockerRuntime({ docker, workspace: ws.path, logger: quietLogger, resolve: () => ({ kind: 'host', reason: 'test' }) });
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
});
