import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import type { Logger, PreparedRuntime } from '../../../src/core/ports.js';
import type { ChangeReason, HashInfo, Lockfile, LockStage, Pipeline, Stage } from '../../../src/core/types.js';
import { buildDag } from '../../../src/pipeline/dag.js';
import type { StageRuntimeSpec } from '../../../src/pipeline/manifests.js';
import { PIPELINE_KEY, Reconciler, type PassSummary, type ReconcileSpec, type ReconcilerOptions } from '../../../src/reconcile/reconciler.js';
import { SimulatedClock } from '../../helpers/simulated-clock.js';
import type { StageEffects } from '../../../src/reconcile/stage-effects.js';
import { inputsFingerprint } from '../../../src/reconcile/stage-fingerprint.js';
import type { StageOutcome } from '../../../src/reconcile/outcome.js';
import type { StagePlan } from '../../../src/reconcile/stage-steps.js';
import type { StageReport } from '../../../src/status/reporter.js';
import type { PipelineStatusInput, StagePhase } from '../../../src/status/status-docs.js';
import { fileStage as st } from '../../helpers/stages.js';

const IMAGE = { kind: 'container' as const, key: 'sha256:img', ref: 'img' };
const PREPARED: PreparedRuntime = { kind: 'container', identity: IMAGE, imageId: 'sha256:img', ref: 'img', settings: { network: 'none', env: {} } };

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };


function spec(stages: Stage[], opts: { maxParallel?: number; manifests?: Map<string, StageRuntimeSpec> } = {}): ReconcileSpec {
  const pipeline: Pipeline = { file: 'dvc.yaml', stages, params: [], metrics: [], plots: [] };
  return {
    pipeline,
    dag: buildDag(pipeline),
    manifests: { stages: opts.manifests ?? new Map(), pipeline: opts.maxParallel !== undefined ? { maxParallel: opts.maxParallel } : {} },
    text: JSON.stringify(stages.map((s) => [s.name, s.deps, s.outs])),
  };
}

interface FakeRun {
  stage: string;
  runId: string;
  env: Record<string, string>;
  signal: AbortSignal;
  startedAt: number;
  endedAt?: number;
  outcome?: StageOutcome['kind'];
}

/**
 * A workspace in memory: files hold version strings; a stage's command takes
 * `durationMs` of simulated time and writes each out as `name(inputs)`. The
 * lock remembers the dep contents each stage ran with.
 */
class FakeWorld {
  files = new Map<string, string>();
  lock = new Map<string, Map<string, string>>();
  runs: FakeRun[] = [];
  durationMs = 1000;
  /** Stages whose command exits 1. */
  failing = new Set<string>();
  /** Stages whose next N runs throw an engine error. */
  engineErrors = new Map<string, number>();
  plans = 0;
  seq = 0;

  constructor(private readonly clock: SimulatedClock) {}

  running(): string[] {
    return this.runs.filter((r) => r.endedAt === undefined).map((r) => r.stage);
  }

  maxConcurrent(): number {
    const edges = this.runs.flatMap((r) => [
      [r.startedAt, 1],
      [r.endedAt ?? Infinity, -1],
    ]) as [number, number][];
    edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let cur = 0;
    let max = 0;
    for (const [, d] of edges) max = Math.max(max, (cur += d));
    return max;
  }

  ranOf(stage: string): FakeRun[] {
    return this.runs.filter((r) => r.stage === stage);
  }

  private plan(stage: Stage): StagePlan {
    this.plans++;
    const hashes = new Map<string, HashInfo | null>();
    for (const p of [...stage.deps, ...stage.outs].map((x) => x.path)) {
      const v = this.files.get(p);
      hashes.set(p, v === undefined ? null : { md5: v, size: v.length });
    }
    const locked = this.lock.get(stage.name);
    const reasons: ChangeReason[] = [];
    for (const d of stage.deps) if (!locked || locked.get(d.path) !== this.files.get(d.path)) reasons.push({ kind: 'dep', path: d.path, change: this.files.has(d.path) ? 'modified' : 'deleted' });
    for (const o of stage.outs) if (!this.files.has(o.path)) reasons.push({ kind: 'out', path: o.path, change: 'deleted' });
    return { stage, entry: undefined, obs: { results: new Map(), hashes, params: new Map(), inCache: () => true }, reasons, runtime: IMAGE };
  }

  readonly effects: StageEffects = {
    plan: async (stage) => this.plan(stage),
    inputs: async (stage) => inputsFingerprint(this.plan(stage)),
    newRunId: () => `run-${++this.seq}`,
    readLock: async (): Promise<Lockfile> => ({ stages: new Map<string, LockStage>() }),
    flush: async () => undefined,
    execute: async (plan, { signal, runId, onStart }) => {
      const stage = plan.stage;
      const env = (await onStart?.(runId, PREPARED)) ?? {};
      const run0 = this.clock.now().getTime();
      const run: FakeRun = { stage: stage.name, runId, env, signal, startedAt: run0 };
      this.runs.push(run);
      const inputs = new Map(stage.deps.map((d) => [d.path, this.files.get(d.path) ?? '']));
      const end = (o: StageOutcome): StageOutcome => {
        run.endedAt = this.clock.now().getTime();
        run.outcome = o.kind;
        return o;
      };
      const engine = this.engineErrors.get(stage.name) ?? 0;
      if (engine > 0) {
        this.engineErrors.set(stage.name, engine - 1);
        return end({ kind: 'failed', runId, error: new ReprodError('RUNTIME', 'cannot reach the Docker engine'), transient: true });
      }
      for (const o of stage.outs) this.files.delete(o.path);
      return new Promise<StageOutcome>((resolve) => {
        const timer = this.clock.setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          if (this.failing.has(stage.name)) {
            resolve(end({ kind: 'failed', runId, error: new ReprodError('CMD_FAILED', `failed to reproduce '${stage.name}': exit code 1`), transient: false }));
            return;
          }
          for (const o of stage.outs) this.files.set(o.path, `${stage.name}(${[...inputs.values()].join(',')})`);
          this.lock.set(stage.name, inputs);
          const run = { outcome: { kind: 'exited' as const, exitCode: 0 }, runtime: 'sha256:img', startedAt: new Date(run0), finishedAt: this.clock.now() };
          resolve(end({ kind: 'ran', runId, entry: { cmd: stage.cmd, deps: [], params: new Map(), outs: [] }, run, prepared: PREPARED }));
        }, this.durationMs);
        const onAbort = () => {
          this.clock.clearTimeout(timer);
          resolve(end({ kind: 'cancelled', runId }));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
  };
}

/** A status sink that keeps every report. */
class FakeStatus {
  stages: { stage: string; report: StageReport }[] = [];
  pipelines: PipelineStatusInput[] = [];
  async stage(stage: Stage, _runtime: unknown, report: StageReport): Promise<void> {
    this.stages.push({ stage: stage.name, report });
  }
  async pipeline(input: PipelineStatusInput): Promise<void> {
    this.pipelines.push(input);
  }
  phasesOf(stage: string): StagePhase[] {
    const out: StagePhase[] = [];
    for (const s of this.stages) if (s.stage === stage && out.at(-1) !== s.report.phase) out.push(s.report.phase);
    return out;
  }
  last(stage: string): StageReport | undefined {
    return this.stages.filter((s) => s.stage === stage).at(-1)?.report;
  }
  lastPipeline(): PipelineStatusInput {
    const p = this.pipelines.at(-1);
    if (!p) throw new Error('no pipeline status');
    return p;
  }
}

function setup(stages: Stage[], opts: Partial<ReconcilerOptions> & { maxParallel?: number; files?: Record<string, string> } = {}) {
  const clock = new SimulatedClock();
  const world = new FakeWorld(clock);
  for (const [p, v] of Object.entries(opts.files ?? {})) world.files.set(p, v);
  const status = new FakeStatus();
  const current = { spec: spec(stages) as ReconcileSpec | Error };
  const passes: PassSummary[] = [];
  const r = new Reconciler({
    loadSpec: () => {
      if (current.spec instanceof Error) throw current.spec;
      return current.spec;
    },
    effects: world.effects,
    status,
    clock,
    log: quiet,
    debounceMs: 100,
    resyncMs: 0,
    hooks: { passFinished: (_id, s) => void passes.push(s) },
    ...opts,
  });
  const ac = new AbortController();
  const done = r.start(ac.signal);
  const stop = async () => {
    ac.abort();
    await clock.flush();
    await done;
  };
  return { clock, world, status, r, current, passes, stop };
}

describe('Reconciler', () => {
  it('brings a pipeline up to date: independent stages in parallel, downstream after upstream', async () => {
    //  prepare ◄── train       other (independent)
    const { clock, world, status, passes, stop, r } = setup(
      [st('prepare', ['raw'], ['clean']), st('train', ['clean'], ['model']), st('other', ['x'], ['y'])],
      { files: { raw: 'r1', x: 'x1' } },
    );
    await clock.flush();
    expect(world.running().sort()).toEqual(['other', 'prepare']);
    expect(status.last('prepare')?.phase).toBe('Running');
    await clock.advance(1000);
    expect(world.running()).toEqual(['train']);
    await clock.advance(1000);
    expect(world.running()).toEqual([]);
    expect(world.files.get('model')).toBe('train(prepare(r1))');
    // queued and started in the same instant: status shows the state it finds when it writes
    expect(status.phasesOf('train')).toEqual(['Running', 'UpToDate']);
    expect(status.lastPipeline().stages).toEqual({ prepare: 'UpToDate', train: 'UpToDate', other: 'UpToDate' });
    expect(passes).toHaveLength(1);
    expect(passes[0]).toMatchObject({ ran: 3, failed: 0 });
    expect(r.stats()).toMatchObject({ alive: true, specValid: true, stages: 3, running: 0, passes: 1 });
    await stop();
    expect(r.stats().alive).toBe(false);
  });

  it('runs at most maxParallel stages at once (the CLI overrides the manifest)', async () => {
    const stages = ['a', 'b', 'c', 'd', 'e'].map((n) => st(n, [`in-${n}`], [`out-${n}`]));
    const files = Object.fromEntries(stages.map((s) => [`in-${s.name}`, '1']));
    const byDefault = setup(stages, { files });
    await byDefault.clock.flush();
    expect(byDefault.status.last('e')?.phase).toBe('Queued');
    await byDefault.clock.advance(10_000);
    expect(byDefault.world.runs).toHaveLength(5);
    expect(byDefault.world.maxConcurrent()).toBe(2);
    await byDefault.stop();

    const byManifest = setup(stages, { files });
    byManifest.current.spec = spec(stages, { maxParallel: 4 });
    await byManifest.clock.advance(10_000);
    expect(byManifest.world.maxConcurrent()).toBe(4);
    await byManifest.stop();

    const byFlag = setup(stages, { files, maxParallel: 3 });
    byFlag.current.spec = spec(stages, { maxParallel: 1 });
    await byFlag.clock.advance(10_000);
    expect(byFlag.world.runs).toHaveLength(5);
    expect(byFlag.world.maxConcurrent()).toBe(3);
    await byFlag.stop();
  });

  it('a dep edit reruns the stage and its downstream, and nothing else', async () => {
    const { clock, world, r, stop } = setup([st('prepare', ['raw'], ['clean']), st('train', ['clean'], ['model']), st('other', ['x'], ['y'])], {
      files: { raw: 'r1', x: 'x1' },
    });
    await clock.advance(5000);
    expect(world.runs).toHaveLength(3);
    world.files.set('raw', 'r2');
    r.enqueue('prepare');
    r.enqueue('prepare');
    await clock.advance(5000);
    expect(world.runs.map((x) => x.stage)).toEqual(['prepare', 'other', 'train', 'prepare', 'train']);
    expect(world.files.get('model')).toBe('train(prepare(r2))');
    await stop();
  });

  it('a downstream looked at while its upstream key is still in hand is not left waiting', async () => {
    const warnings: string[] = [];
    const log: Logger = { ...quiet, warn: (_o, msg) => void warnings.push(msg ?? ''), child: () => log };
    const { clock, world, r, stop } = setup([st('a', ['in'], ['out']), st('b', ['out'], ['final'])], { files: { in: '1' }, log });
    await clock.advance(5000);
    const plans = world.plans;
    // a's look settles it and enqueues b while a's key is still being processed
    r.enqueue('a');
    await clock.advance(1000);
    expect(world.plans).toBe(plans + 2);
    expect(warnings).toEqual([]);
    await stop();
  });

  it('debounces a burst of events into one look', async () => {
    const { clock, world, r, stop } = setup([st('a', ['in'], ['out'])], { files: { in: '1' } });
    await clock.advance(5000);
    const plans = world.plans;
    for (let i = 0; i < 10; i++) {
      r.enqueue('a');
      await clock.advance(20);
    }
    await clock.advance(200);
    expect(world.plans).toBe(plans + 1);
    await stop();
  });

  it('an input changed under a running stage cancels it and runs it again', async () => {
    const { clock, world, status, r, stop } = setup([st('a', ['in'], ['out']), st('b', ['out'], ['final'])], { files: { in: '1' } });
    await clock.advance(400);
    expect(world.running()).toEqual(['a']);
    const first = world.runs[0];
    world.files.set('in', '2');
    r.enqueue('a');
    await clock.advance(100);
    expect(first?.signal.aborted).toBe(true);
    expect(first?.outcome).toBe('cancelled');
    expect(status.phasesOf('a')).toContain('Cancelled');
    await clock.advance(5000);
    expect(world.ranOf('a').map((x) => x.outcome)).toEqual(['cancelled', 'ran']);
    expect(world.ranOf('b')).toHaveLength(1);
    expect(world.files.get('final')).toBe('b(a(2))');
    await stop();
  });

  it('an upstream rerun cancels a running downstream, which waits and runs after it', async () => {
    const { clock, world, r, stop } = setup([st('a', ['in'], ['out']), st('b', ['out'], ['final'])], { files: { in: '1' } });
    await clock.advance(1500);
    expect(world.running()).toEqual(['b']);
    world.files.set('in', '2');
    r.enqueue('a');
    await clock.advance(100);
    expect(world.ranOf('b')[0]?.outcome).toBe('cancelled');
    expect(world.running()).toEqual(['a']);
    await clock.advance(5000);
    expect(world.files.get('final')).toBe('b(a(2))');
    expect(world.ranOf('b').map((x) => x.outcome)).toEqual(['cancelled', 'ran']);
    await stop();
  });

  it('a failure blocks its downstream, other branches go on, and it stays failed until its inputs change', async () => {
    const { clock, world, status, r, stop } = setup([st('a', ['in'], ['out']), st('b', ['out'], ['final']), st('c', ['x'], ['y'])], {
      files: { in: '1', x: '1' },
    });
    world.failing.add('a');
    await clock.advance(5000);
    expect(status.last('a')).toMatchObject({ phase: 'Failed' });
    expect(status.last('b')).toMatchObject({ phase: 'Blocked', message: "upstream stage 'a' failed" });
    expect(status.last('c')?.phase).toBe('UpToDate');
    expect(status.lastPipeline().stages).toEqual({ a: 'Failed', b: 'Blocked', c: 'UpToDate' });

    // events and time do not make it retry
    r.enqueue('a');
    r.enqueue(PIPELINE_KEY);
    await clock.advance(3_600_000);
    expect(world.ranOf('a')).toHaveLength(1);

    world.failing.delete('a');
    world.files.set('in', '2');
    r.enqueue('a');
    await clock.advance(5000);
    expect(status.lastPipeline().stages).toEqual({ a: 'UpToDate', b: 'UpToDate', c: 'UpToDate' });
    expect(world.files.get('final')).toBe('b(a(2))');
    await stop();
  });

  it('transient engine errors back off (manifest retries) and then succeed', async () => {
    const manifests = new Map<string, StageRuntimeSpec>([['a', { name: 'a', env: {}, retries: { limit: 3, backoffSeconds: 2 }, source: { file: 'manifests/a.yaml' } }]]);
    const { clock, world, status, current, stop } = setup([st('a', ['in'], ['out'])], { files: { in: '1' } });
    current.spec = spec([st('a', ['in'], ['out'])], { manifests });
    world.engineErrors.set('a', 2);
    await clock.advance(250);
    const backoff = status.stages.find((s) => s.stage === 'a' && s.report.phase === 'Backoff');
    expect(backoff?.report.retries).toBe(1);
    expect(backoff?.report.nextRetryAt).toBeInstanceOf(Date);
    await clock.advance(2000 + 4000 + 2000);
    expect(world.ranOf('a').map((x) => x.outcome)).toEqual(['failed', 'failed', 'ran']);
    const starts = world.ranOf('a').map((x) => x.startedAt - (world.ranOf('a')[0]?.startedAt ?? 0));
    expect(starts).toEqual([0, 2000, 6000]);
    expect(status.last('a')?.phase).toBe('UpToDate');
    await stop();
  });

  it('an invalid spec keeps the last good one, shows the error, starts nothing; fixing it resumes', async () => {
    const good = [st('a', ['in'], ['out'])];
    const { clock, world, status, current, r, stop } = setup(good, { files: { in: '1' } });
    await clock.advance(5000);
    expect(world.runs).toHaveLength(1);

    current.spec = new ReprodError('SCHEMA', "unknown key 'cmdd'", { source: { file: 'dvc.yaml', key: 'stages.a.cmdd', line: 3 } });
    r.enqueue(PIPELINE_KEY);
    world.files.set('in', '2');
    r.enqueue('a');
    await clock.advance(5000);
    expect(world.runs).toHaveLength(1);
    expect(status.lastPipeline()).toMatchObject({
      error: { code: 'SCHEMA', message: "unknown key 'cmdd'", file: 'dvc.yaml', key: 'stages.a.cmdd', line: 3 },
      stages: { a: 'UpToDate' },
    });
    expect(r.stats().specValid).toBe(false);
    expect(r.currentSpec?.pipeline.stages.map((s) => s.name)).toEqual(['a']);

    current.spec = spec(good);
    r.enqueue(PIPELINE_KEY);
    await clock.advance(5000);
    expect(world.runs).toHaveLength(2);
    expect(status.lastPipeline().error).toBeUndefined();
    expect(r.stats().specValid).toBe(true);
    await stop();
  });

  it('a spec invalid from the start is reported, and the reconciler waits for a fix', async () => {
    const clock = new SimulatedClock();
    const world = new FakeWorld(clock);
    const status = new FakeStatus();
    let invalid = true;
    const r = new Reconciler({
      loadSpec: () => {
        if (invalid) throw new ReprodError('YAML_SYNTAX', 'bad indentation', { source: { file: 'dvc.yaml', line: 7 } });
        return spec([st('a', [], ['out'])]);
      },
      effects: world.effects,
      status,
      clock,
      log: quiet,
      resyncMs: 0,
    });
    const ac = new AbortController();
    const done = r.start(ac.signal);
    await clock.advance(1000);
    expect(status.lastPipeline()).toMatchObject({ stages: {}, error: { code: 'YAML_SYNTAX', line: 7, file: 'dvc.yaml' } });
    invalid = false;
    r.enqueue(PIPELINE_KEY);
    await clock.advance(5000);
    expect(world.ranOf('a')).toHaveLength(1);
    ac.abort();
    await clock.flush();
    await done;
  });

  it('removing a running stage from the spec cancels it', async () => {
    const { clock, world, current, r, stop } = setup([st('a', ['in'], ['out']), st('b', ['x'], ['y'])], { files: { in: '1', x: '1' } });
    await clock.advance(300);
    expect(world.running().sort()).toEqual(['a', 'b']);
    current.spec = spec([st('b', ['x'], ['y'])]);
    r.enqueue(PIPELINE_KEY);
    await clock.advance(200);
    expect(world.ranOf('a')[0]?.outcome).toBe('cancelled');
    expect(world.ranOf('b')[0]?.outcome).toBeUndefined();
    await clock.advance(2000);
    expect(r.stats().stages).toBe(1);
    await stop();
  });

  it('stopping cancels running stages, waits for them, and reports them Cancelled', async () => {
    const { clock, world, status, stop } = setup([st('a', ['in'], ['out'])], { files: { in: '1' } });
    await clock.advance(300);
    expect(world.running()).toEqual(['a']);
    await stop();
    expect(world.ranOf('a')[0]?.outcome).toBe('cancelled');
    expect(status.last('a')).toMatchObject({ phase: 'Cancelled', message: 'cancelled: reprod is stopping' });
    expect(status.lastPipeline().stages).toEqual({ a: 'Cancelled' });
  });

  it('calls the tracking hooks: extra env for the run, the outcome, pass start and end', async () => {
    const calls: string[] = [];
    const { clock, world, stop } = setup([st('a', ['in'], ['out'])], {
      files: { in: '1' },
      newPassId: () => 'P1',
      hooks: {
        passStarted: (id) => void calls.push(`passStarted ${id}`),
        stageStarting: async (stage, runId) => {
          calls.push(`stageStarting ${stage.name} ${runId}`);
          return { MLFLOW_RUN_ID: `ml-${runId}` };
        },
        stageFinished: (stage, outcome, plan) => void calls.push(`stageFinished ${stage.name} ${outcome.kind} ${plan.reasons.length}`),
        passFinished: (id, s) => void calls.push(`passFinished ${id} ran=${s.ran}`),
      },
    });
    await clock.advance(5000);
    expect(calls).toEqual(['passStarted P1', 'stageStarting a run-1', 'stageFinished a ran 2', 'passFinished P1 ran=1']);
    expect(world.runs[0]?.env).toEqual({ MLFLOW_RUN_ID: 'ml-run-1' });
    await stop();
  });

  it('knows which paths its running stages are writing', async () => {
    const { clock, r, stop } = setup([st('a', ['in'], ['out/dir'])], { files: { in: '1' } });
    await clock.advance(300);
    expect(r.isBeingWritten('out/dir')).toBe(true);
    expect(r.isBeingWritten('out/dir/file.txt')).toBe(true);
    expect(r.isBeingWritten('in')).toBe(false);
    await clock.advance(2000);
    expect(r.isBeingWritten('out/dir/file.txt')).toBe(false);
    await stop();
  });

  it('a resync looks at everything without an event', async () => {
    const { clock, world, stop } = setup([st('a', ['in'], ['out'])], { files: { in: '1' }, resyncMs: 60_000 });
    await clock.advance(5000);
    world.files.set('in', '2');
    await clock.advance(60_000);
    expect(world.ranOf('a')).toHaveLength(2);
    await stop();
  });
});
