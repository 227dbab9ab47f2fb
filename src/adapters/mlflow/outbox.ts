import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errorText, isMissing } from '../../core/errno.js';
import type { Clock, Logger } from '../../core/ports.js';
import { abortableSleep } from '../../core/sleep.js';
import type {
  ModelPromotion,
  ModelRegistration,
  PassRecord,
  PassRun,
  StageRun,
  StageRunRecord,
  Tracker,
  TrackedRunStatus,
  TrackedTag,
  TrackingHealth,
} from '../../core/ports.js';
import { fitRecords, planLogBatches } from '../../tracking/mlflow-limits.js';
import { completeMlmodel, MLMODEL_FILE, mlmodelProblems } from '../../tracking/mlflow-model.js';
import { errorTags } from '../../tracking/stage-record.js';
import type { MlflowBackend } from './backend.js';
import { deliver, REF_TAG } from './outbox-delivery.js';
import { OutboxJournal, type AbandonedRun, type JournalState } from './outbox-journal.js';
import { OutboxPump } from './outbox-pump.js';
import type { Redactor } from './redact.js';

/**
 * The {@link Tracker} over an MLflow store, through an outbox:
 *
 *   call ─► journal (fsync) ─► returns            (never waits for the server,
 *                 │                                 except a stage's run id: ≤ startWaitMs)
 *                 ▼
 *   pump (outbox-pump.ts) ─► delivery (outbox-delivery.ts) ─► backend
 *
 * This file turns Tracker calls into outbox records: runs named by
 * client-side refs, records fitted to MLflow's limits and redacted,
 * artifacts copied into the outbox. The outbox survives restarts (see
 * {@link OutboxJournal}); delivery is idempotent.
 */

export interface MlflowTrackerOptions {
  backend: MlflowBackend;
  /** Absolute path of the outbox folder. */
  outboxDir: string;
  /** Absolute workspace root: artifact paths are relative to it. */
  workspace: string;
  experimentName: string;
  clock: Clock;
  log: Logger;
  redactor: Redactor;
  /** Credential variables a stage gets along with the tracking URI. */
  credentialsEnv?: Record<string, string>;
  /** `mlflow.user` (the file store's `user_id`). */
  userId?: string;
  /** How long `startStageRun` waits for the server to create the run (default 5 s). */
  startWaitMs?: number;
  backoff?: { baseMs: number; capMs: number };
  /** Waits; resolves early when `signal` aborts. Injected so that tests do not sleep. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  newRef?: () => string;
  /** Called by close(): abandons requests in flight (the REST client's sockets). */
  abortInFlight?: () => void;
  /** This writer, as the outbox names it to other processes (default: this process's pid and host name). */
  pid?: number;
  hostname?: string;
  /** Whether a pid runs here: only for journals of older reprods, which were named by pid. */
  isAlive?: (pid: number) => boolean;
}

async function filesOf(abs: string, rel = ''): Promise<{ abs: string; rel: string }[]> {
  const st = await fs.stat(abs).catch((e: unknown) => {
    if (isMissing(e)) return undefined;
    throw e;
  });
  if (!st) return [];
  if (st.isFile()) return [{ abs, rel }];
  if (!st.isDirectory()) return [];
  const out: { abs: string; rel: string }[] = [];
  for (const name of (await fs.readdir(abs)).sort()) out.push(...(await filesOf(path.join(abs, name), rel ? `${rel}/${name}` : name)));
  return out;
}

export class MlflowTracker implements Tracker, AsyncDisposable {
  private readonly backend: MlflowBackend;
  private readonly newRef: () => string;
  private readonly pump: OutboxPump;

  private constructor(
    private readonly o: MlflowTrackerOptions,
    private readonly journal: OutboxJournal,
    state: JournalState,
  ) {
    this.backend = o.backend;
    this.newRef = o.newRef ?? (() => randomUUID().replace(/-/g, ''));
    const pump: OutboxPump = new OutboxPump(
      {
        journal,
        outboxDir: o.outboxDir,
        describe: o.backend.describe,
        clock: o.clock,
        log: o.log,
        redactor: o.redactor,
        sleep: o.sleep ?? abortableSleep,
        ...(o.backoff ? { backoff: o.backoff } : {}),
        ...(o.abortInFlight ? { abortInFlight: o.abortInFlight } : {}),
        deliver: (rec) =>
          deliver(rec, {
            backend: o.backend,
            ids: pump.ids,
            blobPath: (sha) => journal.blobPath(sha),
            redactor: o.redactor,
            log: o.log,
            note: (key, message) => pump.note(key, message),
          }),
      },
      state,
    );
    this.pump = pump;
  }

  static async open(o: MlflowTrackerOptions): Promise<MlflowTracker> {
    const { journal, state } = await OutboxJournal.open(o.outboxDir, {
      pid: o.pid ?? process.pid,
      hostname: o.hostname ?? os.hostname(),
      ...(o.isAlive ? { isAlive: o.isAlive } : {}),
    });
    const t = new MlflowTracker(o, journal, state);
    if (state.unreadable) t.pump.note('unreadable', `${state.unreadable} unreadable line(s) in the outbox journal were skipped`);
    if (state.adopted.length || state.pending.length) {
      o.log.info({ pending: state.pending.length, adopted: state.adopted, abandonedRuns: state.abandoned.length }, 'tracking records left by an earlier run will be delivered');
    }
    await t.closeAbandoned(state.abandoned);
    return t;
  }

  // ------------------------------------------------------------------ Tracker

  async startPass(opts: { name: string; startedAt: Date; tags?: Record<string, string> }): Promise<PassRun> {
    const ref = this.newRef();
    await this.pump.enqueue({
      kind: 'createRun',
      ref,
      experiment: this.o.experimentName,
      runName: opts.name,
      startTime: opts.startedAt.getTime(),
      tags: this.runTags(ref, opts.tags),
      ...(this.o.userId ? { userId: this.o.userId } : {}),
    });
    const ids = this.pump.ids;
    return {
      ref,
      get runId() {
        return ids.get(ref)?.runId;
      },
      get experimentId() {
        return ids.get(ref)?.experimentId;
      },
    };
  }

  async startStageRun(pass: PassRun, opts: { stageName: string; startedAt: Date; tags?: Record<string, string> }): Promise<StageRun> {
    const ref = this.newRef();
    const seq = await this.pump.enqueue({
      kind: 'createRun',
      ref,
      experiment: this.o.experimentName,
      runName: opts.stageName,
      startTime: opts.startedAt.getTime(),
      tags: this.runTags(ref, opts.tags),
      parentRef: pass.ref,
      ...(this.o.userId ? { userId: this.o.userId } : {}),
    });
    if (seq !== undefined) await this.pump.waitDelivered(seq, this.o.startWaitMs ?? 5_000);
    const handle = this.pump.ids.get(ref);
    const env: Record<string, string> = {
      MLFLOW_TRACKING_URI: this.backend.stageUri,
      MLFLOW_EXPERIMENT_NAME: this.o.experimentName,
      ...(this.o.credentialsEnv ?? {}),
    };
    if (handle) {
      env['MLFLOW_RUN_ID'] = handle.runId;
      env['MLFLOW_EXPERIMENT_ID'] = handle.experimentId;
    }
    const ids = this.pump.ids;
    return {
      ref,
      stageName: opts.stageName,
      env,
      get runId() {
        return ids.get(ref)?.runId;
      },
      get experimentId() {
        return ids.get(ref)?.experimentId;
      },
    };
  }

  async finishStageRun(run: StageRun, record: StageRunRecord): Promise<void> {
    // a credential never leaves in a record, even one a stage's error message or a param happened to hold
    const clean = <T extends { value: string }>(xs: T[]): T[] => xs.map((x) => ({ ...x, value: this.o.redactor.redact(x.value) }));
    const { data, notes } = fitRecords({ params: clean(record.params), metrics: record.metrics, tags: clean(record.tags) });
    if (notes.length) this.o.log.debug({ stage: run.stageName, notes }, 'tracking records adjusted to MLflow limits');
    for (const b of planLogBatches(data)) await this.pump.enqueue({ kind: 'logBatch', ref: run.ref, ...b });
    for (const a of record.artifacts) await this.enqueueFiles(run, path.join(a.root ?? this.o.workspace, a.path), a.artifactPath);
    await this.pump.enqueue({ kind: 'finishRun', ref: run.ref, status: record.status, endTime: record.endTime.getTime() });
  }

  async registerModel(run: StageRun, model: ModelRegistration): Promise<void> {
    const abs = path.join(model.root ?? this.o.workspace, model.path);
    const st = await fs.stat(abs).catch(() => undefined);
    const artifactPath = st?.isFile() ? `model/${path.posix.basename(model.path)}` : 'model';
    const files = await this.enqueueFiles(run, abs, artifactPath, (rel, text) => this.loggedMlmodel(run, model, rel, text));
    if (files === 0) {
      this.o.log.warn({ stage: run.stageName, path: model.path }, 'model not registered: its path does not exist');
      return;
    }
    const mlmodel = st?.isDirectory() ? await fs.stat(path.join(abs, MLMODEL_FILE)).catch(() => undefined) : undefined;
    if (!mlmodel?.isFile()) {
      this.o.log.warn(
        { stage: run.stageName, model: model.name, path: model.path },
        `the registered model is not an MLflow Model folder (no ${MLMODEL_FILE} at its root): mlflow's load_model cannot load it`,
      );
    }
    await this.pump.enqueue({
      kind: 'registerModel',
      ref: run.ref,
      versionRef: this.newRef(),
      name: model.name,
      artifactPath: 'model',
      tags: model.tags ?? [],
      ...(model.md5 ? { md5: model.md5 } : {}),
      ...(model.alias ? { alias: model.alias } : {}),
      ...(model.description ? { description: model.description } : {}),
    });
  }

  async promoteModel(run: StageRun, p: ModelPromotion): Promise<void> {
    await this.pump.enqueue({
      kind: 'promoteModel',
      ref: run.ref,
      name: p.name,
      alias: p.alias,
      ...(p.md5 ? { md5: p.md5 } : {}),
      ...(p.metric ? { metric: p.metric.key, value: p.metric.value } : {}),
    });
  }

  async finishPass(pass: PassRun, status: TrackedRunStatus, endedAt: Date, record?: PassRecord): Promise<void> {
    if (record) {
      const clean = <T extends { value: string }>(xs: T[]): T[] => xs.map((x) => ({ ...x, value: this.o.redactor.redact(x.value) }));
      const { data, notes } = fitRecords({ params: clean(record.params), metrics: record.metrics, tags: clean(record.tags) });
      if (notes.length) this.o.log.debug({ notes }, "the pass's records adjusted to MLflow limits");
      for (const b of planLogBatches(data)) await this.pump.enqueue({ kind: 'logBatch', ref: pass.ref, ...b });
    }
    await this.pump.enqueue({ kind: 'finishRun', ref: pass.ref, status, endTime: endedAt.getTime() });
  }

  runIdOf(run: PassRun | StageRun): string | undefined {
    return this.pump.ids.get(run.ref)?.runId;
  }

  health(): TrackingHealth {
    return this.pump.health();
  }

  // ------------------------------------------------------------------ delivery control

  /**
   * Delivers in the background until `signal` aborts: at once when a record
   * is added, after the backoff when the server failed.
   */
  start(signal: AbortSignal): Promise<void> {
    return this.pump.start(signal);
  }

  /**
   * Tries to deliver everything pending within `deadlineMs` (waiting out
   * backoffs that end before it); what is left stays in the outbox.
   */
  flush(deadlineMs = 10_000): Promise<TrackingHealth> {
    return this.pump.flush(deadlineMs);
  }

  /** Resolves when nothing is pending (at once if nothing is): a daemon's graceful stop, tests. */
  whenIdle(): Promise<void> {
    return this.pump.whenIdle();
  }

  /** Stops delivery (an upload in flight is abandoned and stays pending) and closes the journal. */
  close(): Promise<void> {
    return this.pump.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ------------------------------------------------------------------ internals

  /**
   * Ends the runs a writer that is gone left open (the pass it was in, the
   * stage it was running): KILLED, as MLflow marks a run whose process was
   * stopped, with the cause in the run. Without this they would stay RUNNING
   * forever; the stage itself runs again in a pass of its own.
   */
  private async closeAbandoned(runs: readonly AbandonedRun[]): Promise<void> {
    const endTime = this.o.clock.now().getTime();
    for (const r of runs) {
      const { data } = fitRecords({ params: [], metrics: [], tags: errorTags(`reprod (${r.writer}) stopped before this run finished`) });
      await this.pump.enqueue({ kind: 'logBatch', ref: r.ref, params: [], metrics: [], tags: data.tags });
      await this.pump.enqueue({ kind: 'finishRun', ref: r.ref, status: 'KILLED', endTime });
    }
  }

  private runTags(ref: string, tags: Record<string, string> | undefined): TrackedTag[] {
    const { data } = fitRecords({ params: [], metrics: [], tags: Object.entries(tags ?? {}).map(([key, value]) => ({ key, value: this.o.redactor.redact(value) })) });
    return [...data.tags, { key: REF_TAG, value: ref }];
  }

  /**
   * The logged copy of a model folder's `MLmodel`, completed with this run's
   * fields (see src/tracking/mlflow-model.ts); undefined for any other file.
   * A model without a loadable MLmodel is still registered, with a warning:
   * MLflow's load_model cannot load it.
   */
  private loggedMlmodel(run: StageRun, model: ModelRegistration, rel: string, read: () => Promise<string>): Promise<string | undefined> | undefined {
    if (rel !== MLMODEL_FILE) return undefined;
    return read().then((text) => {
      const problems = mlmodelProblems(text, `${model.path}/${MLMODEL_FILE}`);
      if (problems.length) this.o.log.warn({ stage: run.stageName, model: model.name, problems }, 'the registered model is not a loadable MLflow Model');
      const runId = this.pump.ids.get(run.ref)?.runId;
      return completeMlmodel(text, { artifactPath: 'model', modelUuid: this.newRef(), createdAt: this.o.clock.now(), ...(runId ? { runId } : {}) });
    });
  }

  /**
   * Journals a file, or every file of a folder (`abs`: its absolute path); returns how many.
   * `derive` may give a file's logged content instead of its bytes (by its path inside the folder).
   */
  private async enqueueFiles(
    run: StageRun,
    abs: string,
    artifactPath: string,
    derive?: (rel: string, read: () => Promise<string>) => Promise<string | undefined> | undefined,
  ): Promise<number> {
    let files: { abs: string; rel: string }[];
    try {
      files = await filesOf(abs);
    } catch (e) {
      this.o.log.warn({ stage: run.stageName, path: path.relative(this.o.workspace, abs), err: errorText(e) }, 'artifact not logged: unreadable');
      return 0;
    }
    let n = 0;
    for (const f of files) {
      let blob: string;
      try {
        const derived = derive?.(f.rel, () => fs.readFile(f.abs, 'utf8'));
        const text = derived === undefined ? undefined : await derived;
        blob = text === undefined ? await this.journal.putBlob(f.abs) : await this.journal.putBlobData(text);
      } catch (e) {
        this.o.log.warn({ stage: run.stageName, path: path.relative(this.o.workspace, abs), err: errorText(e) }, 'artifact not logged: cannot copy it into the outbox');
        continue;
      }
      const dest = f.rel ? `${artifactPath}/${f.rel}` : artifactPath;
      await this.pump.enqueue({ kind: 'logArtifact', ref: run.ref, blob, artifactPath: dest });
      n++;
    }
    return n;
  }
}
