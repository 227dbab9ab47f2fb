import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalWorkspace } from '../../../../src/adapters/fs/local-workspace.js';
import { openTracking, trackingConfig } from '../../../../src/app/tracking.js';
import type { LockStage, Stage } from '../../../../src/core/types.js';
import type { ModelDecl } from '../../../../src/tracking/promotion.js';
import { MemoryLogger, MlflowTestServer, TestClock } from '../../../helpers/mlflow-server.js';
import { tempDir } from '../../../helpers/workspace.js';

/**
 * No credential appears in logs, health messages (what status shows),
 * error messages, the outbox or the mlruns tree: every text reprod writes
 * is searched for known fake secrets, in every form they travel in.
 */

const PASSWORD = 'Pa55-w0rd-XYZZY';
const TOKEN = 'tok-SECRET-4711';
const forms = (s: string) => [s, encodeURIComponent(s), Buffer.from(`alice:${s}`).toString('base64')];

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

function leaks(texts: Record<string, string>, secrets: string[]): string[] {
  const found: string[] = [];
  for (const [where, text] of Object.entries(texts)) for (const s of secrets.flatMap(forms)) if (text.includes(s)) found.push(`${where} holds ${s}`);
  return found;
}

function workspaceTexts(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of filesUnder(root)) if (statSync(f).size < 5_000_000) out[path.relative(root, f)] = readFileSync(f, 'utf8');
  return out;
}

const train: Stage = {
  name: 'train',
  group: 'train',
  cmd: 'python3 train.py --password "$MLFLOW_TRACKING_PASSWORD"',
  wdir: '.',
  deps: [],
  params: [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['train'] }],
  outs: [
    { defPath: 'model.pkl', path: 'model.pkl', kind: 'out', cache: true, persist: false, push: true },
    { defPath: 'scores.json', path: 'scores.json', kind: 'metric', cache: false, persist: false, push: true },
  ],
  frozen: false,
  alwaysChanged: false,
  source: { file: 'dvc.yaml' },
};
const entry: LockStage = { cmd: train.cmd, deps: [], params: new Map(), outs: [{ path: 'model.pkl', md5: 'm1' }] };
const models: ModelDecl[] = [{ stage: train, spec: { path: 'model.pkl', name: 'm', alias: 'candidate' } }];

function workspace(root: string): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(path.join(root, 'params.yaml'), 'train:\n  lr: 0.1\n');
  writeFileSync(path.join(root, 'model.pkl'), 'model');
  writeFileSync(path.join(root, 'scores.json'), '{"acc": 1}');
}

async function runOnce(tracking: Awaited<ReturnType<typeof openTracking>>, root: string, error?: string) {
  const recorder = tracking.recorder({ ws: new LocalWorkspace(root), pipelineFile: 'dvc.yaml', models });
  const pass = recorder.beginPass();
  const t = await recorder.startStage(pass, { stage: train, reprodRunId: 'r', runtime: 'host', reasons: [{ kind: 'cmd' }] });
  await recorder.finishStage(t, error ? { outcome: 'failed', action: 'ran', error } : { outcome: 'succeeded', action: 'ran', entry });
  await recorder.endPass(pass, error ? 'failed' : 'succeeded');
  return t;
}

describe('tracking credentials', () => {
  it('keep out of logs, health messages, the outbox and the server records (basic auth, in the URI and in variables)', async () => {
    using tmp = tempDir();
    const root = path.join(tmp.path, 'ws');
    workspace(root);
    await using server = await new MlflowTestServer({ prefix: '/alice/repo.mlflow', auth: { username: 'alice', password: PASSWORD } }).start();
    await server.stop();
    const clock = new TestClock();
    const sleep = (ms: number) => {
      clock.advance(ms);
      return new Promise<void>((r) => setImmediate(r));
    };
    const log = new MemoryLogger();
    const uriWithLogin = server.uri.replace('http://', `http://alice:${encodeURIComponent(PASSWORD)}@`);
    const health: string[] = [];
    {
      // the login in the URI; the server is down
      await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: uriWithLogin }, log, clock, sleep });
      expect(tracking.describe).not.toContain(PASSWORD);
      const t = await runOnce(tracking, root, `command failed; it printed ${PASSWORD}`);
      expect(t.env['MLFLOW_TRACKING_PASSWORD']).toBe(PASSWORD);
      expect(t.env['MLFLOW_TRACKING_URI']).toBe(server.uri);
      health.push(tracking.health().message);
      expect(tracking.health().available).toBe(false);
    }
    // wrong password in the variables: 401s
    await server.start();
    {
      await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: server.uri, MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: `${PASSWORD}-old` }, log, clock, sleep });
      await tracking.flush(1);
      health.push(tracking.health().message);
      expect(tracking.health().message).toMatch(/HTTP 401.*check MLFLOW_TRACKING_USERNAME/);
    }
    // the right one: everything is delivered
    {
      await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: server.uri, MLFLOW_TRACKING_USERNAME: 'alice', MLFLOW_TRACKING_PASSWORD: PASSWORD }, log, clock, sleep });
      await runOnce(tracking, root);
      const h = await tracking.flush(600_000);
      health.push(h.message);
      expect(h).toMatchObject({ available: true, pending: 0 });
    }
    expect(server.runs.size).toBe(4);
    const serverRecords = JSON.stringify([...server.runs.values()].map((r) => ({ ...r, params: [...r.params], tags: [...r.tags] })));
    expect(serverRecords).toContain('command failed; it printed ***');
    expect(
      leaks(
        {
          logs: log.text(),
          health: health.join('\n'),
          'server records': serverRecords,
          ...workspaceTexts(root),
        },
        [PASSWORD, `${PASSWORD}-old`],
      ),
    ).toEqual([]);
  });

  it('keep a bearer token out of logs and messages', async () => {
    using tmp = tempDir();
    const root = tmp.path;
    workspace(root);
    await using server = await new MlflowTestServer({ auth: { token: TOKEN } }).start();
    const log = new MemoryLogger();
    const clock = new TestClock();
    await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_URI: server.uri, MLFLOW_TRACKING_TOKEN: TOKEN }, log, clock });
    const t = await runOnce(tracking, root);
    expect(t.env['MLFLOW_TRACKING_TOKEN']).toBe(TOKEN);
    const h = await tracking.flush();
    expect(h).toEqual({ available: true, pending: 0, message: '' });
    expect(server.requests.every((r) => r.headers['authorization'] === `Bearer ${TOKEN}`)).toBe(true);
    expect(leaks({ logs: log.text(), ...workspaceTexts(root) }, [TOKEN])).toEqual([]);
  });

  it('keep out of the mlruns tree and of configuration errors', async () => {
    using tmp = tempDir();
    const root = tmp.path;
    workspace(root);
    const log = new MemoryLogger();
    await using tracking = await openTracking({ root, env: { MLFLOW_TRACKING_PASSWORD: PASSWORD, MLFLOW_TRACKING_TOKEN: TOKEN }, log, clock: new TestClock() });
    const t = await runOnce(tracking, root);
    await tracking.flush();
    expect(Object.keys(t.env).sort()).toEqual(['MLFLOW_EXPERIMENT_ID', 'MLFLOW_EXPERIMENT_NAME', 'MLFLOW_RUN_ID', 'MLFLOW_TRACKING_URI']);
    expect(filesUnder(path.join(root, 'mlruns')).length).toBeGreaterThan(10);
    expect(leaks({ logs: log.text(), ...workspaceTexts(root) }, [PASSWORD, TOKEN])).toEqual([]);
    for (const uri of [`http://alice:${PASSWORD}@[bad`, `ftp://alice:${PASSWORD}@host/x`]) {
      let message = '';
      try {
        trackingConfig(root, { MLFLOW_TRACKING_URI: uri });
      } catch (e) {
        message = `${(e as Error).message} ${JSON.stringify(e)} ${JSON.stringify((e as Error).cause ?? null)}`;
      }
      expect(message).not.toBe('');
      expect(leaks({ error: message }, [PASSWORD])).toEqual([]);
    }
  });
});
