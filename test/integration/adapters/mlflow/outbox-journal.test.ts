import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { OUTBOX_DIR } from '../../../../src/app/tracking.js';
import { MemoryLogger, MlflowTestServer, TestClock } from '../../../helpers/mlflow-server.js';
import { DELIVERED_WHOLE, openRestTracker, PASS_STEPS, passWorkspace, serverSummary, type PassStep } from '../../../helpers/outbox-pass.js';
import { tempDir } from '../../../helpers/workspace.js';

/**
 * The outbox journal across processes: a writer killed with SIGKILL in the
 * middle of a pass, its journal delivered by the next process; writers whose
 * pids collide (pid 1 in two containers sharing the workspace); a live
 * writer's journal left alone; and two processes that find the same orphaned
 * journal, of which exactly one delivers it.
 */

const REPO = path.resolve(import.meta.dirname, '../../../..');
const WRITER = path.join(REPO, 'test/helpers/outbox-writer.ts');

/** A writer process (test/helpers/outbox-writer.ts) driven one step at a time. */
class Writer implements AsyncDisposable {
  private readonly child: ChildProcess;
  private readonly answers: string[] = [];
  private waiting: (() => void) | undefined;
  private readonly exited: Promise<void>;
  private stderr = '';

  constructor(cfg: { root: string; outboxDir: string; uri: string; pid?: number; hostname?: string }) {
    this.child = spawn(process.execPath, ['--import', 'tsx', WRITER, JSON.stringify(cfg)], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => void (this.stderr += d));
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      this.answers.push(l);
      this.waiting?.();
    });
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
    void this.exited.then(() => this.waiting?.());
  }

  private async answer(): Promise<string> {
    while (this.answers.length === 0) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`the writer exited: ${this.stderr}`);
      await new Promise<void>((resolve) => (this.waiting = resolve));
    }
    return this.answers.shift() ?? '';
  }

  async opened(): Promise<this> {
    expect(await this.answer()).toBe('ok open');
    return this;
  }

  async step(...steps: (PassStep | 'idle')[]): Promise<void> {
    for (const s of steps) {
      this.child.stdin?.write(`${s}\n`);
      expect(await this.answer()).toBe(`ok ${s}`);
    }
  }

  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) await this.kill();
  }
}

function fakeSleep(clock: TestClock) {
  return (ms: number) => {
    clock.advance(ms);
    return new Promise<void>((resolve) => setImmediate(resolve));
  };
}

function setup() {
  const tmp = tempDir();
  passWorkspace(tmp.path);
  const outboxDir = path.join(tmp.path, OUTBOX_DIR);
  const clock = new TestClock();
  const log = new MemoryLogger();
  return { root: tmp.path, outboxDir, clock, log, [Symbol.dispose]: () => tmp[Symbol.dispose]() };
}

const ABANDONED = /^reprod \(process \d+ on host [^)]+\) stopped before this run finished$/;

describe('MLflow outbox journal across processes', () => {
  it('closes the runs of a writer killed mid-pass as KILLED, with their cause, and delivers the rest once', async () => {
    for (const outage of [false, true]) {
      using ctx = setup();
      const { root, outboxDir, clock, log } = ctx;
      await using server = await new MlflowTestServer().start();
      {
        await using writer = await new Writer({ root, outboxDir, uri: server.uri }).opened();
        await writer.step('start train', 'finish train', 'idle');
        if (outage) await server.stop();
        // evaluate is running when the writer dies
        await writer.step('start evaluate');
        if (!outage) await writer.step('idle');
        await writer.kill();
      }
      if (outage) await server.start();
      const next = await openRestTracker({ root, outboxDir, uri: server.uri, clock, log, sleep: fakeSleep(clock) });
      expect(await next.flush(600_000)).toEqual({ available: true, pending: 0, message: '' });
      await next.close();
      const got = serverSummary(server, outboxDir);
      expect(got.runs.map((r) => ({ ...r, error: r.error?.replace(ABANDONED, 'abandoned') ?? null }))).toEqual([
        { name: 'evaluate', status: 'KILLED', parent: 'pipeline', error: 'abandoned' },
        { name: 'pipeline', status: 'KILLED', parent: null, error: 'abandoned' },
        { name: 'train', status: 'FINISHED', parent: 'pipeline', error: null },
      ]);
      expect(got.rejected).toEqual([]);
      expect(got.modelVersions).toBe(1);
      // the next process leaves no journal of its own behind once everything is delivered
      expect(readdirSync(outboxDir).filter((f) => f.startsWith('journal-'))).toEqual([]);
    }
  });

  it('delivers a whole pass journalled by a writer killed after it ended the pass, with the server down', async () => {
    using ctx = setup();
    const { root, outboxDir, clock, log } = ctx;
    await using server = await new MlflowTestServer().start();
    {
      await using writer = await new Writer({ root, outboxDir, uri: server.uri }).opened();
      await writer.step('start train', 'idle');
      await server.stop();
      await writer.step(...PASS_STEPS.slice(1));
      await writer.kill();
    }
    await server.start();
    const next = await openRestTracker({ root, outboxDir, uri: server.uri, clock, log, sleep: fakeSleep(clock) });
    expect(await next.flush(600_000)).toEqual({ available: true, pending: 0, message: '' });
    await next.close();
    expect(serverSummary(server, outboxDir)).toEqual(DELIVERED_WHOLE);
  });

  it('keeps apart the journals of writers whose pids collide (pid 1 in two containers), and delivers both', async () => {
    using ctx = setup();
    const { root, outboxDir, clock, log } = ctx;
    await using server = await new MlflowTestServer().start();
    await server.stop();
    {
      await using a = await new Writer({ root, outboxDir, uri: server.uri, pid: 1, hostname: 'container-a' }).opened();
      await using b = await new Writer({ root, outboxDir, uri: server.uri, pid: 1, hostname: 'container-b' }).opened();
      for (const s of PASS_STEPS) {
        await a.step(s);
        await b.step(s);
      }
      expect(readdirSync(outboxDir).filter((f) => f.endsWith('.jsonl') && f.startsWith('journal-'))).toHaveLength(2);
      await a.kill();
      await b.kill();
    }
    await server.start();
    // this process's pid 1 is alive (init): pid 1's journals are still taken over, since their writers hold no lock
    const next = await openRestTracker({ root, outboxDir, uri: server.uri, clock, log, sleep: fakeSleep(clock) });
    expect(await next.flush(600_000)).toEqual({ available: true, pending: 0, message: '' });
    await next.close();
    const got = serverSummary(server, outboxDir);
    expect(got.runs).toEqual([...DELIVERED_WHOLE.runs, ...DELIVERED_WHOLE.runs].sort((x, y) => x.name.localeCompare(y.name)));
    const byParent = new Map<string, number>();
    for (const r of server.runs.values()) {
      const p = r.tags.get('mlflow.parentRunId');
      if (p) byParent.set(p, (byParent.get(p) ?? 0) + 1);
    }
    // each pass run has its own two stage runs
    expect([...byParent.values()]).toEqual([2, 2]);
    expect(got.rejected).toEqual([]);
  });

  it("leaves a live writer's journal alone, and takes it over once the writer is gone", async () => {
    using ctx = setup();
    const { root, outboxDir, clock, log } = ctx;
    await using server = await new MlflowTestServer().start();
    await server.stop();
    await using writer = await new Writer({ root, outboxDir, uri: server.uri, pid: process.pid, hostname: 'elsewhere' }).opened();
    await writer.step(...PASS_STEPS);
    const open = () => openRestTracker({ root, outboxDir, uri: server.uri, clock, log, sleep: fakeSleep(clock) });
    const bystander = await open();
    expect(bystander.health().pending).toBe(0);
    await bystander.close();
    await writer.kill();
    const heir = await open();
    expect(heir.health().pending).toBeGreaterThan(0);
    await server.start();
    expect(await heir.flush(600_000)).toEqual({ available: true, pending: 0, message: '' });
    await heir.close();
    expect(serverSummary(server, outboxDir)).toEqual(DELIVERED_WHOLE);
  });

  it('lets exactly one of two processes that find the same orphaned journal take it over', async () => {
    using ctx = setup();
    const { root, outboxDir, clock, log } = ctx;
    await using server = await new MlflowTestServer().start();
    await server.stop();
    let journalled: number;
    {
      await using writer = await new Writer({ root, outboxDir, uri: server.uri }).opened();
      await writer.step(...PASS_STEPS);
      await writer.kill();
    }
    {
      const probe = await openRestTracker({ root, outboxDir, uri: server.uri, clock, log, sleep: fakeSleep(clock) });
      journalled = probe.health().pending;
      // the probe dies without delivering: its journal (now holding the records) is orphaned again
      await probe.close();
    }
    const open = () => openRestTracker({ root, outboxDir, uri: server.uri, clock, log, sleep: fakeSleep(clock) });
    const [x, y] = await Promise.all([open(), open()]);
    expect([x.health().pending, y.health().pending].sort((p, q) => p - q)).toEqual([0, journalled]);
    await server.start();
    await Promise.all([x.flush(600_000), y.flush(600_000)]);
    await Promise.all([x.close(), y.close()]);
    expect(serverSummary(server, outboxDir)).toEqual(DELIVERED_WHOLE);
    expect(server.requests.filter((r) => r.path.endsWith('/runs/create'))).toHaveLength(3);
  });

  it('takes over the journal of an older reprod, named by a pid that no longer runs', async () => {
    using ctx = setup();
    const { root, outboxDir, clock, log } = ctx;
    await using server = await new MlflowTestServer().start();
    mkdirSync(outboxDir, { recursive: true });
    const create = { kind: 'createRun', ref: 'r-old', experiment: 'exp', runName: 'pipeline', startTime: 1, tags: [{ key: 'reprod.ref', value: 'r-old' }] };
    const finish = { kind: 'finishRun', ref: 'r-old', status: 'FINISHED', endTime: 2 };
    // a pid no process has here: the kernel's pids stay below 2^22
    writeFileSync(path.join(outboxDir, 'journal-99999999.jsonl'), `${JSON.stringify({ seq: 1, op: create })}\n${JSON.stringify({ seq: 2, op: finish })}\n`);
    const next = await openRestTracker({ root, outboxDir, uri: server.uri, clock, log, sleep: fakeSleep(clock) });
    expect(next.health().pending).toBe(2);
    expect(await next.flush(600_000)).toEqual({ available: true, pending: 0, message: '' });
    await next.close();
    expect([...server.runs.values()].map((r) => [r.info.run_name, r.info.status])).toEqual([['pipeline', 'FINISHED']]);
    expect(readdirSync(outboxDir).filter((f) => f.startsWith('journal-'))).toEqual([]);
  });
});
