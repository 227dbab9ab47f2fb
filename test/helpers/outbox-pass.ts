import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LocalWorkspace } from '../../src/adapters/fs/local-workspace.js';
import { MlflowTracker, type MlflowTrackerOptions } from '../../src/adapters/mlflow/outbox.js';
import { Redactor } from '../../src/adapters/mlflow/redact.js';
import { MlflowRestClient } from '../../src/adapters/mlflow/rest-client.js';
import { RestBackend } from '../../src/adapters/mlflow/rest-store.js';
import type { Clock, Logger } from '../../src/core/ports.js';
import type { OutKind, Stage } from '../../src/core/types.js';
import type { ModelDecl } from '../../src/tracking/promotion.js';
import { StageRunRecorder, type PassTracking, type StageTracking } from '../../src/tracking/stage-run-recorder.js';
import type { MlflowTestServer } from './mlflow-server.js';
import { lockOf, trackedStage } from './tracking-fixtures.js';

/**
 * One pass of a two-stage pipeline (train registers a model, evaluate logs
 * metrics), driven step by step, so that tests can take the MLflow server
 * down between any two steps, restart the writer, or kill it; and a summary
 * of what the server ends up holding. Used in-process by the outbox tests and
 * by the writer they kill (outbox-writer.ts).
 */

const stage = (name: string, deps: string[], outs: [string, OutKind][], params: Stage['params'] = []): Stage => trackedStage(name, deps, outs, params, `python3 ${name}.py`);

export const train = stage('train', [], [['models/model.pkl', 'out']], [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['train'] }]);
export const evaluate = stage('evaluate', ['models/model.pkl'], [['metrics/scores.json', 'metric']]);
export const models: ModelDecl[] = [{ stage: train, spec: { path: 'models/model.pkl', name: 'clf', alias: 'candidate' } }];

/** The steps of a pass, in order. */
export const PASS_STEPS = ['start train', 'finish train', 'start evaluate', 'finish evaluate', 'end pass'] as const;
export type PassStep = (typeof PASS_STEPS)[number];

export function passWorkspace(root: string): void {
  mkdirSync(path.join(root, 'models'), { recursive: true });
  mkdirSync(path.join(root, 'metrics'), { recursive: true });
  writeFileSync(path.join(root, 'params.yaml'), 'train:\n  lr: 0.01\n');
  writeFileSync(path.join(root, 'models', 'model.pkl'), 'model-v1');
  writeFileSync(path.join(root, 'metrics', 'scores.json'), '{"accuracy": 0.8}');
}

export interface OpenOptions {
  root: string;
  outboxDir: string;
  uri: string;
  clock: Clock;
  log: Logger;
  sleep: NonNullable<MlflowTrackerOptions['sleep']>;
  pid?: number;
  hostname?: string;
}

/** A tracker on the REST API, as `openTracking` builds it, with the writer's identity settable. */
export async function openRestTracker(o: OpenOptions): Promise<MlflowTracker> {
  const redactor = new Redactor([]);
  const client = new MlflowRestClient({ baseUrl: o.uri, redactor, sleep: (ms) => o.sleep(ms) });
  return MlflowTracker.open({
    backend: new RestBackend(client, o.uri, 'test server'),
    outboxDir: o.outboxDir,
    workspace: o.root,
    experimentName: 'exp',
    clock: o.clock,
    log: o.log,
    redactor,
    sleep: o.sleep,
    startWaitMs: 2_000,
    ...(o.pid !== undefined ? { pid: o.pid } : {}),
    ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
    abortInFlight: () => client.close(),
  });
}

/** Runs a pass one step at a time through the recorder the reconciler's hooks use. */
export class PassDriver {
  private readonly recorder: StageRunRecorder;
  private readonly pass: PassTracking;
  private readonly started = new Map<string, StageTracking>();

  constructor(tracker: MlflowTracker, root: string, clock: Clock, log: Logger) {
    this.recorder = new StageRunRecorder({ tracker, ws: new LocalWorkspace(root), clock, log, pipelineFile: 'dvc.yaml', models });
    this.pass = this.recorder.beginPass();
  }

  async step(s: PassStep): Promise<void> {
    const [verb, name] = s.split(' ');
    const st = name === 'train' ? train : evaluate;
    if (verb === 'start') {
      this.started.set(st.name, await this.recorder.startStage(this.pass, { stage: st, reprodRunId: `run-${st.name}`, runtime: 'host', reasons: [] }));
    } else if (verb === 'finish') {
      const t = this.started.get(st.name);
      if (!t) throw new Error(`${s}: the stage was not started`);
      await this.recorder.finishStage(t, { outcome: 'succeeded', action: 'ran', entry: lockOf(st, { 'models/model.pkl': 'm1' }) });
    } else {
      await this.recorder.endPass(this.pass, 'succeeded');
    }
  }

  async steps(steps: readonly PassStep[]): Promise<void> {
    for (const s of steps) await this.step(s);
  }
}

/** The steps from `from` (inclusive) to `to` (exclusive; default: to the end). */
export function stepsBetween(from: PassStep | undefined, to?: PassStep): PassStep[] {
  const a = from === undefined ? 0 : PASS_STEPS.indexOf(from);
  const b = to === undefined ? PASS_STEPS.length : PASS_STEPS.indexOf(to);
  return PASS_STEPS.slice(a, b);
}

/** What the server holds, by run: name, status, the parent's name; and the refused records. */
export function serverSummary(server: MlflowTestServer, outboxDir: string) {
  const runs = [...server.runs.values()];
  const nameOf = new Map(runs.map((r) => [r.info.run_id, r.info.run_name]));
  const rejectedFile = path.join(outboxDir, 'rejected.jsonl');
  return {
    runs: runs
      .map((r) => {
        const parent = r.tags.get('mlflow.parentRunId');
        return { name: r.info.run_name, status: r.info.status, parent: parent === undefined ? null : (nameOf.get(parent) ?? `unknown run ${parent}`), error: r.tags.get('reprod.error') ?? null };
      })
      .sort((x, y) => x.name.localeCompare(y.name)),
    trainParams: Object.fromEntries(runs.find((r) => r.info.run_name === 'train')?.params ?? []),
    evaluateMetrics: (runs.find((r) => r.info.run_name === 'evaluate')?.metrics ?? []).map((m) => [m.key, m.value]),
    modelVersions: server.models.get('clf')?.versions.length ?? 0,
    rejected: existsSync(rejectedFile) ? readFileSync(rejectedFile, 'utf8').trim().split('\n') : [],
  };
}

/** The summary of a pass delivered whole: every run FINISHED, nested under the pass, each once, nothing refused. */
export const DELIVERED_WHOLE = {
  runs: [
    { name: 'evaluate', status: 'FINISHED', parent: 'pipeline', error: null },
    { name: 'pipeline', status: 'FINISHED', parent: null, error: null },
    { name: 'train', status: 'FINISHED', parent: 'pipeline', error: null },
  ],
  trainParams: { 'train.lr': '0.01' },
  evaluateMetrics: [['accuracy', 0.8]],
  modelVersions: 1,
  rejected: [],
};
