import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Clock, FileOwner, TrackedRunStatus, TrackedTag } from '../../core/ports.js';
import { pyFloatRepr } from '../../core/pyvalue.js';
import type { LogBatch } from '../../tracking/mlflow-limits.js';
import type { CreateRunInput, MlflowBackend, ModelVersionInfo, RunHandle } from './backend.js';
import { MlflowError } from './mlflow-error.js';
import { metaNumber, metaString, readMeta, writeMeta, type MetaValue } from './meta-yaml.js';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { giveTo, mkdirOwned } from '../fs/file-owner.js';
import { readOptionalText } from '../fs/read-optional.js';
import { filesUnder, keyPath, newExperimentId, subdirs } from './file-store-files.js';

/**
 * MLflow's file store, the layout its Python client writes for
 * `file:./mlruns` and its UI reads (`mlflow ui --backend-store-uri ./mlruns`):
 *
 *   mlruns/.trash/                     deleted experiments
 *   mlruns/0/meta.yaml                 the Default experiment
 *   mlruns/<exp id>/meta.yaml          artifact_location, creation_time, experiment_id, last_update_time, lifecycle_stage, name
 *   mlruns/<exp id>/<run id>/meta.yaml artifact_uri, [deleted_time while running], end_time, entry_point_name, experiment_id,
 *                                      lifecycle_stage, run_id, run_name, run_uuid, source_name, source_type (4), source_version,
 *                                      start_time, status (1 running, 3 finished, 4 failed, 5 killed), tags ([]), user_id
 *                    metrics/<key>     one line per value: `<timestamp ms> <value as Python float> <step>`
 *                    params/<key>      the value, no newline
 *                    tags/<key>        the value, no newline
 *                    artifacts/…       the files
 *   mlruns/models/<name>/meta.yaml     aliases ({alias: version}), creation_timestamp, description, last_updated_timestamp, name
 *                 aliases/<alias>      the version number
 *                 version-<n>/meta.yaml  aliases ([]), creation_timestamp, current_stage (None), description, last_updated_timestamp,
 *                                      name, run_id, run_link, source, status (READY), status_message, storage_location, user_id, version
 *                 version-<n>/tags/<key>
 *
 * Keys with `/` are nested folders, as MLflow stores them. meta.yaml files
 * are replaced atomically (MLflow's readers retry on an empty file; reprod
 * never leaves one).
 */

const STATUS_CODE: Record<TrackedRunStatus | 'RUNNING', number> = { RUNNING: 1, FINISHED: 3, FAILED: 4, KILLED: 5 };
const RESERVED = new Set(['.trash', 'models']);
const RESERVED_IN_EXPERIMENT = new Set(['tags', 'datasets', 'traces']);

export interface FileStoreOptions {
  /** Absolute path of the `mlruns` folder. */
  root: string;
  clock: Clock;
  /** Run ids (32 hex); tests may fix them. */
  newRunId?: () => string;
  /** Whom what it creates belongs to (adapters/fs/file-owner.ts). */
  owner?: FileOwner | undefined;
}

export class FileStoreBackend implements MlflowBackend {
  readonly kind = 'file' as const;
  readonly stageUri: string;
  readonly describe: string;
  private readonly root: string;
  private readonly clock: Clock;
  private readonly newRunId: () => string;
  private readonly experiments = new Map<string, string>();
  private readonly owner: FileOwner | undefined;

  constructor(opts: FileStoreOptions) {
    this.root = path.resolve(opts.root);
    this.clock = opts.clock;
    this.newRunId = opts.newRunId ?? (() => randomUUID().replace(/-/g, ''));
    this.stageUri = pathToFileURL(this.root).href;
    this.describe = `MLflow file store ${this.root}`;
    this.owner = opts.owner;
  }

  /** `mkdir -p`, the folders made given to the owner. */
  private mkdir(dir: string): Promise<void> {
    return mkdirOwned(dir, this.owner);
  }

  /** Writes (or appends to) a file, in a folder made when missing; the file is the owner's. */
  private async write(file: string, data: string, append = false): Promise<void> {
    await this.mkdir(path.dirname(file));
    await (append ? fs.appendFile(file, data) : fs.writeFile(file, data));
    await giveTo(this.owner, file);
  }

  private writeAtomic(file: string, data: string): Promise<void> {
    return writeFileAtomic(file, (temp) => fs.writeFile(temp, data), { hidden: true, owner: this.owner });
  }

  private now(): number {
    return this.clock.now().getTime();
  }

  /** MLflow's own start-up: a new root gets the Default experiment; `.trash` always exists. */
  private async ensureRoot(): Promise<void> {
    const fresh = (await readOptionalText(path.join(this.root, '0', 'meta.yaml'))) === undefined && (await subdirs(this.root)).length === 0;
    await this.mkdir(path.join(this.root, '.trash'));
    if (fresh) await this.writeExperiment('0', 'Default');
  }

  private async writeExperiment(id: string, name: string): Promise<void> {
    const now = this.now();
    await this.mkdir(path.join(this.root, id));
    await this.writeAtomic(
      path.join(this.root, id, 'meta.yaml'),
      writeMeta({
        artifact_location: pathToFileURL(path.join(this.root, id)).href,
        creation_time: now,
        experiment_id: id,
        last_update_time: now,
        lifecycle_stage: 'active',
        name,
      }),
    );
  }

  async experimentId(name: string): Promise<string> {
    const cached = this.experiments.get(name);
    if (cached !== undefined && (await readOptionalText(path.join(this.root, cached, 'meta.yaml'))) !== undefined) return cached;
    await this.ensureRoot();
    for (const dir of (await subdirs(this.root)).sort()) {
      if (RESERVED.has(dir)) continue;
      const text = await readOptionalText(path.join(this.root, dir, 'meta.yaml'));
      if (text === undefined) continue;
      const meta = readMeta(text, `${dir}/meta.yaml`);
      if (metaString(meta, 'name') === name && metaString(meta, 'lifecycle_stage') !== 'deleted') {
        this.experiments.set(name, dir);
        return dir;
      }
    }
    let id = newExperimentId();
    while ((await subdirs(this.root)).includes(id)) id = newExperimentId();
    await this.writeExperiment(id, name);
    this.experiments.set(name, id);
    return id;
  }

  private runDir(run: { experimentId: string; runId: string }): string {
    return path.join(this.root, run.experimentId, run.runId);
  }

  private handle(experimentId: string, runId: string): RunHandle {
    return { runId, experimentId, artifactUri: pathToFileURL(path.join(this.root, experimentId, runId, 'artifacts')).href };
  }

  async findRunByTag(experimentId: string, key: string, value: string): Promise<RunHandle | undefined> {
    const expDir = path.join(this.root, experimentId);
    for (const runId of (await subdirs(expDir)).sort()) {
      if (RESERVED_IN_EXPERIMENT.has(runId)) continue;
      const tag = await readOptionalText(keyPath(path.join(expDir, runId, 'tags'), key));
      if (tag === value) return this.handle(experimentId, runId);
    }
    return undefined;
  }

  private async readRunMeta(run: RunHandle): Promise<Record<string, unknown>> {
    const file = path.join(this.runDir(run), 'meta.yaml');
    const text = await readOptionalText(file);
    if (text === undefined) throw new MlflowError('not-found', `run ${run.runId} not found in ${this.root}`);
    return readMeta(text, file);
  }

  private runMeta(run: RunHandle, fields: { runName: string; startTime: number; endTime: number | null; status: number; userId: string; running: boolean }): string {
    const doc: Record<string, MetaValue> = {
      artifact_uri: run.artifactUri,
      end_time: fields.endTime,
      entry_point_name: '',
      experiment_id: run.experimentId,
      lifecycle_stage: 'active',
      run_id: run.runId,
      run_name: fields.runName,
      run_uuid: run.runId,
      source_name: '',
      source_type: 4,
      source_version: '',
      start_time: fields.startTime,
      status: fields.status,
      tags: [],
      user_id: fields.userId,
    };
    if (fields.running) doc['deleted_time'] = null;
    return writeMeta(doc);
  }

  async createRun(experimentId: string, input: CreateRunInput): Promise<RunHandle> {
    const run = this.handle(experimentId, this.newRunId());
    const dir = this.runDir(run);
    await this.mkdir(dir);
    await this.writeAtomic(
      path.join(dir, 'meta.yaml'),
      this.runMeta(run, { runName: input.runName, startTime: input.startTime, endTime: null, status: STATUS_CODE.RUNNING, userId: input.userId ?? '', running: true }),
    );
    for (const sub of ['metrics', 'params', 'artifacts']) await this.mkdir(path.join(dir, sub));
    const tags = input.tags.some((t) => t.key === 'mlflow.runName') ? input.tags : [...input.tags, { key: 'mlflow.runName', value: input.runName }];
    await this.writeTags(path.join(dir, 'tags'), tags);
    return run;
  }

  private async writeTags(dir: string, tags: readonly TrackedTag[]): Promise<void> {
    for (const t of tags) {
      const file = keyPath(dir, t.key);
      await this.write(file, t.value);
    }
  }

  /** Repeatable: a param with the same value, a metric line already there and a tag are no-ops. */
  async logBatch(run: RunHandle, batch: LogBatch): Promise<void> {
    const dir = this.runDir(run);
    if ((await readOptionalText(path.join(dir, 'meta.yaml'))) === undefined) throw new MlflowError('not-found', `run ${run.runId} not found in ${this.root}`);
    for (const p of batch.params) {
      const file = keyPath(path.join(dir, 'params'), p.key);
      const old = await readOptionalText(file);
      if (old !== undefined && old !== p.value) {
        throw new MlflowError(
          'rejected',
          `Changing param values is not allowed. Param with key='${p.key}' was already logged with value='${old}' for run ID='${run.runId}'. Attempted logging new value '${p.value}'.`,
          400,
          'INVALID_PARAMETER_VALUE',
        );
      }
      if (old === undefined) {
        await this.write(file, p.value);
      }
    }
    for (const m of batch.metrics) {
      const file = keyPath(path.join(dir, 'metrics'), m.key);
      const line = `${m.timestamp} ${pyFloatRepr(m.value)} ${m.step}\n`;
      const old = (await readOptionalText(file)) ?? '';
      if (old.split('\n').includes(line.slice(0, -1))) continue;
      await this.write(file, line, true);
    }
    await this.writeTags(path.join(dir, 'tags'), batch.tags);
    const name = batch.tags.find((t) => t.key === 'mlflow.runName');
    if (name) await this.updateRunMeta(run, { runName: name.value });
  }

  async logArtifact(run: RunHandle, artifactPath: string, file: string): Promise<void> {
    const root = fileURLToPath(run.artifactUri);
    await writeFileAtomic(keyPath(root, artifactPath), (temp) => fs.copyFile(file, temp), { hidden: true, owner: this.owner });
  }

  private async updateRunMeta(run: RunHandle, change: { runName?: string; status?: number; endTime?: number }): Promise<void> {
    const meta = await this.readRunMeta(run);
    const status = change.status ?? metaNumber(meta, 'status') ?? STATUS_CODE.RUNNING;
    const endTime = change.endTime ?? metaNumber(meta, 'end_time') ?? null;
    await this.writeAtomic(
      path.join(this.runDir(run), 'meta.yaml'),
      this.runMeta(run, {
        runName: change.runName ?? metaString(meta, 'run_name') ?? '',
        startTime: metaNumber(meta, 'start_time') ?? 0,
        endTime,
        status,
        userId: metaString(meta, 'user_id') ?? '',
        // MLflow drops `deleted_time` from meta.yaml whenever it rewrites a run's info
        running: false,
      }),
    );
  }

  async finishRun(run: RunHandle, status: TrackedRunStatus, endTime: number): Promise<void> {
    await this.updateRunMeta(run, { status: STATUS_CODE[status], endTime });
  }

  // ---------------------------------------------------------------- registry

  private modelDir(name: string): string {
    if (name === '' || name.includes('/') || name.includes('\\') || name.includes('%') || name === '.' || name === '..') {
      throw new MlflowError('rejected', `Invalid name: '${name}'. Registered model name cannot contain path separator or '%'`, 400, 'INVALID_PARAMETER_VALUE');
    }
    return path.join(this.root, 'models', name);
  }

  private async aliasesOf(name: string): Promise<Record<string, string>> {
    const dir = path.join(this.modelDir(name), 'aliases');
    const out: Record<string, string> = {};
    for (const a of await filesUnder(dir)) out[a] = (await readOptionalText(path.join(dir, a))) ?? '';
    return out;
  }

  /** Rewrites the model's meta.yaml as MLflow does after any change: current aliases, new update time. */
  private async touchModel(name: string, description?: string | null): Promise<void> {
    const file = path.join(this.modelDir(name), 'meta.yaml');
    const text = await readOptionalText(file);
    const meta = text === undefined ? {} : readMeta(text, file);
    const now = this.now();
    const desc = description !== undefined ? description : (metaString(meta, 'description') ?? null);
    await this.writeAtomic(
      file,
      writeMeta({
        aliases: await this.aliasesOf(name),
        creation_timestamp: metaNumber(meta, 'creation_timestamp') ?? now,
        description: desc,
        last_updated_timestamp: now,
        name,
      }),
    );
  }

  async ensureRegisteredModel(name: string, description?: string): Promise<void> {
    const dir = this.modelDir(name);
    if ((await readOptionalText(path.join(dir, 'meta.yaml'))) !== undefined) return;
    await this.mkdir(dir);
    await this.touchModel(name, description ?? null);
  }

  async modelVersions(name: string): Promise<ModelVersionInfo[]> {
    const dir = this.modelDir(name);
    const out: ModelVersionInfo[] = [];
    for (const sub of await subdirs(dir)) {
      if (!sub.startsWith('version-')) continue;
      const text = await readOptionalText(path.join(dir, sub, 'meta.yaml'));
      if (text === undefined) continue;
      const meta = readMeta(text, `${sub}/meta.yaml`);
      if (metaString(meta, 'current_stage') === 'Deleted_Internal') continue;
      const tags: Record<string, string> = {};
      for (const k of await filesUnder(path.join(dir, sub, 'tags'))) tags[k] = (await readOptionalText(path.join(dir, sub, 'tags', k))) ?? '';
      const runId = metaString(meta, 'run_id');
      out.push({ version: sub.slice('version-'.length), tags, ...(runId ? { runId } : {}) });
    }
    return out.sort((a, b) => Number(a.version) - Number(b.version));
  }

  async createModelVersion(name: string, source: string, run: RunHandle, tags: TrackedTag[]): Promise<string> {
    const dir = this.modelDir(name);
    if ((await readOptionalText(path.join(dir, 'meta.yaml'))) === undefined) {
      throw new MlflowError('not-found', `Registered Model with name=${name} not found`, 404, 'RESOURCE_DOES_NOT_EXIST');
    }
    const existing = await this.modelVersions(name);
    const taken = new Set((await subdirs(dir)).filter((s) => s.startsWith('version-')));
    let n = existing.reduce((max, v) => Math.max(max, Number(v.version)), 0) + 1;
    while (taken.has(`version-${n}`)) n++;
    await this.touchModel(name);
    const now = this.now();
    const vdir = path.join(dir, `version-${n}`);
    await this.mkdir(vdir);
    await this.writeAtomic(
      path.join(vdir, 'meta.yaml'),
      writeMeta({
        aliases: [],
        creation_timestamp: now,
        current_stage: 'None',
        description: null,
        last_updated_timestamp: now,
        name,
        run_id: run.runId,
        run_link: null,
        source,
        status: 'READY',
        status_message: null,
        storage_location: source,
        user_id: null,
        version: n,
      }),
    );
    await this.writeTags(path.join(vdir, 'tags'), tags);
    await this.touchModel(name);
    return String(n);
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    const dir = this.modelDir(name);
    if ((await readOptionalText(path.join(dir, `version-${version}`, 'meta.yaml'))) === undefined) {
      throw new MlflowError('not-found', `Model Version (name=${name}, version=${version}) not found`, 404, 'RESOURCE_DOES_NOT_EXIST');
    }
    const file = keyPath(path.join(dir, 'aliases'), alias);
    await this.write(file, version);
    await this.touchModel(name);
  }

  async aliasVersion(name: string, alias: string): Promise<string | undefined> {
    const v = await readOptionalText(keyPath(path.join(this.modelDir(name), 'aliases'), alias));
    return v === undefined || v === '' ? undefined : v;
  }

  async setVersionTag(name: string, version: string, tag: TrackedTag): Promise<void> {
    const vdir = path.join(this.modelDir(name), `version-${version}`);
    if ((await readOptionalText(path.join(vdir, 'meta.yaml'))) === undefined) {
      throw new MlflowError('not-found', `Model Version (name=${name}, version=${version}) not found`, 404, 'RESOURCE_DOES_NOT_EXIST');
    }
    await this.writeTags(path.join(vdir, 'tags'), [tag]);
  }

  /** As MLflow's `register_model('runs:/<id>/<path>')` records it in a file store. */
  modelSource(run: RunHandle, artifactPath: string): string {
    return `runs:/${run.runId}/${artifactPath}`;
  }
}
