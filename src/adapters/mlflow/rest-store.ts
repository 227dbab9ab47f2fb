import type { TrackedRunStatus, TrackedTag } from '../../core/ports.js';
import type { LogBatch } from '../../tracking/mlflow-limits.js';
import type { CreateRunInput, MlflowBackend, ModelVersionInfo, RunHandle } from './backend.js';
import { isMlflowError, MlflowError } from './mlflow-error.js';
import type { MlflowRestClient } from './rest-client.js';

/**
 * MLflow's REST API 2.x, with the request shapes MLflow's own client sends
 * (recorded against MLflow 2.17): params and tags as strings, metrics as
 * numbers with a timestamp, empty lists left out, artifacts through the
 * `mlflow-artifacts` proxy.
 */

function field(v: unknown, ...keys: string[]): unknown {
  let cur = v;
  for (const k of keys) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function str(v: unknown, what: string, ...keys: string[]): string {
  const x = field(v, ...keys);
  if (typeof x === 'string') return x;
  if (typeof x === 'number') return String(x);
  throw new MlflowError('rejected', `unexpected answer to ${what}: no ${keys.join('.')}`);
}

function list(v: unknown, ...keys: string[]): unknown[] {
  const x = field(v, ...keys);
  return Array.isArray(x) ? x : [];
}

function tagMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of list(v, 'tags')) {
    const k = field(t, 'key');
    const val = field(t, 'value');
    if (typeof k === 'string' && typeof val === 'string') out[k] = val;
  }
  return out;
}

/** A filter-string literal: MLflow takes `'…'` or `"…"`, without escapes. */
function quote(s: string): string {
  if (!s.includes("'")) return `'${s}'`;
  if (!s.includes('"')) return `"${s}"`;
  throw new MlflowError('rejected', `cannot search for a value holding both quote characters: ${s}`);
}

/** `mlflow-artifacts:/2/<run>/artifacts` (or `mlflow-artifacts://host/…`) → `2/<run>/artifacts`. */
function proxiedArtifactPath(artifactUri: string): string | undefined {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/*(.*)$/.exec(artifactUri);
  return m ? (m[1] ?? '').replace(/\/+$/, '') : undefined;
}

export class RestBackend implements MlflowBackend {
  readonly kind = 'rest' as const;
  private readonly experiments = new Map<string, string>();

  constructor(
    private readonly client: MlflowRestClient,
    readonly stageUri: string,
    readonly describe: string,
  ) {}

  async experimentId(name: string): Promise<string> {
    const cached = this.experiments.get(name);
    if (cached !== undefined) return cached;
    let id: string;
    try {
      id = await this.getExperiment(name);
    } catch (e) {
      if (!isMlflowError(e, 'not-found')) throw e;
      try {
        id = str(await this.client.post('experiments/create', { name }), 'experiments/create', 'experiment_id');
      } catch (e2) {
        // created meanwhile by someone else
        if (!isMlflowError(e2, 'exists')) throw e2;
        id = await this.getExperiment(name);
      }
    }
    this.experiments.set(name, id);
    return id;
  }

  private async getExperiment(name: string): Promise<string> {
    const res = await this.client.get('experiments/get-by-name', { experiment_name: name });
    return str(res, 'experiments/get-by-name', 'experiment', 'experiment_id');
  }

  private runOf(info: unknown, what: string): RunHandle {
    return {
      runId: str(info, what, 'run_id'),
      experimentId: str(info, what, 'experiment_id'),
      artifactUri: str(info, what, 'artifact_uri'),
    };
  }

  async findRunByTag(experimentId: string, key: string, value: string): Promise<RunHandle | undefined> {
    const res = await this.client.post('runs/search', { experiment_ids: [experimentId], filter: `tags.${key} = ${quote(value)}`, max_results: 1 });
    const first = list(res, 'runs')[0];
    return first === undefined ? undefined : this.runOf(field(first, 'info'), 'runs/search');
  }

  async createRun(experimentId: string, input: CreateRunInput): Promise<RunHandle> {
    const res = await this.client.post(
      'runs/create',
      {
        experiment_id: experimentId,
        run_name: input.runName,
        start_time: input.startTime,
        tags: input.tags.map((t) => ({ key: t.key, value: t.value })),
      },
      { once: true },
    );
    return this.runOf(field(res, 'run', 'info'), 'runs/create');
  }

  async logBatch(run: RunHandle, batch: LogBatch): Promise<void> {
    const body: Record<string, unknown> = { run_id: run.runId };
    if (batch.params.length) body['params'] = batch.params.map((p) => ({ key: p.key, value: String(p.value) }));
    if (batch.metrics.length) {
      body['metrics'] = batch.metrics.map((m) => ({ key: m.key, value: Number(m.value), timestamp: Math.trunc(m.timestamp), step: Math.trunc(m.step) }));
    }
    if (batch.tags.length) body['tags'] = batch.tags.map((t) => ({ key: t.key, value: String(t.value) }));
    if (Object.keys(body).length === 1) return;
    await this.client.post('runs/log-batch', body);
  }

  async logArtifact(run: RunHandle, artifactPath: string, file: string): Promise<void> {
    const root = proxiedArtifactPath(run.artifactUri);
    if (root === undefined) {
      throw new MlflowError(
        'unsupported',
        `the server stores artifacts at ${run.artifactUri.split(':')[0]}: locations, which reprod cannot write (run the server with --serve-artifacts)`,
      );
    }
    await this.client.putArtifact(`${root}/${artifactPath}`, file);
  }

  async finishRun(run: RunHandle, status: TrackedRunStatus, endTime: number): Promise<void> {
    await this.client.post('runs/update', { run_id: run.runId, status, end_time: endTime });
  }

  async ensureRegisteredModel(name: string, description?: string): Promise<void> {
    try {
      await this.client.get('registered-models/get', { name });
      return;
    } catch (e) {
      if (!isMlflowError(e, 'not-found')) throw e;
    }
    try {
      await this.client.post('registered-models/create', description ? { name, description } : { name });
    } catch (e) {
      if (!isMlflowError(e, 'exists')) throw e;
    }
  }

  async modelVersions(name: string): Promise<ModelVersionInfo[]> {
    const out: ModelVersionInfo[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.get('model-versions/search', { filter: `name=${quote(name)}`, ...(token ? { page_token: token } : {}) });
      for (const mv of list(res, 'model_versions')) {
        const version = field(mv, 'version');
        if (typeof version !== 'string' && typeof version !== 'number') continue;
        const runId = field(mv, 'run_id');
        out.push({ version: String(version), tags: tagMap(mv), ...(typeof runId === 'string' && runId ? { runId } : {}) });
      }
      const next = field(res, 'next_page_token');
      token = typeof next === 'string' && next !== '' ? next : undefined;
    } while (token);
    return out.sort((a, b) => Number(a.version) - Number(b.version));
  }

  async createModelVersion(name: string, source: string, run: RunHandle, tags: TrackedTag[]): Promise<string> {
    const res = await this.client.post('model-versions/create', { name, source, run_id: run.runId, tags: tags.map((t) => ({ key: t.key, value: t.value })) }, { once: true });
    return str(res, 'model-versions/create', 'model_version', 'version');
  }

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.client.post('registered-models/alias', { name, alias, version });
  }

  async aliasVersion(name: string, alias: string): Promise<string | undefined> {
    try {
      return str(await this.client.get('registered-models/alias', { name, alias }), 'registered-models/alias', 'model_version', 'version');
    } catch (e) {
      if (isMlflowError(e, 'not-found')) return undefined;
      throw e;
    }
  }

  async setVersionTag(name: string, version: string, tag: TrackedTag): Promise<void> {
    await this.client.post('model-versions/set-tag', { name, version, key: tag.key, value: tag.value });
  }

  modelSource(run: RunHandle, artifactPath: string): string {
    return `${run.artifactUri.replace(/\/+$/, '')}/${artifactPath}`;
  }
}
