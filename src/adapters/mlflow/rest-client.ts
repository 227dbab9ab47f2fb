import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { MlflowError } from './mlflow-error.js';
import type { Redactor } from './redact.js';
import { backoffDelay } from '../../core/backoff.js';
import { errorText } from '../../core/errno.js';

/**
 * HTTP for MLflow's REST API: JSON requests under `<base>/api/2.0/mlflow/`,
 * artifact uploads under `<base>/api/2.0/mlflow-artifacts/artifacts/`, where
 * `<base>` keeps the tracking URI's path (DagsHub serves the API under
 * `/<owner>/<repo>.mlflow`). Credentials go in the `Authorization` header
 * only: basic (`MLFLOW_TRACKING_USERNAME`/`PASSWORD`) before bearer
 * (`MLFLOW_TRACKING_TOKEN`), as MLflow's client chooses.
 *
 * Failures are classified (see {@link MlflowError}); transient ones are
 * retried here a few times with capped exponential backoff before the caller
 * (the outbox) sees them. Messages never hold credentials.
 */

export type RestAuth = { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; token: string };

export interface RestClientOptions {
  /** Tracking URI without credentials, e.g. `https://dagshub.com/o/r.mlflow`. */
  baseUrl: string;
  auth?: RestAuth;
  redactor: Redactor;
  /** Per request (default 30 s; uploads get 10 min). */
  timeoutMs?: number;
  /** Attempts per call for transient failures (default 3). */
  attempts?: number;
  /** Waits between attempts; injected so that tests do not sleep. */
  sleep: (ms: number) => Promise<void>;
  userAgent?: string;
}

export interface RestResponse {
  status: number;
  contentType: string;
  text: string;
}

const RETRY_BASE_MS = 250;
const RETRY_CAP_MS = 4_000;
const MESSAGE_MAX = 500;

type Body = { kind: 'json'; text: string } | { kind: 'file'; file: string; size: number };

export class MlflowRestClient {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly agent: http.Agent;

  constructor(private readonly opts: RestClientOptions) {
    this.base = new URL(opts.baseUrl.replace(/\/+$/, ''));
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.attempts = Math.max(1, opts.attempts ?? 3);
    this.agent = this.base.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /** The URL of an API path (`mlflow/runs/create`, `mlflow-artifacts/artifacts/…`), the base's path kept. */
  url(apiPath: string, query?: Record<string, string>): URL {
    const u = new URL(this.base.href);
    u.pathname = `${u.pathname.replace(/\/+$/, '')}/api/2.0/${apiPath}`;
    for (const [k, v] of Object.entries(query ?? {})) u.searchParams.set(k, v);
    return u;
  }

  async get(api: string, query: Record<string, string>): Promise<unknown> {
    return this.call('GET', `mlflow/${api}`, query, undefined, this.attempts);
  }

  /**
   * `once`: no retry here. For creations whose answer may be lost after the
   * server acted: the caller (the outbox) looks for the result before
   * trying again, so that nothing is created twice.
   */
  async post(api: string, body: object, opts: { once?: boolean } = {}): Promise<unknown> {
    return this.call('POST', `mlflow/${api}`, undefined, { kind: 'json', text: JSON.stringify(body) }, opts.once ? 1 : this.attempts);
  }

  /** PUT of a file's bytes through the server's artifact proxy; `relPath` is `<exp>/<run>/artifacts/<path>`. */
  async putArtifact(relPath: string, file: string): Promise<void> {
    const { size } = await fs.stat(file);
    const encoded = relPath.split('/').map(encodeURIComponent).join('/');
    await this.call('PUT', `mlflow-artifacts/artifacts/${encoded}`, undefined, { kind: 'file', file, size }, this.attempts);
  }

  close(): void {
    this.agent.destroy();
  }

  private async call(method: string, apiPath: string, query: Record<string, string> | undefined, body: Body | undefined, attempts: number): Promise<unknown> {
    const what = `${method} ${apiPath.replace(/^mlflow\//, '')}`;
    let last: MlflowError | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await this.opts.sleep(backoffDelay(attempt - 1, RETRY_BASE_MS, RETRY_CAP_MS));
      let res: RestResponse;
      try {
        res = await this.send(method, this.url(apiPath, query), body);
      } catch (e) {
        last = new MlflowError('transient', this.redact(`${what}: cannot reach ${this.describeBase()}: ${errorText(e)}`), undefined, undefined, e);
        continue;
      }
      if (res.status >= 200 && res.status < 300) return parseJsonBody(res.text);
      last = this.classify(what, res);
      if (last.kind !== 'transient') throw last;
    }
    throw last ?? new MlflowError('transient', `${what}: no attempt made`);
  }

  private describeBase(): string {
    return `${this.base.origin}${this.base.pathname === '/' ? '' : this.base.pathname}`;
  }

  private redact(s: string): string {
    return this.opts.redactor.redact(s);
  }

  private classify(what: string, res: RestResponse): MlflowError {
    const { code, message } = errorBody(res);
    const detail = this.redact(`${what}: HTTP ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`);
    const s = res.status;
    if (s === 429 || s >= 500) return new MlflowError('transient', detail, s, code);
    if (s === 401 || s === 403) return new MlflowError('auth', `${detail} (check MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN)`, s, code);
    if (s === 404) return new MlflowError(code === 'RESOURCE_DOES_NOT_EXIST' ? 'not-found' : 'unsupported', detail, s, code);
    if (code === 'RESOURCE_ALREADY_EXISTS') return new MlflowError('exists', detail, s, code);
    return new MlflowError('rejected', detail, s, code);
  }

  private send(method: string, url: URL, body: Body | undefined): Promise<RestResponse> {
    const headers: Record<string, string> = { 'User-Agent': this.opts.userAgent ?? 'reprod' };
    const auth = this.opts.auth;
    if (auth?.kind === 'basic') headers['Authorization'] = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
    else if (auth?.kind === 'bearer') headers['Authorization'] = `Bearer ${auth.token}`;
    if (body?.kind === 'json') {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body.text));
    } else if (body?.kind === 'file') {
      headers['Content-Type'] = 'application/octet-stream';
      headers['Content-Length'] = String(body.size);
    }
    const lib = url.protocol === 'https:' ? https : http;
    const timeout = body?.kind === 'file' ? Math.max(this.timeoutMs, 600_000) : this.timeoutMs;
    return new Promise<RestResponse>((resolve, reject) => {
      const req = lib.request(url, { method, headers, agent: this.agent, timeout }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeout} ms`)));
      req.on('error', reject);
      if (body?.kind === 'json') req.end(body.text);
      else if (body?.kind === 'file') {
        const stream = createReadStream(body.file);
        stream.on('error', (e) => req.destroy(e));
        stream.pipe(req);
      } else req.end();
    });
  }
}

function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // a 2xx that is not JSON (an artifact PUT may answer with an empty or plain body)
    return {};
  }
}

/** MLflow's `{"error_code", "message"}`; other bodies (HTML, text) give a one-line excerpt. */
function errorBody(res: RestResponse): { code?: string; message?: string } {
  try {
    const v: unknown = JSON.parse(res.text);
    if (typeof v === 'object' && v !== null) {
      const code = 'error_code' in v && typeof v.error_code === 'string' ? v.error_code : undefined;
      const message = 'message' in v && typeof v.message === 'string' ? v.message : undefined;
      return { ...(code ? { code } : {}), ...(message ? { message: oneLine(message) } : {}) };
    }
  } catch {
    // not JSON: fall through to the excerpt
  }
  const title = /<title>([^<]*)<\/title>/i.exec(res.text)?.[1];
  const excerpt = oneLine(title ?? res.text);
  return excerpt ? { message: excerpt } : {};
}

function oneLine(s: string): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > MESSAGE_MAX ? `${flat.slice(0, MESSAGE_MAX)}…` : flat;
}
