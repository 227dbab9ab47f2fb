import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/core/ports.js';
import type { HashInfo, Pipeline, Stage } from '../../../src/core/types.js';
import { buildDag } from '../../../src/pipeline/dag.js';
import { Reconciler, type ReconcileSpec } from '../../../src/reconcile/reconciler.js';
import type { StageEffects } from '../../../src/reconcile/stage-effects.js';
import { inputsFingerprint } from '../../../src/reconcile/stage-fingerprint.js';
import type { StagePlan } from '../../../src/reconcile/stage-steps.js';
import type { StageReport } from '../../../src/status/reporter.js';
import type { PipelineStatusInput } from '../../../src/status/status-docs.js';
import { fileStage as st } from '../../helpers/stages.js';
import { SimulatedClock } from '../../helpers/simulated-clock.js';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };
const IMAGE = { kind: 'container' as const, key: 'sha256:img', ref: 'img' };

/**
 * A one-shot pass over many stages, most up to date: each is decided and
 * reported as before, while the pass holds the actors of only the few
 * stages in hand (made when looked at, let go once settled and reported).
 */
describe('Reconciler.runOnce over many stages', () => {
  it('decides and reports every stage, holding few stage actors at once', async () => {
    // a chain of 3 stale stages in front, 300 up-to-date independent ones, and one stale at the end
    const stages: Stage[] = [st('a', ['raw'], ['a.out']), st('b', ['a.out'], ['b.out'])];
    for (let i = 0; i < 300; i++) stages.push(st(`s${i}`, [`in/${i}`], [`out/${i}`]));
    stages.push(st('z', ['z.in'], ['z.out']));
    const stale = new Set(['a', 'z']);
    const ran: string[] = [];
    const clock = new SimulatedClock();
    const plan = (stage: Stage): StagePlan => {
      const hashes = new Map<string, HashInfo | null>(stage.deps.map((d) => [d.path, { md5: 'x', size: 1 }]));
      const reasons = stale.has(stage.name) || (stage.name === 'b' && ran.includes('a')) ? [{ kind: 'dep' as const, path: stage.deps[0]?.path ?? '', change: 'modified' as const }] : [];
      return { stage, entry: undefined, obs: { results: new Map(), hashes, params: new Map(), inCache: () => true }, reasons, runtime: IMAGE };
    };
    const effects: StageEffects = {
      plan: async (stage) => plan(stage),
      inputs: async (stage) => inputsFingerprint(plan(stage)),
      newRunId: () => `run-${ran.length + 1}`,
      readLock: async () => ({ stages: new Map() }),
      flush: async () => undefined,
      execute: async (p, { runId }) => {
        ran.push(p.stage.name);
        stale.delete(p.stage.name);
        const run = { outcome: { kind: 'exited' as const, exitCode: 0 }, runtime: 'sha256:img', startedAt: clock.now(), finishedAt: clock.now() };
        return { kind: 'ran', runId, entry: { cmd: p.stage.cmd, deps: [], params: new Map(), outs: [] }, run, prepared: { kind: 'host', identity: { kind: 'host', key: 'host' } } } as never;
      },
    };
    const pipeline: Pipeline = { file: 'dvc.yaml', stages, params: [], metrics: [], plots: [] };
    const spec: ReconcileSpec = { pipeline, dag: buildDag(pipeline), manifests: { stages: new Map(), pipeline: {} }, text: 'x' };
    const reports = new Map<string, StageReport>();
    let mostActors = 0;
    const r: Reconciler = new Reconciler({
      loadSpec: () => spec,
      effects,
      status: {
        stage: async (stage: Stage, _rt: unknown, report: StageReport) => {
          reports.set(stage.name, report);
          mostActors = Math.max(mostActors, r.stats().actors);
        },
        pipeline: async (_input: PipelineStatusInput) => undefined,
      },
      clock,
      log: quiet,
      resyncMs: 0,
      maxParallel: 1,
    });
    const summary = await r.runOnce({});
    expect(ran).toEqual(['a', 'b', 'z']);
    expect(summary.decisions.map((d) => d.stage)).toEqual(stages.map((s) => s.name));
    expect(summary.decisions.filter((d) => d.action === 'skipped')).toHaveLength(300);
    // every stage reported, as up to date
    expect([...reports.keys()].sort()).toEqual(stages.map((s) => s.name).sort());
    expect(new Set([...reports.values()].map((x) => x.phase))).toEqual(new Set(['UpToDate']));
    // the stages that ran keep theirs (their records may still add to status); the others are let go
    expect(mostActors).toBeLessThanOrEqual(4);
    expect(mostActors).toBeGreaterThan(0);
    expect(r.stats().actors).toBe(0);
  });
});
