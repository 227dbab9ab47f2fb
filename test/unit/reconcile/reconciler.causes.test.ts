import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import type { PreparedRuntime } from '../../../src/core/ports.js';
import type { HashInfo, Lockfile, LockStage, Pipeline, Stage } from '../../../src/core/types.js';
import { buildDag } from '../../../src/pipeline/dag.js';
import type { RetryPolicy } from '../../../src/reconcile/failure-policy.js';
import { settleOutcome, trackingResultOf, type StageOutcome } from '../../../src/reconcile/outcome.js';
import { Reconciler, type ReconcileSpec } from '../../../src/reconcile/reconciler.js';
import type { StageEffects } from '../../../src/reconcile/stage-effects.js';
import { inputsFingerprint } from '../../../src/reconcile/stage-fingerprint.js';
import type { StagePlan } from '../../../src/reconcile/stage-steps.js';
import type { StageReport } from '../../../src/status/reporter.js';
import { MemoryLogger } from '../../helpers/mlflow-server.js';
import { SimulatedClock } from '../../helpers/simulated-clock.js';
import { fileStage } from '../../helpers/stages.js';

/**
 * Every way a stage run ends badly carries its cause to all three places
 * where people look: the daemon's log line, status/<stage>.yaml (`message`
 * and `lastRun.error`) and what the stageFinished hook hands to tracking
 * (the MLflow run's `reprod.error` tag and description). One stage, a fake
 * world whose plan and run do what each case needs.
 */

const IMAGE = { kind: 'container' as const, key: 'sha256:img', ref: 'img' };
const PREPARED: PreparedRuntime = { kind: 'container', identity: IMAGE, imageId: 'sha256:img', ref: 'img', settings: { network: 'none', env: {} } };
const a = fileStage('a', ['in'], ['out']);

type RunScript = (runId: string, signal: AbortSignal) => Promise<StageOutcome>;

function harness(o: { retry?: RetryPolicy; planError?: () => unknown; run?: RunScript }) {
  const clock = new SimulatedClock();
  const log = new MemoryLogger();
  const files = new Map([['in', '1']]);
  const reports: StageReport[] = [];
  const tracked: ReturnType<typeof trackingResultOf>[] = [];
  let seq = 0;
  const plan = (stage: Stage): StagePlan => {
    const v = files.get('in') ?? '';
    const hashes = new Map<string, HashInfo | null>([['in', { md5: v, size: v.length }]]);
    return { stage, entry: undefined, obs: { results: new Map(), hashes, params: new Map(), inCache: () => true }, reasons: [{ kind: 'dep', path: 'in', change: 'modified' }], runtime: IMAGE };
  };
  const effects: StageEffects = {
    plan: async (stage) => {
      const err = o.planError?.();
      if (err !== undefined) throw err;
      return plan(stage);
    },
    inputs: async (stage) => inputsFingerprint(plan(stage)),
    newRunId: () => `run-${++seq}`,
    readLock: async (): Promise<Lockfile> => ({ stages: new Map<string, LockStage>() }),
    flush: async () => undefined,
    execute: async (_plan, { signal, runId, onStart }) => {
      await onStart?.(runId, PREPARED);
      return (o.run ?? untilAborted)(runId, signal);
    },
  };
  const pipeline: Pipeline = { file: 'dvc.yaml', stages: [a], params: [], metrics: [], plots: [] };
  const spec: ReconcileSpec = { pipeline, dag: buildDag(pipeline), manifests: { stages: new Map(), pipeline: {} }, text: 'a' };
  const r = new Reconciler({
    loadSpec: () => spec,
    effects,
    status: {
      stage: async (_stage, _runtime, report) => void reports.push(report),
      pipeline: async () => undefined,
    },
    clock,
    log,
    debounceMs: 100,
    resyncMs: 0,
    retry: o.retry ?? { limit: 0, baseMs: 1000, maxMs: 1000 },
    hooks: { stageFinished: (_stage, outcome) => void tracked.push(trackingResultOf(outcome)) },
  });
  const ac = new AbortController();
  const done = r.start(ac.signal);
  return {
    clock,
    files,
    r,
    /** The `err` of every log line with this message. */
    errs: (msg: string) => log.lines.map((l) => JSON.parse(l) as { msg?: string; err?: string }).filter((l) => l.msg === msg).map((l) => l.err),
    last: () => reports.at(-1),
    tracked,
    stop: async () => {
      ac.abort();
      await clock.flush();
      await done;
    },
  };
}

function untilAborted(runId: string, signal: AbortSignal): Promise<StageOutcome> {
  // as executeStage answers a cancelled run: no reason of its own
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve({ kind: 'cancelled', runId }), { once: true }));
}

const failing = (error: ReprodError, transient: boolean): RunScript => async (runId) => ({ kind: 'failed', runId, error, transient });

describe('every failure carries its cause', () => {
  it('a run that fails: log, status message and lastRun, tracking', async () => {
    const h = harness({ run: failing(new ReprodError('CMD_FAILED', "failed to reproduce 'a': the command failed with exit code 3"), false) });
    await h.clock.advance(1000);
    const cause = "failed to reproduce 'a': the command failed with exit code 3";
    expect(h.errs('stage finished')).toEqual([cause]);
    expect(h.last()).toMatchObject({ phase: 'Failed', message: `${cause} (runs again when its inputs change)`, lastRun: { error: cause } });
    expect(h.tracked).toEqual([{ outcome: 'failed', action: 'ran', error: cause }]);
    await h.stop();
  });

  it('an error that has no message still says what it was', async () => {
    const h = harness({ run: async (runId) => settleOutcome(runId, { thrown: new Error('') }) });
    await h.clock.advance(1000);
    const [cause] = h.errs('stage finished');
    expect(cause).toBe('Error (with no message)');
    expect(h.last()).toMatchObject({ phase: 'Failed', message: cause, lastRun: { error: cause } });
    expect(h.tracked).toEqual([{ outcome: 'failed', action: 'ran', error: cause }]);
    await h.stop();
  });

  it('a transient failure that backs off', async () => {
    const h = harness({ retry: { limit: 2, baseMs: 60_000, maxMs: 60_000 }, run: failing(new ReprodError('CACHE', 'ENOSPC: no space left on device'), true) });
    await h.clock.advance(1000);
    expect(h.errs('stage finished')).toEqual(['ENOSPC: no space left on device']);
    expect(h.last()).toMatchObject({ phase: 'Backoff', message: 'retry 1 of 2 after a transient failure: ENOSPC: no space left on device', lastRun: { error: 'ENOSPC: no space left on device' } });
    expect(h.tracked).toEqual([{ outcome: 'failed', action: 'ran', error: 'ENOSPC: no space left on device' }]);
    await h.stop();
  });

  it('a run that loses the engine', async () => {
    const h = harness({ run: failing(new ReprodError('ENGINE_UNAVAILABLE', 'the Docker engine stopped answering'), true) });
    await h.clock.advance(1000);
    expect(h.errs('stage finished')).toEqual(['the Docker engine stopped answering']);
    expect(h.last()).toMatchObject({ phase: 'EngineUnavailable', message: 'waiting for the container engine: the Docker engine stopped answering', lastRun: { error: 'the Docker engine stopped answering' } });
    expect(h.tracked).toEqual([{ outcome: 'failed', action: 'ran', error: 'the Docker engine stopped answering' }]);
    await h.stop();
  });

  it('a run cancelled because its inputs changed', async () => {
    const h = harness({});
    await h.clock.advance(500);
    h.files.set('in', '2');
    h.r.enqueue('a');
    await h.clock.advance(150);
    const cause = 'cancelled: its inputs changed while it ran';
    expect(h.errs('stage finished')[0]).toBe(cause);
    expect(h.tracked[0]).toEqual({ outcome: 'cancelled', action: 'ran', error: cause });
    const cancelled = h.last();
    expect(cancelled?.lastRun?.error).toBe(cause);
    await h.stop();
  });

  it('a run cancelled because reprod stops', async () => {
    const h = harness({});
    await h.clock.advance(500);
    await h.stop();
    const cause = 'cancelled: reprod is stopping';
    expect(h.errs('stage finished')).toEqual([cause]);
    expect(h.last()).toMatchObject({ phase: 'Cancelled', message: cause, lastRun: { error: cause } });
    expect(h.tracked).toEqual([{ outcome: 'cancelled', action: 'ran', error: cause }]);
  });

  it('a stage that cannot be planned, for good', async () => {
    const h = harness({ planError: () => new ReprodError('PARAMS_FILE', 'params.yaml is not valid YAML', { source: { file: 'params.yaml', line: 3 } }) });
    await h.clock.advance(1000);
    expect(h.errs('stage not planned')).toEqual(['params.yaml:3: params.yaml is not valid YAML']);
    expect(h.last()).toMatchObject({ phase: 'Failed', message: 'params.yaml:3: params.yaml is not valid YAML' });
    await h.stop();
  });

  it('a stage that cannot be planned for now, and backs off', async () => {
    const h = harness({ retry: { limit: 2, baseMs: 60_000, maxMs: 60_000 }, planError: () => new ReprodError('HASH_IO', 'cannot read in: EIO') });
    await h.clock.advance(1000);
    expect(h.errs('stage not planned')).toEqual(['cannot read in: EIO']);
    expect(h.last()).toMatchObject({ phase: 'Backoff', message: 'retry 1 of 2 after a transient failure: cannot read in: EIO' });
    await h.stop();
  });
});
