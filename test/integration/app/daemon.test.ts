/**
 * The daemon against the real engine and real files: each test makes a
 * workspace whose stages run in the tiny busybox image (named in a manifest),
 * starts `reprod daemon` (in-process, or as a child process where a signal is
 * the point), edits files, and waits for the files the daemon writes. Waiting
 * polls with a deadline: it waits for a real process, it does not stand in
 * for logic. What must not happen is checked once a pass has looked at the
 * change (the reconciler's pass hooks), never after a fixed sleep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDaemon } from '../../../src/app/daemon.js';
import type { Logger } from '../../../src/core/ports.js';
import { parseLockfile } from '../../../src/lock/lockfile.js';
import { busyboxImage, engine, reprodContainers } from '../../helpers/docker.js';
import { assertStatusFilesValid, tempDir } from '../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../..');

let docker: Docker;
let image: string;

beforeAll(async () => {
  docker = await engine();
  image = await busyboxImage(docker);
});

function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
}

const read = (root: string, p: string): string | undefined => (existsSync(path.join(root, p)) ? readFileSync(path.join(root, p), 'utf8') : undefined);

/** status/<name>.yaml as plain data (undefined while absent or half-known). */
function status(root: string, name: string): { status: Record<string, unknown> & { phase?: string; lastRun?: Record<string, unknown> } } | undefined {
  const text = read(root, `status/${name}.yaml`);
  if (text === undefined) return undefined;
  return parse(text) as { status: Record<string, unknown> & { phase?: string } };
}

/** status/pipeline.yaml's phase once every stage is up to date (undefined before). */
function pipelineUpToDate(root: string): boolean {
  const p = parse(read(root, 'status/pipeline.yaml') ?? '') as { status?: { phase?: string } } | null;
  return p?.status?.phase === 'UpToDate';
}

/** The stage manifests: every stage runs in the busybox image. */
function manifests(names: string[]): string {
  return names.map((n) => `apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: ${n}}\nspec: {image: "${image}"}\n`).join('---\n');
}

/**
 * A logger that keeps its lines, to show what the daemon did when a wait
 * times out, and the paths the watcher reported (its debug `change` record,
 * written as it hands the keys to the queue).
 */
function memoryLogger(): Logger & { lines: string[]; changed: string[] } {
  const lines: string[] = [];
  const changed: string[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const at = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${JSON.stringify({ ...bindings, ...obj })}`);
    const debug = (obj: object, msg?: string) => {
      if (msg === 'change' && 'path' in obj && typeof obj.path === 'string') changed.push(obj.path);
    };
    return { debug, info: at('info'), warn: at('warn'), error: at('error'), child: (b) => make({ ...bindings, ...b }) };
  };
  return Object.assign(make({}), { lines, changed });
}

async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, opts: { timeoutMs?: number; log?: string[] } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 12_000);
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${(opts.log ?? []).slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

/** A gauge or counter without labels from a /metrics scrape. */
async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`/metrics has no ${name}`);
  return Number(line.slice(name.length + 1));
}

/** Runs the daemon in this process until the returned stop() is called. */
function startDaemon(root: string, opts: { maxParallel?: number } = {}) {
  const log = memoryLogger();
  const ac = new AbortController();
  let port = 0;
  // the reconciler's own pass events: the passes under way
  const open = new Set<string>();
  const done = runDaemon(
    {
      root,
      runtime: 'auto',
      log,
      debounceMs: 50,
      http: { host: '127.0.0.1', port: 0 },
      onListening: (p) => (port = p),
      hooks: {
        passStarted: (id) => void open.add(id),
        passFinished: (id) => void open.delete(id),
      },
      ...(opts.maxParallel !== undefined ? { maxParallel: opts.maxParallel } : {}),
    },
    ac.signal,
  );
  return {
    log: log.lines,
    get port() {
      return port;
    },
    /**
     * Makes `change` (which touches `file`) and resolves once the pass that
     * looked at it has finished: the watcher has reported `file`, its keys
     * have left the queue (taken by a worker, which opens a pass or joins the
     * one under way), and every pass under way then has ended. A pass ends
     * only when nothing it started is still running, so whatever the change
     * set off has happened by then.
     */
    async changeAndPass(file: string, change: () => void): Promise<void> {
      const seen = log.changed.length;
      change();
      await waitFor(`the watcher to report ${file}`, () => log.changed.slice(seen).includes(file), { log: log.lines });
      await waitFor('its keys to leave the queue', async () => (await metric(port, 'reprod_queue_delayed')) === 0 && (await metric(port, 'reprod_queue_depth')) === 0, {
        log: log.lines,
      });
      const underWay = [...open];
      await waitFor('the pass that looked at it', () => underWay.every((id) => !open.has(id)), { log: log.lines });
    },
    async stop() {
      ac.abort();
      await done;
    },
    async [Symbol.asyncDispose]() {
      ac.abort();
      await done;
    },
  };
}

/** `reprod daemon` as a child process (node + tsx), its stderr kept. */
function spawnDaemon(root: string): ChildProcess & { output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), '-C', root, 'daemon', '--port', '0', '--debounce-ms', '50'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return Object.assign(child, { output: () => out, exited });
}

const PIPELINE = `stages:
  upper:
    cmd: tr a-z A-Z < in.txt > up.txt
    deps: [in.txt]
    outs: [up.txt]
  twice:
    cmd: cat up.txt up.txt > twice.txt
    deps: [up.txt]
    outs: [twice.txt]
  other:
    cmd: cp other.txt other-out.txt
    deps: [other.txt]
    outs: [other-out.txt]
`;

describe('reprod daemon', () => {
  it('reruns an edited stage and its downstream with no command typed, and leaves the rest', async () => {
    using ws = tempDir('reprod-daemon-');
    write(ws.path, { 'dvc.yaml': PIPELINE, 'in.txt': 'hello\n', 'other.txt': 'x\n', 'manifests/stages.yaml': manifests(['upper', 'twice', 'other']) });
    await using d = startDaemon(ws.path);
    await waitFor('the first pass', () => read(ws.path, 'twice.txt') === 'HELLO\nHELLO\n' && pipelineUpToDate(ws.path), { log: d.log });
    const otherRun = status(ws.path, 'other')?.status.lastRun?.runId;
    const upperRun = status(ws.path, 'upper')?.status.lastRun?.runId;

    write(ws.path, { 'in.txt': 'edited!\n' });
    await waitFor('the downstream rerun', () => read(ws.path, 'twice.txt') === 'EDITED!\nEDITED!\n', { log: d.log });
    await waitFor('status up to date', () => pipelineUpToDate(ws.path));
    expect(status(ws.path, 'upper')?.status.lastRun?.runId).not.toBe(upperRun);
    expect(status(ws.path, 'other')?.status.lastRun?.runId).toBe(otherRun);
    const lock = parseLockfile(read(ws.path, 'dvc.lock') ?? '');
    expect(lock.stages.get('twice')?.deps[0]?.md5).toBe(lock.stages.get('upper')?.outs[0]?.md5);
    // each stage run is an MLflow run (./mlruns by default), named in the stage's status
    await waitFor('the tracking run id in status', () => typeof status(ws.path, 'upper')?.status.lastRun?.trackingRunId === 'string');
    const trackingRunId = status(ws.path, 'upper')?.status.lastRun?.trackingRunId as string;
    const experiments = readdirSync(path.join(ws.path, 'mlruns')).filter((e) => /^\d+$/.test(e) && e !== '0');
    expect(experiments.some((e) => read(ws.path, `mlruns/${e}/${trackingRunId}/tags/mlflow.runName`) === 'upper')).toBe(true);
    await d.stop();
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
    assertStatusFilesValid(ws.path);
  });

  it('an edit during a run cancels the run and runs the stage again', async () => {
    using ws = tempDir('reprod-daemon-');
    write(ws.path, {
      'dvc.yaml': 'stages:\n  slow:\n    cmd: sleep 2 && cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n',
      'in.txt': 'one\n',
      'manifests/stages.yaml': manifests(['slow']),
    });
    await using d = startDaemon(ws.path);
    await waitFor('the run to start', () => status(ws.path, 'slow')?.status.phase === 'Running', { log: d.log });
    write(ws.path, { 'in.txt': 'second\n' });
    await waitFor('the rerun', () => read(ws.path, 'out.txt') === 'second\n' && status(ws.path, 'slow')?.status.phase === 'UpToDate', { log: d.log });
    const metrics = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
    expect(metrics).toContain('reprod_stage_runs_total{stage="slow",outcome="cancelled"} 1');
    expect(metrics).toContain('reprod_stage_runs_total{stage="slow",outcome="ran"} 1');
    expect(parseLockfile(read(ws.path, 'dvc.lock') ?? '').stages.get('slow')?.deps[0]?.size).toBe(7);
    await d.stop();
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
    assertStatusFilesValid(ws.path);
  });

  it('runs two independent stages at the same time', async () => {
    using ws = tempDir('reprod-daemon-');
    write(ws.path, {
      'dvc.yaml': 'stages:\n  left:\n    cmd: sleep 2 && echo l > l.txt\n    outs: [l.txt]\n  right:\n    cmd: sleep 2 && echo r > r.txt\n    outs: [r.txt]\n',
      'manifests/stages.yaml': manifests(['left', 'right']),
    });
    await using d = startDaemon(ws.path, { maxParallel: 2 });
    const runs = await waitFor(
      'both runs',
      () => {
        const l = status(ws.path, 'left')?.status;
        const r = status(ws.path, 'right')?.status;
        return l?.phase === 'UpToDate' && r?.phase === 'UpToDate' && l.lastRun && r.lastRun ? [l.lastRun, r.lastRun] : undefined;
      },
      { log: d.log },
    );
    const [l, r] = runs.map((x) => ({ start: Date.parse(String(x.startedAt)), end: Date.parse(String(x.finishedAt)) }));
    if (!l || !r) throw new Error('no runs');
    // each took ≥ 2 s; they overlap for most of it
    expect(Math.min(l.end, r.end) - Math.max(l.start, r.start)).toBeGreaterThan(1500);
    await d.stop();
    assertStatusFilesValid(ws.path);
  });

  it('stays up with a broken dvc.yaml, shows where it is broken, and resumes when it is fixed', async () => {
    using ws = tempDir('reprod-daemon-');
    const good = 'stages:\n  s:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n';
    write(ws.path, { 'dvc.yaml': good, 'in.txt': 'a\n', 'manifests/stages.yaml': manifests(['s']) });
    await using d = startDaemon(ws.path);
    await waitFor('the first pass', () => read(ws.path, 'out.txt') === 'a\n' && pipelineUpToDate(ws.path), { log: d.log });

    write(ws.path, { 'dvc.yaml': 'stages:\n  s:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outz: [out.txt]\n' });
    const error = await waitFor(
      'the error in status',
      () => (parse(read(ws.path, 'status/pipeline.yaml') ?? '') as { status?: { error?: Record<string, unknown> } }).status?.error,
      { log: d.log },
    );
    expect(error).toMatchObject({ code: 'SCHEMA', file: 'dvc.yaml', line: 5 });
    expect(String(error.message)).toContain('outz');
    // nothing starts, nothing is deleted while the spec is invalid: a pass looks at the edit and leaves out.txt
    await d.changeAndPass('in.txt', () => write(ws.path, { 'in.txt': 'b\n' }));
    expect(read(ws.path, 'out.txt'), d.log.join('\n')).toBe('a\n');
    expect((await fetch(`http://127.0.0.1:${d.port}/healthz`)).status).toBe(200);
    expect(await metric(d.port, 'reprod_spec_valid')).toBe(0);

    write(ws.path, { 'dvc.yaml': good });
    await waitFor('the resumed pass', () => read(ws.path, 'out.txt') === 'b\n', { log: d.log });
    await waitFor('the error gone', () => {
      const p = parse(read(ws.path, 'status/pipeline.yaml') ?? '') as { status?: { error?: unknown; phase?: string } };
      return p.status?.error === undefined && p.status?.phase === 'UpToDate';
    });
    await d.stop();
    assertStatusFilesValid(ws.path);
  });

  it('an edit of a vars file that templating reads reruns the stage that uses it', async () => {
    using ws = tempDir('reprod-daemon-vars-');
    write(ws.path, {
      'dvc.yaml': 'vars:\n  - config.yaml\nstages:\n  greet:\n    cmd: echo ${word} > out.txt\n    outs: [out.txt]\n',
      'config.yaml': 'word: hello\n',
      'manifests/stages.yaml': manifests(['greet']),
    });
    await using d = startDaemon(ws.path);
    await waitFor('the first pass', () => read(ws.path, 'out.txt') === 'hello\n' && pipelineUpToDate(ws.path), { log: d.log });
    write(ws.path, { 'config.yaml': 'word: again\n' });
    await waitFor('the rerun with the new value', () => read(ws.path, 'out.txt') === 'again\n' && pipelineUpToDate(ws.path), { log: d.log });
    expect(parseLockfile(read(ws.path, 'dvc.lock') ?? '').stages.get('greet')?.cmd).toBe('echo again > out.txt');
  });

  it('a failing stage stays failed until its inputs change, blocks its downstream, and other branches go on', async () => {
    using ws = tempDir('reprod-daemon-');
    write(ws.path, {
      'dvc.yaml':
        'stages:\n' +
        '  check:\n    cmd: grep -q ok in.txt && cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n' +
        '  after:\n    cmd: cp out.txt after.txt\n    deps: [out.txt]\n    outs: [after.txt]\n' +
        '  other:\n    cmd: echo fine > other.txt\n    outs: [other.txt]\n',
      'in.txt': 'bad\n',
      'manifests/stages.yaml': manifests(['check', 'after', 'other']),
    });
    await using d = startDaemon(ws.path);
    await waitFor(
      'the failure',
      () => status(ws.path, 'check')?.status.phase === 'Failed' && status(ws.path, 'after')?.status.phase === 'Blocked' && status(ws.path, 'other')?.status.phase === 'UpToDate',
      { log: d.log },
    );
    expect(status(ws.path, 'check')?.status.lastRun).toMatchObject({ outcome: 'Failed', exitCode: 1 });
    // looked at again (its output touched by hand): a pass looks at it, and does not run it again
    await d.changeAndPass('out.txt', () => write(ws.path, { 'out.txt': 'by hand\n' }));
    const metrics = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
    expect(metrics).toContain('reprod_stage_runs_total{stage="check",outcome="failed"} 1\n');
    expect(metrics).toContain('reprod_stage_failures_total{stage="check",kind="permanent"} 1\n');

    write(ws.path, { 'in.txt': 'ok now\n' });
    await waitFor('the recovery', () => read(ws.path, 'after.txt') === 'ok now\n' && pipelineUpToDate(ws.path), { log: d.log });
    await d.stop();
    assertStatusFilesValid(ws.path);
  });

  it('killed with SIGKILL mid-run and started again: no leftover containers, correct outputs, a valid dvc.lock', async () => {
    using ws = tempDir('reprod-daemon-');
    write(ws.path, {
      'dvc.yaml': 'stages:\n  slow:\n    cmd: cp in.txt out.txt && sleep 3 && echo done >> out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n',
      'in.txt': 'input\n',
      'manifests/stages.yaml': manifests(['slow']),
    });
    const first = spawnDaemon(ws.path);
    try {
      await waitFor('the run to start', async () => (await reprodContainers(docker, ws.path)).some((c) => c.State === 'running'), { timeoutMs: 15_000 });
      // the partial output is on disk, uncommitted
      await waitFor('a partial output', () => read(ws.path, 'out.txt') === 'input\n');
    } finally {
      first.kill('SIGKILL');
    }
    await first.exited;
    expect((await reprodContainers(docker, ws.path)).length).toBe(1);

    const second = spawnDaemon(ws.path);
    try {
      await waitFor('the rerun', () => read(ws.path, 'out.txt') === 'input\ndone\n' && status(ws.path, 'slow')?.status.phase === 'UpToDate', {
        timeoutMs: 15_000,
        log: [second.output()],
      });
      expect(second.output()).toContain('removed an orphan container');
      expect(await reprodContainers(docker, ws.path)).toEqual([]);
      const lock = parseLockfile(read(ws.path, 'dvc.lock') ?? '');
      expect(lock.stages.get('slow')?.outs[0]?.size).toBe('input\ndone\n'.length);
    } finally {
      second.kill('SIGTERM');
    }
    expect(await second.exited).toBe(0);
    assertStatusFilesValid(ws.path);
  });

  it('SIGTERM mid-run cancels the stage, removes its container, writes status and exits 0', async () => {
    using ws = tempDir('reprod-daemon-');
    write(ws.path, {
      'dvc.yaml': 'stages:\n  slow:\n    cmd: sleep 30 && echo x > out.txt\n    outs: [out.txt]\n',
      'manifests/stages.yaml': manifests(['slow']),
    });
    const child = spawnDaemon(ws.path);
    try {
      await waitFor('the run to start', () => status(ws.path, 'slow')?.status.phase === 'Running', { timeoutMs: 15_000, log: [child.output()] });
      await waitFor('its container', async () => (await reprodContainers(docker, ws.path)).length === 1);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await child.exited).toBe(0);
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
    expect(status(ws.path, 'slow')?.status.phase).toBe('Cancelled');
    expect(existsSync(path.join(ws.path, 'out.txt'))).toBe(false);
    assertStatusFilesValid(ws.path);
  });
});
