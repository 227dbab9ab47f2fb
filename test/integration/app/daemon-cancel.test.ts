/**
 * The web view's Cancel action against a real daemon (in process) and a
 * real stage container: a POST with the token stops the running stage (its
 * container is gone), the stage then shows `Cancelled` with the reason, what
 * is downstream `Blocked` by the cancellation, and it stays so (no retry
 * loop, no failure) until its inputs change, when it runs again by itself.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type Docker from 'dockerode';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDaemon } from '../../../src/app/daemon.js';
import type { Logger } from '../../../src/core/ports.js';
import { recordLogger } from '../../helpers/record-logger.js';
import { busyboxImage, engine, reprodContainers } from '../../helpers/docker.js';
import { assertStatusFilesValid, tempDir, writeFiles } from '../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
let docker: Docker;
let image: string;

beforeAll(async () => {
  docker = await engine();
  image = await busyboxImage(docker);
  execFileSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'web', 'build.ts')], { cwd: REPO, stdio: 'ignore' });
}, 120_000);

type Condition = { type: string; status: string; reason: string; message: string };
type StatusDoc = { status: { phase?: string; conditions?: Condition[]; lastRun?: { runId?: string; outcome?: string } } };
const condition = (s: StatusDoc['status'] | undefined, type: string): Condition | undefined => s?.conditions?.find((c) => c.type === type);
const status = (root: string, name: string): StatusDoc['status'] | undefined => {
  const f = path.join(root, 'status', `${name}.yaml`);
  return existsSync(f) ? (parse(readFileSync(f, 'utf8')) as StatusDoc | null)?.status : undefined;
};

async function waitFor(what: string, check: () => boolean | Promise<boolean>, log: Logger & { records: Record<string, unknown>[] }, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(log.records.slice(-20))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the Cancel action', () => {
  it('stops the running stage, which shows Cancelled with the reason, blocks downstream, and stays so until its inputs change', async () => {
    using ws = tempDir('reprod-cancel-');
    writeFiles(ws.path, {
      'dvc.yaml': `stages:
  slow:
    cmd: echo started; sleep 120; cp in.txt out.txt
    deps: [in.txt]
    outs: [out.txt]
  after:
    cmd: cp out.txt after.txt
    deps: [out.txt]
    outs: [after.txt]
`,
      'in.txt': 'one\n',
      'manifests/stages.yaml': ['slow', 'after'].map((n) => `apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: ${n}}\nspec: {image: "${image}"}\n`).join('---\n'),
    });
    const log = recordLogger();
    const ac = new AbortController();
    let served: (i: { url: string; token: string | undefined }) => void = () => undefined;
    const web = new Promise<{ url: string; token: string | undefined }>((resolve) => (served = resolve));
    const done = runDaemon({ root: ws.path, runtime: 'auto', log, debounceMs: 50, tracking: false, http: { host: '127.0.0.1', port: 0 }, onWebView: (i) => served(i) }, ac.signal);
    try {
      const { url, token } = await web;
      const cancel = (auth?: string) => fetch(`${url}api/stages/slow/cancel`, { method: 'POST', ...(auth ? { headers: { authorization: auth } } : {}) });
      await waitFor('slow running in its container', () => status(ws.path, 'slow')?.phase === 'Running' && log.records.some((r) => r.msg === 'output' && r.line === 'started'), log);
      expect((await reprodContainers(docker, ws.path)).length).toBe(1);

      // the token is needed
      expect((await cancel()).status).toBe(401);
      expect((await cancel('Bearer wrong')).status).toBe(401);
      expect((await fetch(`${url}api/stages/after/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token ?? ''}` } })).status).toBe(409);
      const asked = Date.now();
      const ok = await cancel(`Bearer ${token ?? ''}`);
      expect(ok.status).toBe(202);
      expect(((await ok.json()) as { message: string }).message).toBe('slow: cancelling its run');

      await waitFor('slow cancelled', () => status(ws.path, 'slow')?.phase === 'Cancelled', log, 30_000);
      const took = Date.now() - asked;
      // the container stopped and removed: well before the command's 120 s sleep
      await waitFor('its container gone', async () => (await reprodContainers(docker, ws.path)).length === 0, log, 30_000);
      expect(took).toBeLessThan(20_000);
      const s = status(ws.path, 'slow');
      expect(condition(s, 'Ready')).toMatchObject({ status: 'False', reason: 'Cancelled', message: 'cancelled: asked from the web view (runs again when its inputs change, or when a rerun is asked)' });
      // not a failure, and not requeued: it waits
      expect(condition(s, 'Stalled')?.status).toBe('False');
      expect(condition(s, 'Reconciling')).toMatchObject({ status: 'False', reason: 'CancelledByUser' });
      expect(s?.lastRun?.outcome).toBe('Cancelled');
      await waitFor('after blocked by it', () => status(ws.path, 'after')?.phase === 'Blocked', log, 30_000);
      expect(condition(status(ws.path, 'after'), 'Ready')?.message).toBe("upstream stage 'slow' was cancelled");
      expect(existsSync(path.join(ws.path, 'out.txt'))).toBe(false);
      assertStatusFilesValid(ws.path);

      // it stays so: a look again (what a save would do) neither reruns nor fails it
      const runs = () => log.records.filter((r) => r.msg === 'running stage' && r.stage === 'slow').length;
      expect(runs()).toBe(1);
      const passes = () => log.records.filter((r) => r.msg === 'pass finished' || r.msg === 'stage not planned').length;
      const before = passes();
      expect((await fetch(`${url}api/stages/slow/reconcile`, { method: 'POST', headers: { authorization: `Bearer ${token ?? ''}` } })).status).toBe(202);
      await new Promise((r) => setTimeout(r, 1500));
      expect(passes()).toBeGreaterThanOrEqual(before);
      expect(runs()).toBe(1);
      expect(status(ws.path, 'slow')?.phase).toBe('Cancelled');
      expect((await cancel(`Bearer ${token ?? ''}`)).status).toBe(409);

      // a rerun asked for runs it; cancelled again, it is held again
      expect((await fetch(`${url}api/stages/slow/rerun`, { method: 'POST', headers: { authorization: `Bearer ${token ?? ''}` } })).status).toBe(202);
      await waitFor('slow rerun', () => runs() === 2 && status(ws.path, 'slow')?.phase === 'Running', log, 30_000);
      await waitFor('the rerun in its container', async () => (await reprodContainers(docker, ws.path)).length === 1, log, 30_000);
      expect((await cancel(`Bearer ${token ?? ''}`)).status).toBe(202);
      await waitFor('slow cancelled again', () => status(ws.path, 'slow')?.phase === 'Cancelled', log, 30_000);

      // new input: it runs again by itself
      writeFileSync(path.join(ws.path, 'in.txt'), 'two\n');
      await waitFor('slow running again', () => runs() === 3 && status(ws.path, 'slow')?.phase === 'Running', log, 30_000);
    } finally {
      ac.abort();
      await done;
    }
    expect((await reprodContainers(docker, ws.path)).length).toBe(0);
  }, 180_000);
});
