import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../core/errno.js';
import { ReprodError } from '../core/errors.js';
import {
  systemClock,
  type Clock,
  type Logger,
  type RuntimeIdentity,
  type StageLogSink,
  type ViewAction,
  type ViewActionResult,
  type ViewEvent,
  type ViewLastRun,
  type ViewPhase,
  type ViewPipeline,
  type ViewStageDetail,
  type WebViewSource,
} from '../core/ports.js';
import type { Lockfile, Stage } from '../core/types.js';
import { pyJsonDumps } from '../lock/py-json.js';
import { revResultJson } from '../metrics/results.js';
import { parseParamsText } from '../pipeline/params-file.js';
import type { PassSummary, ReconcilerHooks, ReconcileSpec, StatusSink } from '../reconcile/reconciler-api.js';
import type { StageReport, StatusReporter } from '../status/reporter.js';
import { staleDetail } from '../status/stale-detail.js';
import type { LastRun, PipelineStatusInput, StagePhase, StageStatusDoc } from '../status/status-docs.js';
import { stageLogPath } from '../status/status-store.js';
import { listExperiments, type ExperimentsReader } from './experiments-view.js';
import { showMetrics } from './metrics.js';
import { showPlots } from './plots.js';
import type { Project } from './project.js';
import { trackingConfig } from './tracking.js';

/** Lines of a stage's output kept in memory (and read back from its log file): the page shows the tail. */
const LOG_LINES = 1000;

// a compile-time check that every phase status/ writes can be drawn
const _phases: ViewPhase = 'UpToDate' as StagePhase;
void _phases;

export interface WebViewOptions {
  project: Project;
  /** The spec in force (the last valid one), undefined before the first. */
  spec(): ReconcileSpec | undefined;
  /** Each stage's phase as the reconciler has it (before a stage's status is written in this process). */
  phases(): Record<string, StagePhase>;
  /** `docker` or `host`. */
  runtimeOf(stage: Stage): string;
  /** Looks at a stage again now. */
  enqueue(stage: string): void;
  /** Cancels the stage's run for a person (see Reconciler.cancel); false when it is not running. */
  cancel(stage: string, reason: string): boolean;
  /** Whether POST actions are on. */
  actions: boolean;
  log: Logger;
  experiments?: ExperimentsReader;
  env?: NodeJS.ProcessEnv;
  /** The time events carry (default the system's). */
  clock?: Clock;
}

interface StageLog {
  lines: string[];
  /** Lines written so far (some may have left `lines`). */
  count: number;
  pending: Record<'stdout' | 'stderr', string>;
}

/** Phases whose Ready message the panel shows (besides a stalled stage's). */
const SAID: ReadonlySet<string> = new Set(['Hashing', 'Building', 'Cancelled']);

/**
 * What the daemon's web page shows, kept in process from the reconciler's
 * own reports: every status/<stage>.yaml it writes passes through
 * `statusSink` (a change of phase or reasons is one `condition` event), every
 * chunk of a stage's output through `tee` (a `log` event per line), every
 * pass's end through `hooks` (a `pass` event). Nothing polls status files;
 * status/ is read only for a stage not reported since the daemon started.
 */
export class WebView implements WebViewSource {
  private readonly docs = new Map<string, StageStatusDoc>();
  private readonly logs = new Map<string, StageLog>();
  private readonly listeners = new Set<(e: ViewEvent) => void>();
  private specError: string | undefined;
  /** Stages whose next plan is forced (the rerun action). */
  private readonly reruns = new Set<string>();

  constructor(private readonly o: WebViewOptions) {}

  /** The reporter, with each document it writes seen on the way. */
  statusSink(reporter: StatusReporter): StatusSink {
    return {
      stage: async (stage: Stage, runtime: RuntimeIdentity | undefined, report: StageReport) => {
        const doc = await reporter.stage(stage, runtime, report);
        this.observe(doc);
        return doc;
      },
      pipeline: async (input: PipelineStatusInput) => {
        this.specError = input.error ? `${input.error.file ?? ''}${input.error.line !== undefined ? `:${input.error.line}` : ''}${input.error.file ? ': ' : ''}${input.error.message}` : undefined;
        await reporter.pipeline(input);
      },
    };
  }

  /** Where a run's output also goes: a new run starts a new log. */
  tee(stage: Stage): StageLogSink {
    const log: StageLog = { lines: [], count: 0, pending: { stdout: '', stderr: '' } };
    this.logs.set(stage.name, log);
    this.emit({ kind: 'log-reset', stage: stage.name });
    return {
      write: (chunk, stream) => {
        const parts = (log.pending[stream] + chunk).split(/\r?\n/);
        log.pending[stream] = parts.pop() ?? '';
        for (const line of parts) {
          log.lines.push(line);
          log.count++;
          this.emit({ kind: 'log', stage: stage.name, stream, line, n: log.count });
        }
        if (log.lines.length > LOG_LINES) log.lines.splice(0, log.lines.length - LOG_LINES);
      },
    };
  }

  /** The `pass` event. */
  hooks(): ReconcilerHooks {
    return {
      passFinished: (_id: string, s: PassSummary) => this.emit({ kind: 'pass', at: s.finishedAt.toISOString(), ran: s.ran, failed: s.failed }),
    };
  }

  subscribe(listener: (e: ViewEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  pipeline(): ViewPipeline {
    const spec = this.o.spec();
    const phases = this.o.phases();
    const stages = spec?.pipeline.stages ?? [];
    const view: ViewPipeline = {
      stages: stages.map((s) => {
        const doc = this.docs.get(s.name);
        return { name: s.name, phase: doc?.status.phase ?? phases[s.name] ?? 'Stale', reasons: (doc?.status.staleReasons ?? []).map((r) => r.message), runtime: this.o.runtimeOf(s) };
      }),
      edges: stages.flatMap((s) => (spec?.dag.upstream.get(s.name) ?? []).map((u) => ({ from: u, to: s.name }))),
      actions: this.o.actions,
    };
    if (this.specError) view.specError = this.specError;
    return view;
  }

  async stage(name: string): Promise<ViewStageDetail | undefined> {
    const stage = this.o.spec()?.dag.byName.get(name);
    if (!stage) return undefined;
    const doc = this.docs.get(name) ?? (await this.o.project.statusStore.readStage(name));
    const phase = doc?.status.phase ?? this.o.phases()[name] ?? 'Stale';
    const stalled = doc?.status.conditions.find((c) => c.type === 'Stalled' && c.status === 'True');
    const detail: ViewStageDetail = {
      name,
      phase,
      cmd: Array.isArray(stage.cmd) ? stage.cmd.join('\n') : stage.cmd,
      runtime: this.o.runtimeOf(stage),
      reasons: await this.reasons(stage, doc),
      ...(await this.logOf(name)),
    };
    // what a stalled stage waits for; what a stage hashes or builds, or why a person's cancel holds it
    const said = stalled ?? (SAID.has(phase) ? doc?.status.conditions.find((c) => c.type === 'Ready') : undefined);
    if (said?.message) detail.message = said.message;
    if (doc?.status.lastRun) detail.lastRun = this.lastRun(doc.status.lastRun);
    return detail;
  }

  async metrics(): Promise<string> {
    const shown = showMetrics(this.o.project.root, []);
    const ws = shown.results.get('');
    return ws ? pyJsonDumps(revResultJson(ws)) : '{}';
  }

  async plots(): Promise<string> {
    const shown = showPlots(this.o.project.root, { targets: [], props: new Map(), json: true });
    return shown.kind === 'json' ? pyJsonDumps(shown.json) : '{}';
  }

  experiments() {
    return (this.o.experiments ?? listExperiments)(this.o.project.root);
  }

  act(action: ViewAction, stage: string): ViewActionResult {
    if (!this.o.spec()?.dag.byName.has(stage)) return { ok: false, status: 404, message: `no stage named ${JSON.stringify(stage)}` };
    if (action === 'cancel') {
      if (!this.o.cancel(stage, 'asked from the web view')) return { ok: false, status: 409, message: `${stage} is not running: nothing to cancel` };
      this.o.log.info({ stage, action }, 'asked from the web view');
      return { ok: true, message: `${stage}: cancelling its run` };
    }
    if (action === 'rerun') this.reruns.add(stage);
    this.o.enqueue(stage);
    this.o.log.info({ stage, action }, 'asked from the web view');
    return { ok: true, message: action === 'rerun' ? `${stage}: running it again` : `${stage}: looking at it again` };
  }

  /** For the engine's effects (`forceOnce`): whether a rerun of `stage` was asked, and no longer once asked. */
  takeRerun(stage: string): boolean {
    return this.reruns.delete(stage);
  }

  private observe(doc: StageStatusDoc): void {
    const name = doc.metadata.name;
    const before = this.docs.get(name);
    this.docs.set(name, doc);
    const run = doc.status.lastRun;
    if (run && JSON.stringify(run) !== JSON.stringify(before?.status.lastRun)) this.emit({ kind: 'run', stage: name, runId: run.runId, outcome: run.outcome });
    // a rerun asked while the stage was busy is still owed once it settles (a finished run is not planned again by itself)
    if (this.reruns.has(name) && !['Queued', 'Building', 'Running'].includes(doc.status.phase)) this.o.enqueue(name);
    const reasons = doc.status.staleReasons.map((r) => r.message);
    const previous = before?.status.phase ?? this.o.phases()[name];
    if (before && before.status.phase === doc.status.phase && JSON.stringify(before.status.staleReasons) === JSON.stringify(doc.status.staleReasons)) return;
    this.emit({ kind: 'condition', stage: name, phase: doc.status.phase, ...(previous ? { previous } : {}), reasons, at: (this.o.clock ?? systemClock).now().toISOString() });
  }

  private emit(e: ViewEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.o.log.warn({ err: errorMessage(err) }, 'a web view listener failed');
      }
    }
  }

  /** The reasons of the stage's status, with old (dvc.lock) → new (the workspace) values. */
  private async reasons(stage: Stage, doc: StageStatusDoc | undefined): Promise<ViewStageDetail['reasons']> {
    const reasons = doc?.status.staleReasons ?? [];
    if (reasons.length === 0) return [];
    const { project } = this.o;
    let lock: Lockfile | undefined;
    try {
      lock = await project.lockStore.read();
    } catch (err) {
      // the page still says why; dvc.lock's own error reaches the log and status through the reconciler
      if (!(err instanceof ReprodError)) throw err;
    }
    const params = new Map<string, ReturnType<typeof parseParamsText> | undefined>();
    const md5 = new Map<string, string | undefined>();
    for (const r of reasons) {
      if (r.path === undefined) continue;
      if (r.code === 'params-changed') {
        const dep = stage.params.find((p) => p.defPath === r.path);
        const text = dep ? await project.ws.readText(dep.path) : undefined;
        params.set(r.path, text === undefined ? undefined : this.parseParams(text, r.path));
      } else {
        const h = await project.hasher.hash(r.path).catch((err: unknown) => {
          this.o.log.debug({ path: r.path, err: errorMessage(err) }, 'cannot hash for the web view');
          return null;
        });
        md5.set(r.path, h?.info.md5);
      }
    }
    return staleDetail(reasons, lock?.stages.get(stage.name), { params: (f) => params.get(f), md5: (p) => md5.get(p) });
  }

  private parseParams(text: string, file: string): ReturnType<typeof parseParamsText> | undefined {
    try {
      return parseParamsText(text, file, this.o.project.limits);
    } catch (err) {
      // an invalid params file is the reconciler's to report (status, log); the page shows the reason without the new value
      if (!(err instanceof ReprodError)) throw err;
      return undefined;
    }
  }

  /** The run's complete lines (a line still being written comes as an event once it ends). */
  private async logOf(name: string): Promise<{ log: string[]; logSeq: number }> {
    const mem = this.logs.get(name);
    if (mem) return { log: [...mem.lines], logSeq: mem.count };
    // a run of an earlier process: its log file
    const text = await this.o.project.ws.readText(stageLogPath(name));
    if (text === undefined) return { log: [], logSeq: 0 };
    const lines = text.split(/\r?\n/);
    if (lines[lines.length - 1] === '') lines.pop();
    return { log: lines.slice(-LOG_LINES), logSeq: lines.length };
  }

  private lastRun(r: LastRun): ViewLastRun {
    const v: ViewLastRun = { runId: r.runId, outcome: r.outcome, action: r.action, runtime: r.runtime };
    for (const k of ['startedAt', 'finishedAt', 'image', 'error', 'trackingRunId'] as const) if (r[k] !== undefined) v[k] = r[k];
    if (r.durationSeconds !== undefined) v.durationSeconds = r.durationSeconds;
    if (r.exitCode !== undefined) v.exitCode = r.exitCode;
    if (r.trackingRunId) Object.assign(v, this.trackingLink(r.trackingRunId));
    return v;
  }

  /** An MLflow server's run page (its UI routes `#/runs/ID` to the run), or the run's folder in ./mlruns. */
  private trackingLink(runId: string): Pick<ViewLastRun, 'trackingUrl' | 'trackingPath'> {
    const target = trackingConfig(this.o.project.root, this.o.env ?? process.env).target;
    if (target.kind === 'rest') return { trackingUrl: `${target.baseUrl.replace(/\/+$/, '')}/#/runs/${runId}` };
    if (!existsSync(target.root)) return {};
    const exp = readdirSync(target.root).find((d) => existsSync(path.join(target.root, d, runId)));
    return exp ? { trackingPath: path.relative(this.o.project.root, path.join(target.root, exp, runId)) } : {};
  }
}
