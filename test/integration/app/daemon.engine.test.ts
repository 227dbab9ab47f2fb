/**
 * Losing the container engine is transient, never a stage failure: with an
 * engine of the test's own (a second dockerd, never the machine's), killed,
 * stopped and started again under a running daemon, the stage waits with
 * phase EngineUnavailable, status/pipeline.yaml says EngineAvailable False,
 * /healthz says degraded, reprod_engine_up is 0; when the engine answers
 * again the daemon resumes by itself, with no edit; SIGTERM stops it within
 * the grace period whatever the engine does.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDaemon } from '../../../src/app/daemon.js';
import type { Logger } from '../../../src/core/ports.js';
import { busyboxImage, engine } from '../../helpers/docker.js';
import { SecondEngine } from '../../helpers/second-engine.js';
import { tempDir } from '../../helpers/workspace.js';

let image: string;
let second: SecondEngine;
const savedHost = process.env['DOCKER_HOST'];

beforeAll(async () => {
  image = await busyboxImage(await engine());
  second = new SecondEngine();
  await second.start();
  second.loadImage(image);
  // the daemon finds its engine as Docker's CLI does
  process.env['DOCKER_HOST'] = second.host;
});

afterAll(async () => {
  if (savedHost === undefined) delete process.env['DOCKER_HOST'];
  else process.env['DOCKER_HOST'] = savedHost;
  await second[Symbol.asyncDispose]();
});

function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
}

const readYaml = (root: string, p: string): { status?: Record<string, unknown> } | undefined =>
  existsSync(path.join(root, p)) ? (parse(readFileSync(path.join(root, p), 'utf8')) as { status?: Record<string, unknown> }) : undefined;

const phase = (root: string, stage: string): unknown => readYaml(root, `status/${stage}.yaml`)?.status?.['phase'];

function engineCondition(root: string): { status: string; reason: string } | undefined {
  const conds = readYaml(root, 'status/pipeline.yaml')?.status?.['conditions'] as { type: string; status: string; reason: string }[] | undefined;
  return conds?.find((c) => c.type === 'EngineAvailable');
}

function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const make = (b: Record<string, unknown>): Logger => {
    const at = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${JSON.stringify({ ...b, ...obj })}`);
    return { debug: () => undefined, info: at('info'), warn: at('warn'), error: at('error'), child: (x) => make({ ...b, ...x }) };
  };
  return Object.assign(make({}), { lines });
}

/** Waits for a real daemon and a real engine, with a deadline. */
async function waitFor(what: string, probe: () => boolean | Promise<boolean>, log: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startDaemon(root: string) {
  const log = memoryLogger();
  const ac = new AbortController();
  let port = 0;
  const done = runDaemon({ root, runtime: 'auto', log, debounceMs: 50, tracking: false, http: { host: '127.0.0.1', port: 0 }, onListening: (p) => (port = p) }, ac.signal);
  return {
    log: log.lines,
    get: async (p: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${p}`);
      return { code: res.status, text: await res.text() };
    },
    async stop(): Promise<number> {
      const t0 = Date.now();
      ac.abort();
      await done;
      return Date.now() - t0;
    },
  };
}

/** A stage that runs long while `slow` exists (not one of its deps), and copies its input. */
function workspace(root: string): void {
  write(root, {
    'dvc.yaml': 'stages:\n  copy:\n    cmd: if [ -f slow ]; then echo started; sleep 60; fi; cp in.txt out.txt\n    deps: [in.txt]\n    params: [n]\n    outs: [out.txt]\n',
    'params.yaml': 'n: 1\n',
    'in.txt': 'data\n',
    'slow': '',
    'manifests/copy.yaml': `apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: copy}\nspec: {image: "${image}"}\n`,
  });
}

describe('the daemon when the engine goes away', () => {
  for (const how of ['killed', 'stopped'] as const) {
    it(`engine ${how} mid-run: the stage waits for it (never Failed), health says degraded, and it resumes when the engine is back`, async () => {
      await second.ensureRunning();
      using ws = tempDir('reprod-engine-');
      workspace(ws.path);
      const d = startDaemon(ws.path);
      try {
        await waitFor('the stage to run', () => phase(ws.path, 'copy') === 'Running', d.log);
        if (how === 'killed') await second.kill();
        else await second.stop();
        await waitFor('the stage to wait for the engine', () => phase(ws.path, 'copy') === 'EngineUnavailable', d.log);
        expect(engineCondition(ws.path)).toMatchObject({ status: 'False', reason: 'EngineUnavailable' });
        const health = await d.get('/healthz');
        expect(health.code).toBe(503);
        expect(JSON.parse(health.text)).toMatchObject({ status: 'degraded', engine: 'unavailable' });
        expect((await d.get('/metrics')).text).toMatch(/^reprod_engine_up 0$/m);
        expect(existsSync(path.join(ws.path, 'out.txt'))).toBe(false);

        rmSync(path.join(ws.path, 'slow'));
        await second.start();
        await waitFor('the stage to run again by itself', () => phase(ws.path, 'copy') === 'UpToDate', d.log);
        expect(readFileSync(path.join(ws.path, 'out.txt'), 'utf8')).toBe('data\n');
        await waitFor('the engine condition', () => engineCondition(ws.path)?.status === 'True', d.log);
        expect((await d.get('/healthz')).code).toBe(200);
        expect((await d.get('/metrics')).text).toMatch(/^reprod_engine_up 1$/m);
        expect(d.log.some((l) => l.startsWith('error') || /"phase":"Failed"/.test(l))).toBe(false);
      } finally {
        expect(await d.stop()).toBeLessThan(15_000);
      }
    });
  }

  it('an engine that is down from the start: an edit makes the stage wait for it, not UpToDate; SIGTERM still stops at once', async () => {
    using ws = tempDir('reprod-engine-');
    workspace(ws.path);
    rmSync(path.join(ws.path, 'slow'));
    await second.ensureRunning();
    await second.stop();
    const d = startDaemon(ws.path);
    try {
      await waitFor('the stage to wait for the engine', () => phase(ws.path, 'copy') === 'EngineUnavailable', d.log);
      const passes = () => d.log.filter((l) => l.includes('pass finished')).length;
      const before = passes();
      write(ws.path, { 'params.yaml': 'n: 2\n' });
      await waitFor('the edit to be looked at', () => passes() > before, d.log);
      expect(phase(ws.path, 'copy')).toBe('EngineUnavailable');
      expect(engineCondition(ws.path)).toMatchObject({ status: 'False' });
    } finally {
      expect(await d.stop()).toBeLessThan(10_000);
      await second.ensureRunning();
    }
  });
});
