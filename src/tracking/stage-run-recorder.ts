import type { Clock, Logger, Workspace } from '../core/ports.js';
import type { PyDict } from '../core/pyvalue.js';
import type { PassRun, StageRun, Tracker, TrackedParam, TrackedRunStatus, TrackingHealth } from '../core/ports.js';
import type { ChangeReason, LockStage, Stage } from '../core/types.js';
import { stageLogPath } from '../status/status-store.js';
import { readGitCommit } from './git-commit.js';
import { buildPassRecord, pipelineParamsFiles, type PassStageResult } from './pass-record.js';
import { promotionsFor, registrationFor, thresholdFiles, type ModelDecl } from './promotion.js';
import { buildStageRecord, parseParamsFiles, passTags, stageMetrics, stageParams, stageStartTags, type RunSource } from './stage-record.js';
import { errorMessage } from '../core/errno.js';

/**
 * What the reconciler calls around each stage run to record it in MLflow:
 *
 *   const pass = recorder.beginPass()                 // parent run, created lazily
 *   const t = await recorder.startStage(pass, {...})  // nested run; t.env → the stage's environment
 *   … run the stage …
 *   const { trackingRunId } = await recorder.finishStage(t, {...})   // → status lastRun.trackingRunId
 *   recorder.stageRestored(pass, stage)             // a stage restored from the run-cache: its metrics count
 *   await recorder.endPass(pass, 'succeeded')         // the parent run gets the pipeline's params and the pass's metrics
 *
 * Nothing here throws or waits long: tracking trouble is logged and shows in
 * {@link StageRunRecorder.health} (the `TrackingAvailable` condition), and
 * the stage goes on. A pass that runs no stage leaves no run.
 */

export interface RecorderOptions {
  tracker: Tracker;
  ws: Workspace;
  clock: Clock;
  log: Logger;
  /** Workspace-relative dvc.yaml (`mlflow.source.name`). */
  pipelineFile: string;
  /** `mlflow.user`. */
  user?: string;
  /** Every stage's `model:` manifest entry (see pipelineModels in src/app/tracking.ts). */
  models: readonly ModelDecl[];
  /** The pipeline's stages, in pipeline order: their params go on the pass's run (see pass-record.ts). */
  stages?: readonly Stage[];
}

export interface PassTracking {
  /** The parent run's name (`pipeline`, or the experiment's name). */
  readonly name: string;
  readonly startedAt: Date;
  /** Extra tags of the parent run. */
  readonly tags: Readonly<Record<string, string>>;
  /** @internal what the stages gave, for the parent run */
  readonly results: Map<string, PassStageResult>;
  /** @internal the parent run, once a stage started */
  run?: Promise<PassRun | undefined>;
  /** @internal */
  gitCommit?: Promise<string | undefined>;
}

export interface StageTracking {
  readonly stage: Stage;
  /** @internal */
  readonly pass: PassTracking;
  /** Environment for the stage's process (tracking URI, run and experiment ids, credentials). Never log it. */
  readonly env: Readonly<Record<string, string>>;
  /** @internal */
  readonly run: StageRun | undefined;
  /** @internal params as the run read them */
  readonly params: TrackedParam[];
}

export type StageOutcomeKind = 'succeeded' | 'failed' | 'cancelled';

const STATUS: Record<StageOutcomeKind, TrackedRunStatus> = { succeeded: 'FINISHED', failed: 'FAILED', cancelled: 'KILLED' };


export class StageRunRecorder {
  constructor(private readonly o: RecorderOptions) {}

  health(): TrackingHealth {
    return this.o.tracker.health();
  }

  /** A pass; its parent run is created when its first stage starts. */
  beginPass(opts: { name?: string; startedAt?: Date; tags?: Record<string, string> } = {}): PassTracking {
    return { name: opts.name ?? 'pipeline', startedAt: opts.startedAt ?? this.o.clock.now(), tags: { ...(opts.tags ?? {}) }, results: new Map() };
  }

  private source(pass: PassTracking): Promise<RunSource> {
    pass.gitCommit ??= readGitCommit(this.o.ws).catch((e: unknown) => {
      this.o.log.debug({ err: errorMessage(e) }, 'git commit not read');
      return undefined;
    });
    return pass.gitCommit.then((gitCommit) => ({
      pipelineFile: this.o.pipelineFile,
      ...(this.o.user ? { user: this.o.user } : {}),
      ...(gitCommit ? { gitCommit } : {}),
    }));
  }

  private passRun(pass: PassTracking): Promise<PassRun | undefined> {
    pass.run ??= this.source(pass)
      .then((src) =>
        this.o.tracker.startPass({
          name: pass.name,
          startedAt: pass.startedAt,
          tags: { ...Object.fromEntries(passTags(src).map((t) => [t.key, t.value])), ...pass.tags },
        }),
      )
      .catch((e: unknown) => {
        this.o.log.warn({ err: errorMessage(e) }, 'pass not tracked');
        return undefined;
      });
    return pass.run;
  }

  /** Reads the params files the stage depends on (as they are before it runs). */
  private async readParams(stage: Stage): Promise<TrackedParam[]> {
    const texts = new Map<string, string | undefined>();
    for (const p of stage.params) if (!texts.has(p.path)) texts.set(p.path, await this.o.ws.readText(p.path));
    const { files, problems } = parseParamsFiles(texts);
    for (const problem of problems) this.o.log.warn({ stage: stage.name }, problem);
    return stageParams(stage, files);
  }

  async startStage(
    pass: PassTracking,
    s: { stage: Stage; reprodRunId: string; runtime: string; reasons: readonly ChangeReason[]; startedAt?: Date },
  ): Promise<StageTracking> {
    const { stage } = s;
    let params: TrackedParam[] = [];
    try {
      params = await this.readParams(stage);
      const parent = await this.passRun(pass);
      if (!parent) return { stage, pass, env: {}, run: undefined, params };
      const src = await this.source(pass);
      const tags = stageStartTags(src, { stage, reprodRunId: s.reprodRunId, runtime: s.runtime, reasons: s.reasons });
      const run = await this.o.tracker.startStageRun(parent, {
        stageName: stage.name,
        startedAt: s.startedAt ?? this.o.clock.now(),
        tags: Object.fromEntries(tags.map((t) => [t.key, t.value])),
      });
      return { stage, pass, env: run.env, run, params };
    } catch (e) {
      this.o.log.warn({ stage: stage.name, err: errorMessage(e) }, 'stage run not tracked');
      return { stage, pass, env: {}, run: undefined, params };
    }
  }

  async finishStage(
    t: StageTracking,
    f: { outcome: StageOutcomeKind; action: 'ran' | 'restored'; entry?: LockStage; finishedAt?: Date; error?: string },
  ): Promise<{ trackingRunId?: string }> {
    const run = t.run;
    const { stage } = t;
    if (!run) {
      // no stage run (its creation failed): what it produced still counts for the pass's run
      if (f.outcome === 'succeeded') {
        try {
          t.pass.results.set(stage.name, { stage, action: f.action, params: t.params, metrics: await this.metricsOf(stage, f.finishedAt) });
        } catch (e) {
          this.o.log.warn({ stage: stage.name, err: errorMessage(e) }, 'metrics not read');
        }
      }
      return {};
    }
    try {
      const metricsTexts = new Map<string, string | undefined>();
      if (f.outcome === 'succeeded') {
        for (const out of stage.outs) if (out.kind === 'metric') metricsTexts.set(out.path, await this.o.ws.readText(out.path));
      }
      const { record, problems } = buildStageRecord({
        stage,
        status: STATUS[f.outcome],
        endTime: f.finishedAt ?? this.o.clock.now(),
        action: f.action,
        params: t.params,
        metricsTexts,
        ...(f.entry ? { entry: f.entry } : {}),
        ...(f.error ? { error: f.error } : {}),
      });
      for (const problem of problems) this.o.log.warn({ stage: stage.name }, problem);
      // the run's output survives status/logs/ being overwritten by the next run
      record.artifacts.push({ path: stageLogPath(stage.name), artifactPath: `logs/${stage.name}.log` });
      // read from this recorder's workspace, wherever the tracker keeps its records
      for (const a of record.artifacts) a.root = this.o.ws.root;
      if (f.outcome === 'succeeded') {
        t.pass.results.set(stage.name, { stage, action: f.action, params: t.params, metrics: record.metrics });
        const reg = registrationFor(stage, f.entry, this.o.models);
        for (const problem of reg.problems) this.o.log.warn({ stage: stage.name }, problem);
        if (reg.registration) await this.o.tracker.registerModel(run, { ...reg.registration, root: this.o.ws.root });
        const files = await this.thresholdParams();
        const promo = promotionsFor(stage, f.entry, record.metrics, this.o.models, files);
        for (const problem of promo.problems) this.o.log.warn({ stage: stage.name }, problem);
        for (const d of promo.decisions) {
          record.tags.push(d.tag);
          if (d.promotion) await this.o.tracker.promoteModel(run, d.promotion);
        }
      }
      await this.o.tracker.finishStageRun(run, record);
    } catch (e) {
      this.o.log.warn({ stage: stage.name, err: errorMessage(e) }, 'stage run not fully tracked');
    }
    const id = this.o.tracker.runIdOf(run);
    return id ? { trackingRunId: id } : {};
  }

  private async thresholdParams(): Promise<Map<string, PyDict | null>> {
    const wanted = thresholdFiles(this.o.models);
    if (wanted.length === 0) return new Map();
    const texts = new Map<string, string | undefined>();
    for (const f of wanted) texts.set(f, await this.o.ws.readText(f));
    const parsed = parseParamsFiles(texts);
    for (const problem of parsed.problems) this.o.log.warn({}, problem);
    return parsed.files;
  }

  /**
   * A stage restored from the run-cache (no run of its own): its params and
   * metrics count for the pass, whose run it starts if none has.
   */
  async stageRestored(pass: PassTracking, stage: Stage, finishedAt?: Date): Promise<void> {
    try {
      const params = await this.readParams(stage);
      pass.results.set(stage.name, { stage, action: 'restored', params, metrics: await this.metricsOf(stage, finishedAt) });
      await this.passRun(pass);
    } catch (e) {
      this.o.log.warn({ stage: stage.name, err: errorMessage(e) }, 'restored stage not tracked');
    }
  }

  /** The metrics a stage's metrics files hold now, stamped `at`. */
  private async metricsOf(stage: Stage, at?: Date): Promise<PassStageResult['metrics']> {
    const texts = new Map<string, string | undefined>();
    for (const out of stage.outs) if (out.kind === 'metric') texts.set(out.path, await this.o.ws.readText(out.path));
    const { metrics, problems } = stageMetrics(stage, texts, (at ?? this.o.clock.now()).getTime());
    for (const problem of problems) this.o.log.warn({ stage: stage.name }, problem);
    return metrics;
  }

  /**
   * Ends the pass's run (if it has one) with the pipeline's params and the
   * metrics of the pass (see pass-record.ts); `stages` is the pipeline as it
   * is at the end of the pass (default: the recorder's).
   */
  async endPass(pass: PassTracking, outcome: StageOutcomeKind, endedAt?: Date, stages?: readonly Stage[]): Promise<void> {
    if (!pass.run) return;
    const run = await pass.run;
    if (!run) return;
    try {
      stages ??= this.o.stages ?? [...pass.results.values()].map((r) => r.stage);
      const texts = new Map<string, string | undefined>();
      for (const f of pipelineParamsFiles(stages)) texts.set(f, await this.o.ws.readText(f));
      const parsed = parseParamsFiles(texts);
      const { record, problems } = buildPassRecord({ stages, paramsFiles: parsed.files, results: pass.results });
      for (const problem of [...parsed.problems, ...problems]) this.o.log.warn({}, problem);
      await this.o.tracker.finishPass(run, STATUS[outcome], endedAt ?? this.o.clock.now(), record);
    } catch (e) {
      this.o.log.warn({ err: errorMessage(e) }, 'pass end not tracked');
    }
  }
}
