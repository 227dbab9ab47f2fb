import { createActor, fromPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import type { PreparedRuntime, RunResult } from '../../../src/core/ports.js';
import type { ChangeReason, HashInfo, Stage } from '../../../src/core/types.js';
import type { RetryPolicy } from '../../../src/reconcile/failure-policy.js';
import { SimulatedClock } from '../../helpers/simulated-clock.js';
import { inputsFingerprint } from '../../../src/reconcile/stage-fingerprint.js';
import type { ExecuteInput, StageEmitted } from '../../../src/reconcile/stage-context.js';
import { stageMachine, topState } from '../../../src/reconcile/stage-machine.js';
import { projectStage } from '../../../src/reconcile/stage-projection.js';
import { settleOutcome } from '../../../src/reconcile/outcome.js';
import type { ExecuteResult, StagePlan } from '../../../src/reconcile/stage-steps.js';

const stage: Stage = {
  name: 'train',
  group: 'train',
  cmd: 'train',
  wdir: '.',
  deps: [{ defPath: 'in.txt', path: 'in.txt' }],
  params: [],
  outs: [{ defPath: 'out.txt', path: 'out.txt', kind: 'out', cache: true, persist: false, push: true }],
  frozen: false,
  alwaysChanged: false,
  source: { file: 'dvc.yaml', key: 'stages.train', line: 2 },
};

const IMAGE = { kind: 'container' as const, key: 'sha256:img', ref: 'img' };
const PREPARED: PreparedRuntime = { kind: 'container', identity: IMAGE, imageId: 'sha256:img', ref: 'img', settings: { network: 'none', env: {} } };

const STALE: ChangeReason[] = [{ kind: 'dep', path: 'in.txt', change: 'modified' }];

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function run(exitCode: number, extra: { oomKilled?: boolean } = {}): RunResult {
  return { outcome: { kind: 'exited', exitCode, ...extra }, runtime: 'sha256:img', startedAt: new Date(0), finishedAt: new Date(1000) };
}

/** A world of one stage: its dep's content, whether it is stale, and runs the test finishes by hand. */
function world(opts: { retry?: RetryPolicy; frozen?: boolean } = {}) {
  const clock = new SimulatedClock();
  const w = {
    dep: 'v1',
    stale: true,
    /** The next plans are forced (the daemon's rerun). */
    forced: false,
    plans: 0,
    runs: [] as { input: ExecuteInput; done: ReturnType<typeof deferred<ExecuteResult>> }[],
    emitted: [] as StageEmitted['type'][],
  };
  const plan = (s: Stage): StagePlan => {
    const hashes = new Map<string, HashInfo | null>([['in.txt', { md5: w.dep, size: 1 }]]);
    return {
      stage: s,
      entry: undefined,
      obs: { results: new Map(), hashes, params: new Map(), inCache: () => true },
      reasons: w.stale ? STALE : [],
      runtime: IMAGE,
      ...(w.forced ? { forced: true } : {}),
    };
  };
  const machine = stageMachine.provide({
    actors: {
      plan: fromPromise(async ({ input }) => {
        w.plans++;
        return plan(input.stage);
      }),
      inputs: fromPromise(async ({ input }) => inputsFingerprint(plan(input.stage))),
      // what the reconciler's effect does: every result, or throw, comes back settled
      execute: fromPromise(async ({ input }) => {
        const done = deferred<ExecuteResult>();
        w.runs.push({ input, done });
        try {
          return settleOutcome('r', { done: await done.promise });
        } catch (thrown) {
          return settleOutcome('r', { thrown });
        }
      }),
    },
  });
  const actor = createActor(machine, {
    input: { stage: { ...stage, frozen: opts.frozen ?? false }, retry: opts.retry ?? { limit: 2, baseMs: 1000, maxMs: 10_000 } },
    clock,
  });
  for (const t of ['settled', 'queued', 'requeue', 'finished'] as const) actor.on(t, () => w.emitted.push(t));
  actor.start();
  const state = () => topState(actor.getSnapshot());
  const lastRun = () => {
    const r = w.runs.at(-1);
    if (!r) throw new Error('no run');
    return r;
  };
  return { w, actor, clock, state, lastRun };
}

describe('stage machine', () => {
  it('a stale stage queues, runs when started, and settles up to date', async () => {
    const { w, actor, clock, state, lastRun } = world();
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('queued');
    expect(w.runs).toHaveLength(0);
    actor.send({ type: 'START' });
    await clock.flush();
    expect(state()).toBe('running');
    expect(projectStage(actor.getSnapshot())?.phase).toBe('Running');
    lastRun().done.resolve({ kind: 'ran', runId: 'r1', entry: { cmd: 'train', deps: [], params: new Map(), outs: [] }, run: run(0), prepared: PREPARED });
    await clock.flush();
    expect(state()).toBe('upToDate');
    expect(w.emitted).toEqual(['queued', 'finished', 'settled']);
    expect(projectStage(actor.getSnapshot())).toMatchObject({ phase: 'UpToDate', reasons: [] });
  });

  it('a fresh stage settles without running; a frozen one is Frozen', async () => {
    const fresh = world();
    fresh.w.stale = false;
    fresh.actor.send({ type: 'CHECK' });
    await fresh.clock.flush();
    expect(fresh.state()).toBe('upToDate');
    expect(fresh.w.emitted).toEqual(['settled']);

    const frozen = world({ frozen: true });
    frozen.actor.send({ type: 'CHECK' });
    await frozen.clock.flush();
    expect(frozen.state()).toBe('frozen');
    expect(projectStage(frozen.actor.getSnapshot())?.phase).toBe('Frozen');
  });

  it('a non-zero exit stays failed while its inputs hold, and runs again when they change', async () => {
    const { w, actor, clock, state, lastRun } = world();
    actor.send({ type: 'CHECK' });
    await clock.flush();
    actor.send({ type: 'START' });
    await clock.flush();
    lastRun().done.resolve({ kind: 'failed', runId: 'r1', error: new ReprodError('CMD_FAILED', 'exit code 1'), run: run(1) });
    await clock.flush();
    expect(state()).toBe('failed');
    expect(projectStage(actor.getSnapshot())).toMatchObject({ phase: 'Failed', message: 'exit code 1 (runs again when its inputs change)' });

    // looked at again (say, its output was deleted): same inputs, no retry loop
    actor.send({ type: 'CHECK' });
    await clock.flush();
    await clock.advance(3_600_000);
    expect(state()).toBe('failed');
    expect(w.runs).toHaveLength(1);
    expect(w.plans).toBe(2);

    w.dep = 'v2';
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('queued');
  });

  it('a forced plan runs a stage that is up to date, or failed on the same inputs', async () => {
    const { w, actor, clock, state, lastRun } = world();
    w.stale = false;
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('upToDate');
    w.forced = true;
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('queued');
    actor.send({ type: 'START' });
    await clock.flush();
    lastRun().done.resolve({ kind: 'failed', runId: 'r1', error: new ReprodError('CMD_FAILED', 'exit code 1'), run: run(1) });
    await clock.flush();
    expect(state()).toBe('failed');
    // stale on the same inputs: unforced it stays failed; forced, it runs again
    w.stale = true;
    w.forced = false;
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('failed');
    w.forced = true;
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('queued');
    expect(w.runs).toHaveLength(1);
  });

  it('transient failures retry with capped exponential backoff, then fail, and a later look starts over', async () => {
    const { w, actor, clock, state, lastRun } = world({ retry: { limit: 2, baseMs: 1000, maxMs: 1500 } });
    const requeues: number[] = [];
    actor.on('requeue', () => requeues.push(clock.now().getTime()));
    const t0 = clock.now().getTime();
    actor.send({ type: 'CHECK' });
    await clock.flush();
    actor.send({ type: 'START' });
    await clock.flush();
    lastRun().done.reject(new ReprodError('RUNTIME', 'engine gone'));
    await clock.flush();
    expect(state()).toBe('backoff');
    expect(projectStage(actor.getSnapshot())).toMatchObject({ phase: 'Backoff', retries: 1 });
    await clock.advance(999);
    expect(state()).toBe('backoff');
    await clock.advance(1);
    expect(state()).toBe('waiting');
    expect(requeues).toEqual([t0 + 1000]);

    // the reconciler looks again: second attempt, OOM-killed this time
    actor.send({ type: 'CHECK' });
    await clock.flush();
    actor.send({ type: 'START' });
    await clock.flush();
    lastRun().done.resolve({ kind: 'failed', runId: 'r2', error: new ReprodError('CMD_FAILED', 'exit 137 (killed: out of memory)'), run: run(137, { oomKilled: true }) });
    await clock.flush();
    expect(state()).toBe('backoff');
    await clock.advance(1500); // 2 × 1000 capped at 1500
    expect(requeues).toEqual([t0 + 1000, t0 + 2500]);

    actor.send({ type: 'CHECK' });
    await clock.flush();
    actor.send({ type: 'START' });
    await clock.flush();
    lastRun().done.reject(new ReprodError('RUNTIME', 'engine gone'));
    await clock.flush();
    expect(state()).toBe('failed');
    expect(actor.getSnapshot().context.failedFingerprint).toBeUndefined();

    // exhausted transient failures may heal: the next look tries again
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('queued');
    expect(w.runs).toHaveLength(3);
  });

  it('an input change under a running stage cancels the run; the same inputs let it go on', async () => {
    const { w, actor, clock, state, lastRun } = world();
    actor.send({ type: 'CHECK' });
    await clock.flush();
    actor.send({ type: 'START' });
    await clock.flush();
    const signal = lastRun().input.signal;

    actor.send({ type: 'CHECK' }); // an event, but the content is the same
    await clock.flush();
    expect(actor.getSnapshot().matches({ running: 'active' })).toBe(true);
    expect(signal.aborted).toBe(false);

    w.dep = 'v2';
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(actor.getSnapshot().matches({ running: 'cancelling' })).toBe(true);
    expect(signal.aborted).toBe(true);
    expect(projectStage(actor.getSnapshot())?.message).toMatch(/^cancelling: its inputs changed/);

    lastRun().done.resolve({ kind: 'cancelled', runId: 'r1' });
    await clock.flush();
    expect(state()).toBe('cancelled');
    expect(w.emitted).toEqual(['queued', 'finished', 'requeue']);
    expect(projectStage(actor.getSnapshot())?.phase).toBe('Cancelled');
  });

  it('a run refused at commit because its inputs changed counts as cancelled', async () => {
    const { actor, clock, state, lastRun } = world();
    actor.send({ type: 'CHECK' });
    await clock.flush();
    actor.send({ type: 'START' });
    await clock.flush();
    lastRun().done.reject(new ReprodError('STALE_RUN', 'inputs changed'));
    await clock.flush();
    expect(state()).toBe('cancelled');
    // as executeStage reports it: a failed outcome whose error is STALE_RUN
    actor.send({ type: 'CHECK' });
    await clock.flush();
    actor.send({ type: 'START' });
    await clock.flush();
    lastRun().done.resolve({ kind: 'failed', runId: 'r2', error: new ReprodError('STALE_RUN', 'inputs changed'), run: run(0), prepared: PREPARED });
    await clock.flush();
    expect(state()).toBe('cancelled');
    expect(projectStage(actor.getSnapshot())?.message).toBe('cancelled: its inputs changed while it ran');
  });

  it('CANCEL aborts a run; downstream of a failure is blocked', async () => {
    const a = world();
    a.actor.send({ type: 'CHECK' });
    await a.clock.flush();
    a.actor.send({ type: 'START' });
    await a.clock.flush();
    a.actor.send({ type: 'CANCEL', reason: 'reprod is stopping' });
    await a.clock.flush();
    expect(a.lastRun().input.signal.aborted).toBe(true);
    a.lastRun().done.resolve({ kind: 'cancelled', runId: 'r1' });
    await a.clock.flush();
    expect(projectStage(a.actor.getSnapshot())).toMatchObject({ phase: 'Cancelled', message: 'cancelled: reprod is stopping' });

    const b = world();
    b.actor.send({ type: 'CHECK', upstreamFailed: 'prepare' });
    await b.clock.flush();
    expect(b.state()).toBe('blocked');
    expect(projectStage(b.actor.getSnapshot())).toMatchObject({ phase: 'Blocked', message: "upstream stage 'prepare' failed" });
  });

  it('a look during backoff keeps the delay unless the inputs changed', async () => {
    const { w, actor, clock, state, lastRun } = world();
    actor.send({ type: 'CHECK' });
    await clock.flush();
    actor.send({ type: 'START' });
    await clock.flush();
    lastRun().done.reject(new Error('EIO'));
    await clock.flush();
    expect(state()).toBe('backoff');
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('backoff');
    w.dep = 'v2';
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('queued');
    expect(actor.getSnapshot().context.retries).toBe(0);
  });

  it('idle, waiting and planning project to nothing', async () => {
    const { actor, clock } = world();
    expect(projectStage(actor.getSnapshot())).toBeUndefined();
    actor.send({ type: 'WAIT' });
    await clock.flush();
    expect(topState(actor.getSnapshot())).toBe('waiting');
    expect(projectStage(actor.getSnapshot())).toBeUndefined();
  });
});

describe('stage machine: steps and a cancel by a person', () => {
  it('a plan that reads much shows Hashing; a run building its image shows Building, then Running', async () => {
    const clock = new SimulatedClock();
    const planned = deferred<void>();
    const built = deferred<void>();
    let step: ExecuteInput['step'];
    const machine = stageMachine.provide({
      actors: {
        plan: fromPromise(async ({ input }) => {
          input.step?.({ step: 'hashing', detail: 'data/big.bin (100.0 MiB)' });
          await planned.promise;
          const hashes = new Map<string, HashInfo | null>([['in.txt', { md5: 'v1', size: 1 }]]);
          return { stage: input.stage, entry: undefined, obs: { results: new Map(), hashes, params: new Map(), inCache: () => true }, reasons: STALE, runtime: IMAGE };
        }),
        inputs: fromPromise(async () => 'same'),
        execute: fromPromise(async ({ input }) => {
          step = input.step;
          input.step?.({ step: 'building', detail: 'reprod/train:ctx-1' });
          await built.promise;
          input.step?.({ step: 'running' });
          return new Promise<never>(() => undefined);
        }),
      },
    });
    const actor = createActor(machine, { input: { stage, retry: { limit: 0, baseMs: 1, maxMs: 1 } }, clock }).start();
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(projectStage(actor.getSnapshot())).toMatchObject({ phase: 'Hashing', message: 'hashing data/big.bin (100.0 MiB)' });
    planned.resolve();
    await clock.flush();
    expect(projectStage(actor.getSnapshot())?.phase).toBe('Queued');
    actor.send({ type: 'START' });
    await clock.flush();
    expect(projectStage(actor.getSnapshot())).toMatchObject({ phase: 'Building', message: 'building image reprod/train:ctx-1' });
    built.resolve();
    await clock.flush();
    expect(projectStage(actor.getSnapshot())?.phase).toBe('Running');
    // a step that belongs to the other state is not taken: a running stage does not show Hashing
    step?.({ step: 'hashing' });
    await clock.flush();
    expect(projectStage(actor.getSnapshot())?.phase).toBe('Running');
    actor.stop();
  });

  it('held Cancelled while its inputs hold (settled, not requeued); a forced plan or new inputs run it again', async () => {
    const { w, actor, clock, state, lastRun } = world();
    actor.send({ type: 'CHECK' });
    await clock.flush();
    actor.send({ type: 'START' });
    await clock.flush();
    actor.send({ type: 'CANCEL', reason: 'asked from the web view', hold: true });
    await clock.flush();
    expect(lastRun().input.signal.aborted).toBe(true);
    lastRun().done.resolve({ kind: 'cancelled', runId: 'r1' });
    await clock.flush();
    expect(state()).toBe('held');
    expect(w.emitted).toEqual(['queued', 'finished', 'settled']);
    expect(projectStage(actor.getSnapshot())).toMatchObject({ phase: 'Cancelled', held: true, message: 'cancelled: asked from the web view (runs again when its inputs change, or when a rerun is asked)' });
    // looked at again, same inputs: still held, no run
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('held');
    expect(w.runs).toHaveLength(1);
    // a rerun asked for
    w.forced = true;
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('queued');
    actor.send({ type: 'START' });
    await clock.flush();
    // a cancel that is not a person's (inputs changed, shutdown) requeues as before
    actor.send({ type: 'CANCEL', reason: 'reprod is stopping' });
    await clock.flush();
    lastRun().done.resolve({ kind: 'cancelled', runId: 'r2' });
    await clock.flush();
    expect(state()).toBe('cancelled');
    // held again, then new inputs: it runs
    w.forced = false;
    actor.send({ type: 'CHECK' });
    await clock.flush();
    actor.send({ type: 'START' });
    await clock.flush();
    actor.send({ type: 'CANCEL', reason: 'by hand', hold: true });
    await clock.flush();
    lastRun().done.resolve({ kind: 'cancelled', runId: 'r3' });
    await clock.flush();
    expect(state()).toBe('held');
    w.dep = 'v2';
    actor.send({ type: 'CHECK' });
    await clock.flush();
    expect(state()).toBe('queued');
  });
});
