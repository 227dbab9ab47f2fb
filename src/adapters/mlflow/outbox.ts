import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { backoffDelay } from '../../core/backoff.js';
import type { Clock, Logger } from '../../core/ports.js';
import type {
  ModelPromotion,
  ModelRegistration,
  PassRun,
  StageRun,
  StageRunRecord,
  Tracker,
  TrackedRunStatus,
  TrackedTag,
  TrackingHealth,
} from '../../core/tracking.js';
import { fitRecords, mlflowKey, planLogBatches } from '../../tracking/mlflow-limits.js';
import type { MlflowBackend, RunHandle } from './backend.js';
import { isMlflowError, MlflowError } from './mlflow-error.js';
import { OutboxJournal, type JournalRecord } from './outbox-journal.js';
import { refsOf, type OutboxOp } from './outbox-ops.js';
import type { Redactor } from './redact.js';
import { errorText, isMissing } from '../../core/errno.js';

/**
 * The {@link Tracker} over an MLflow store, through an outbox:
 *
 *   call ─► journal (fsync) ─► returns            (never waits for the server,
 *                 │                                 except a stage's run id: ≤ startWaitMs)
 *                 ▼
 *   pump: createRun ops first, then the rest in order ─► backend
 *        ok ─► ack (+ server ids) ─► next
 *        transient / auth ─► stop; retry after capped exponential backoff, for as long as it takes
 *                            (an op the server keeps failing holds the queue, and health() says why)
 *        rejected ─► rejected.jsonl, next (a record the server refuses cannot block the others)
 *
 * Delivery is idempotent: a run is created with the tag `reprod.ref` (its
 * client-side id) and a repeated create first looks for it; a model version
 * carries `reprod.ref` and `reprod.md5` and is found again by them; log-batch
 * repeats are harmless (MLflow accepts a param with the same value again).
 * The outbox survives restarts (see {@link OutboxJournal}).
 */

/** Tag that names a run's or a version's client-side id. */
export const REF_TAG = 'reprod.ref';

const MAX_REMEMBERED_RUNS = 10_000;

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
  pid?: number;
  isAlive?: (pid: number) => boolean;
}

export function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

interface Pending extends JournalRecord {
  /** Delivery was tried (or may have been, before a restart): a create must look for its run first. */
  attempted: boolean;
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
  private readonly o: MlflowTrackerOptions;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly newRef: () => string;
  private readonly pending: Pending[];
  private readonly ids: Map<string, RunHandle>;
  private nextSeq: number;
  private pumping: Promise<void> | undefined;
  private streak = 0;
  private nextAttemptAt = 0;
  private lastError: string | undefined;
  private readonly notes = new Map<string, string>();
  private rejected = 0;
  private wake: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  private constructor(
    o: MlflowTrackerOptions,
    private readonly journal: OutboxJournal,
    state: { pending: JournalRecord[]; ids: Map<string, RunHandle> },
  ) {
    this.o = o;
    this.backend = o.backend;
    this.sleep = o.sleep ?? realSleep;
    this.newRef = o.newRef ?? (() => randomUUID().replace(/-/g, ''));
    // ops read back from disk may have reached the server before the restart
    this.pending = state.pending.map((r) => ({ ...r, attempted: true }));
    this.ids = state.ids;
    this.nextSeq = this.pending.reduce((m, r) => Math.max(m, r.seq), 0) + 1;
  }

  static async open(o: MlflowTrackerOptions): Promise<MlflowTracker> {
    const { journal, state } = await OutboxJournal.open(o.outboxDir, o.pid ?? process.pid, o.isAlive);
    const t = new MlflowTracker(o, journal, state);
    if (state.unreadable) t.note('unreadable', `${state.unreadable} unreadable line(s) in the outbox journal were skipped`);
    if (state.adopted.length || state.pending.length) {
      o.log.info({ pending: state.pending.length, adopted: state.adopted }, 'tracking records left by an earlier run will be delivered');
    }
    return t;
  }

  // ------------------------------------------------------------------ Tracker

  async startPass(opts: { name: string; startedAt: Date; tags?: Record<string, string> }): Promise<PassRun> {
    const ref = this.newRef();
    await this.enqueue({
      kind: 'createRun',
      ref,
      experiment: this.o.experimentName,
      runName: opts.name,
      startTime: opts.startedAt.getTime(),
      tags: this.runTags(ref, opts.tags),
      ...(this.o.userId ? { userId: this.o.userId } : {}),
    });
    const ids = this.ids;
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
    const seq = await this.enqueue({
      kind: 'createRun',
      ref,
      experiment: this.o.experimentName,
      runName: opts.stageName,
      startTime: opts.startedAt.getTime(),
      tags: this.runTags(ref, opts.tags),
      parentRef: pass.ref,
      ...(this.o.userId ? { userId: this.o.userId } : {}),
    });
    if (seq !== undefined) await this.waitDelivered(seq, this.o.startWaitMs ?? 5_000);
    const handle = this.ids.get(ref);
    const env: Record<string, string> = {
      MLFLOW_TRACKING_URI: this.backend.stageUri,
      MLFLOW_EXPERIMENT_NAME: this.o.experimentName,
      ...(this.o.credentialsEnv ?? {}),
    };
    if (handle) {
      env['MLFLOW_RUN_ID'] = handle.runId;
      env['MLFLOW_EXPERIMENT_ID'] = handle.experimentId;
    }
    const ids = this.ids;
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
    for (const b of planLogBatches(data)) await this.enqueue({ kind: 'logBatch', ref: run.ref, ...b });
    for (const a of record.artifacts) await this.enqueueFiles(run, a.path, a.artifactPath);
    await this.enqueue({ kind: 'finishRun', ref: run.ref, status: record.status, endTime: record.endTime.getTime() });
  }

  async registerModel(run: StageRun, model: ModelRegistration): Promise<void> {
    const st = await fs.stat(path.join(this.o.workspace, model.path)).catch(() => undefined);
    const artifactPath = st?.isFile() ? `model/${path.posix.basename(model.path)}` : 'model';
    const files = await this.enqueueFiles(run, model.path, artifactPath);
    if (files === 0) {
      this.o.log.warn({ stage: run.stageName, path: model.path }, 'model not registered: its path does not exist');
      return;
    }
    await this.enqueue({
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
    await this.enqueue({ kind: 'promoteModel', ref: run.ref, name: p.name, alias: p.alias, ...(p.md5 ? { md5: p.md5 } : {}) });
  }

  async finishPass(pass: PassRun, status: TrackedRunStatus, endedAt: Date): Promise<void> {
    await this.enqueue({ kind: 'finishRun', ref: pass.ref, status, endTime: endedAt.getTime() });
  }

  runIdOf(run: PassRun | StageRun): string | undefined {
    return this.ids.get(run.ref)?.runId;
  }

  health(): TrackingHealth {
    const parts: string[] = [];
    if (this.lastError !== undefined) {
      const wait = Math.max(0, Math.round((this.nextAttemptAt - this.o.clock.now().getTime()) / 1000));
      parts.push(`${this.backend.describe} is unavailable: ${this.lastError}; ${this.pending.length} record(s) kept in the outbox, next attempt in ${wait}s`);
    }
    if (this.rejected) parts.push(`${this.rejected} record(s) refused by the server (see ${path.join(this.o.outboxDir, 'rejected.jsonl')})`);
    parts.push(...this.notes.values());
    return { available: this.lastError === undefined, pending: this.pending.length, message: this.o.redactor.redact(parts.join('; ')) };
  }

  // ------------------------------------------------------------------ delivery control

  /**
   * Delivers in the background until `signal` aborts: at once when a record
   * is added, after the backoff when the server failed.
   */
  async start(signal: AbortSignal): Promise<void> {
    const onAbort = () => this.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted && !this.closed) {
        await this.kick();
        if (signal.aborted) break;
        const woken = new Promise<void>((resolve) => (this.wake = resolve));
        if (this.pending.length === 0) {
          await woken;
        } else {
          const ac = new AbortController();
          const stop = () => ac.abort();
          signal.addEventListener('abort', stop, { once: true });
          void woken.then(stop);
          await this.sleep(Math.max(0, this.nextAttemptAt - this.o.clock.now().getTime()), ac.signal);
          signal.removeEventListener('abort', stop);
        }
        this.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Tries to deliver everything pending within `deadlineMs` (waiting out
   * backoffs that end before it); what is left stays in the outbox.
   */
  async flush(deadlineMs = 10_000): Promise<TrackingHealth> {
    const end = this.o.clock.now().getTime() + deadlineMs;
    for (;;) {
      await this.kick();
      const now = this.o.clock.now().getTime();
      if (this.pending.length === 0 || now >= end || this.nextAttemptAt > end) break;
      await this.sleep(Math.max(0, this.nextAttemptAt - now));
    }
    return this.health();
  }

  /** Resolves when nothing is pending (at once if nothing is): a daemon's graceful stop, tests. */
  whenIdle(): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops delivery (an upload in flight is abandoned and stays pending) and closes the journal. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
    this.o.abortInFlight?.();
    await this.pumping;
    if (this.pending.length === 0) await this.journal.compact([], this.ids);
    await this.journal.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ------------------------------------------------------------------ internals

  private runTags(ref: string, tags: Record<string, string> | undefined): TrackedTag[] {
    const { data } = fitRecords({ params: [], metrics: [], tags: Object.entries(tags ?? {}).map(([key, value]) => ({ key, value: this.o.redactor.redact(value) })) });
    return [...data.tags, { key: REF_TAG, value: ref }];
  }

  private note(key: string, message: string): void {
    if (this.notes.has(key)) return;
    this.notes.set(key, message);
    this.o.log.warn({ tracking: this.backend.describe, note: this.o.redactor.redact(message) }, 'tracking degraded');
  }

  /** Journals an op (durably) and starts delivery; never throws: a journal that cannot be written is reported. */
  private async enqueue(op: OutboxOp): Promise<number | undefined> {
    const rec: Pending = { seq: this.nextSeq++, op, attempted: false };
    try {
      await this.journal.appendOp(rec);
    } catch (e) {
      this.o.log.error({ err: this.o.redactor.redact(errorText(e)), kind: op.kind }, 'tracking record lost: the outbox cannot be written');
      this.notes.set('journal', `the outbox cannot be written (${this.o.redactor.redact(errorText(e))}): tracking records are lost`);
      return undefined;
    }
    this.pending.push(rec);
    this.wake?.();
    if (this.wake === undefined) void this.kick();
    return rec.seq;
  }

  /** Journals a workspace file, or every file of a folder; returns how many. */
  private async enqueueFiles(run: StageRun, wsPath: string, artifactPath: string): Promise<number> {
    let files: { abs: string; rel: string }[];
    try {
      files = await filesOf(path.join(this.o.workspace, wsPath));
    } catch (e) {
      this.o.log.warn({ stage: run.stageName, path: wsPath, err: errorText(e) }, 'artifact not logged: unreadable');
      return 0;
    }
    let n = 0;
    for (const f of files) {
      let blob: string;
      try {
        blob = await this.journal.putBlob(f.abs);
      } catch (e) {
        this.o.log.warn({ stage: run.stageName, path: wsPath, err: errorText(e) }, 'artifact not logged: cannot copy it into the outbox');
        continue;
      }
      const dest = f.rel ? `${artifactPath}/${f.rel}` : artifactPath;
      await this.enqueue({ kind: 'logArtifact', ref: run.ref, blob, artifactPath: dest });
      n++;
    }
    return n;
  }

  private isAcked(seq: number): boolean {
    return !this.pending.some((r) => r.seq === seq);
  }

  private async waitDelivered(seq: number, ms: number): Promise<void> {
    if (this.lastError !== undefined && this.o.clock.now().getTime() < this.nextAttemptAt) return;
    const ac = new AbortController();
    const delivered = (async () => {
      while (!this.isAcked(seq) && !ac.signal.aborted && !this.closed) {
        await this.kick();
        if (this.lastError !== undefined) return;
      }
    })();
    await Promise.race([delivered, this.sleep(ms, ac.signal)]);
    ac.abort();
  }

  /** Runs the pump unless it is running; resolves when that pump stops. */
  private kick(): Promise<void> {
    if (!this.pumping) {
      this.pumping = this.pump().finally(() => {
        this.pumping = undefined;
      });
    }
    return this.pumping;
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      if (this.lastError !== undefined && this.o.clock.now().getTime() < this.nextAttemptAt) return;
      const rec = this.pending.find((r) => r.op.kind === 'createRun') ?? this.pending[0];
      if (!rec) break;
      let ids: Record<string, RunHandle> | undefined;
      try {
        ids = await this.deliver(rec);
      } catch (e) {
        const err = isMlflowError(e) ? e : new MlflowError('transient', errorText(e), undefined, undefined, e);
        const message = this.o.redactor.redact(err.message);
        // an outage (or credentials to fix) holds everything back, for as long as it lasts: nothing is dropped
        if (err.kind === 'transient' || err.kind === 'auth') {
          this.failed(message);
          return;
        }
        await this.setAside(rec, message);
        continue;
      }
      await this.acknowledge(rec, ids);
    }
    if (this.pending.length === 0 || this.journal.needsCompaction) {
      await this.journal.compact(this.pending, this.ids).catch((e: unknown) => this.o.log.warn({ err: errorText(e) }, 'outbox compaction failed'));
    }
  }

  private failed(message: string): void {
    this.streak++;
    const { baseMs, capMs } = this.o.backoff ?? { baseMs: 1_000, capMs: 60_000 };
    const delay = backoffDelay(this.streak, baseMs, capMs);
    this.nextAttemptAt = this.o.clock.now().getTime() + delay;
    if (this.lastError === undefined) this.o.log.warn({ tracking: this.backend.describe, pending: this.pending.length, retryInMs: delay, err: message }, 'tracking unavailable');
    this.lastError = message;
  }

  private async acknowledge(rec: Pending, ids: Record<string, RunHandle> | undefined): Promise<void> {
    if (this.lastError !== undefined) this.o.log.info({ tracking: this.backend.describe, pending: this.pending.length - 1 }, 'tracking available again');
    this.streak = 0;
    this.lastError = undefined;
    for (const [k, v] of Object.entries(ids ?? {})) this.ids.set(k, v);
    this.forgetOldIds();
    this.remove(rec);
    await this.journal.appendAck(rec.seq, ids).catch((e: unknown) => this.o.log.warn({ err: errorText(e) }, 'outbox acknowledgement not written: the record may be sent again'));
    await this.dropBlob(rec.op);
  }

  private async setAside(rec: Pending, message: string): Promise<void> {
    this.rejected++;
    this.o.log.warn({ tracking: this.backend.describe, kind: rec.op.kind, err: message }, 'tracking record refused');
    this.remove(rec);
    await this.journal.appendDead(rec, message, this.o.clock.now()).catch((e: unknown) => this.o.log.warn({ err: errorText(e) }, 'outbox rejection not written'));
    await this.dropBlob(rec.op);
  }

  /** Keeps the ref → run map bounded in a long-running daemon: the oldest refs no pending op needs go. */
  private forgetOldIds(): void {
    if (this.ids.size <= MAX_REMEMBERED_RUNS) return;
    const needed = new Set(this.pending.flatMap((r) => refsOf(r.op)));
    for (const ref of this.ids.keys()) {
      if (this.ids.size <= MAX_REMEMBERED_RUNS) break;
      if (!needed.has(ref)) this.ids.delete(ref);
    }
  }

  private remove(rec: Pending): void {
    const i = this.pending.indexOf(rec);
    if (i >= 0) this.pending.splice(i, 1);
    if (this.pending.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private async dropBlob(op: OutboxOp): Promise<void> {
    if (op.kind !== 'logArtifact') return;
    if (this.pending.some((r) => r.op.kind === 'logArtifact' && r.op.blob === op.blob)) return;
    await this.journal.removeBlob(op.blob).catch(() => undefined);
  }

  private need(ref: string): RunHandle {
    const h = this.ids.get(ref);
    if (!h) throw new MlflowError('rejected', 'the run was never created on the server (its creation was refused)');
    return h;
  }

  private async deliver(rec: Pending): Promise<Record<string, RunHandle> | undefined> {
    const op = rec.op;
    const b = this.backend;
    switch (op.kind) {
      case 'createRun': {
        const exp = await b.experimentId(op.experiment);
        let run = rec.attempted ? await b.findRunByTag(exp, REF_TAG, op.ref) : undefined;
        if (!run) {
          rec.attempted = true;
          const parent = op.parentRef ? this.ids.get(op.parentRef) : undefined;
          const tags = parent ? [{ key: 'mlflow.parentRunId', value: parent.runId }, ...op.tags] : op.tags;
          run = await b.createRun(exp, { runName: op.runName, startTime: op.startTime, tags, ...(op.userId ? { userId: op.userId } : {}) });
        }
        return { [op.ref]: run };
      }
      case 'logBatch':
        await b.logBatch(this.need(op.ref), op);
        return undefined;
      case 'logArtifact': {
        const run = this.need(op.ref);
        const file = this.journal.blobPath(op.blob);
        try {
          await fs.access(file);
        } catch {
          throw new MlflowError('rejected', `artifact ${op.artifactPath}: its copy in the outbox is gone`);
        }
        try {
          await b.logArtifact(run, op.artifactPath, file);
        } catch (e) {
          if (!isMlflowError(e, 'unsupported')) throw e;
          this.note('artifacts', `artifacts are not uploaded: ${this.o.redactor.redact(e.message)}`);
        }
        return undefined;
      }
      case 'finishRun':
        await b.finishRun(this.need(op.ref), op.status, op.endTime);
        return undefined;
      case 'registerModel':
        await this.deliverRegistration(op);
        return undefined;
      case 'promoteModel':
        await this.deliverPromotion(op);
        return undefined;
    }
  }

  private noRegistry(e: MlflowError): void {
    this.note('registry', `the server has no model registry (${this.o.redactor.redact(e.message)}): models are recorded in run tags instead`);
  }

  /** Runs registry steps; a server without (part of) a registry gets run tags instead. */
  private async withRegistry(run: () => RunHandle, steps: () => Promise<void>, fallback: TrackedTag[]): Promise<void> {
    try {
      await steps();
    } catch (e) {
      if (!isMlflowError(e, 'unsupported')) throw e;
      this.noRegistry(e);
      await this.backend.logBatch(run(), { params: [], metrics: [], tags: fallback });
    }
  }

  private async deliverRegistration(op: Extract<OutboxOp, { kind: 'registerModel' }>): Promise<void> {
    const run = this.need(op.ref);
    const b = this.backend;
    const source = b.modelSource(run, op.artifactPath);
    const fallback: TrackedTag[] = [
      { key: 'reprod.model.name', value: op.name },
      { key: 'reprod.model.source', value: source },
    ];
    if (op.md5) fallback.push({ key: 'reprod.model.md5', value: op.md5 });
    if (op.alias) fallback.push({ key: `reprod.model.alias.${mlflowKey(op.alias)}`, value: op.md5 ?? source });
    await this.withRegistry(
      () => run,
      async () => {
        await b.ensureRegisteredModel(op.name, op.description);
        const versions = await b.modelVersions(op.name);
        // the same version again after a lost answer (its ref), or the same bytes registered before (its md5)
        const found =
          versions.find((v) => v.tags[REF_TAG] === op.versionRef) ??
          (op.md5 ? [...versions].reverse().find((v) => v.tags['reprod.md5'] === op.md5) : undefined);
        let version = found?.version;
        if (version === undefined) {
          const tags = [...op.tags, { key: REF_TAG, value: op.versionRef }, ...(op.md5 ? [{ key: 'reprod.md5', value: op.md5 }] : [])];
          version = await b.createModelVersion(op.name, source, run, tags);
        }
        if (op.alias) await b.setAlias(op.name, op.alias, version);
        this.o.log.info({ model: op.name, version, alias: op.alias, reused: found !== undefined }, 'model registered');
      },
      fallback,
    );
  }

  private async deliverPromotion(op: Extract<OutboxOp, { kind: 'promoteModel' }>): Promise<void> {
    const b = this.backend;
    await this.withRegistry(
      () => this.need(op.ref),
      async () => {
        const versions = await b.modelVersions(op.name);
        const target = op.md5 ? [...versions].reverse().find((v) => v.tags['reprod.md5'] === op.md5) : versions[versions.length - 1];
        if (!target) {
          throw new MlflowError('rejected', `model ${op.name}: no version ${op.md5 ? `with md5 ${op.md5}` : 'at all'} to give the alias '${op.alias}'`);
        }
        await b.setAlias(op.name, op.alias, target.version);
        this.o.log.info({ model: op.name, version: target.version, alias: op.alias }, 'model promoted');
      },
      [{ key: `reprod.model.alias.${mlflowKey(op.alias)}`, value: `${op.name} ${op.md5 ?? 'newest'}` }],
    );
  }
}
