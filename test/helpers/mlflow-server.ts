import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { conformance } from './conformance.js';

/**
 * A loopback MLflow server for tests, answering with exactly the shapes a
 * real MLflow 2.17 server answered in `conformance/mlflow/rest-transcript.md`
 * (errors included) and behaving as its README observed: JSON errors
 * `{error_code, message}`, HTML for unknown routes (404), `GET runs/search`
 * (405) and malformed JSON (500), 400 for a POST that is not JSON, 401 as
 * text with `WWW-Authenticate` when a login is required, `/health` open.
 *
 * It records every request, so that tests can check each one against the
 * shapes of the recorded requests ({@link shapeViolations}), and can be
 * taken down and brought back on the same port, made to answer 503, or made
 * to drop the answer to a request it has carried out.
 */

// ------------------------------------------------------------------ transcript

export interface RecordedExchange {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The JSON request body; undefined for GETs and raw uploads. */
  body: unknown;
  status: number;
  response: unknown;
}

/** Parses rest-transcript.md into its exchanges. */
export function loadTranscript(file = conformance('mlflow', 'rest-transcript.md')): RecordedExchange[] {
  const text = readFileSync(file, 'utf8');
  const out: RecordedExchange[] = [];
  const sections = text.split(/^### /m).slice(1);
  for (const sec of sections) {
    const head = sec.split('\n')[0] ?? '';
    const m = /^(GET|POST|PUT|DELETE|PATCH) (\S+)(.*)$/.exec(head);
    if (!m) throw new Error(`unreadable transcript heading: ${head}`);
    const url = new URL(m[2] ?? '/', 'http://x');
    const query = Object.fromEntries(url.searchParams);
    const blocks = [...sec.matchAll(/```json\n([\s\S]*?)\n```/g)].map((b) => JSON.parse(b[1] ?? 'null') as unknown);
    const inline = /-> HTTP (\d+)(?: body: (.*))?$/.exec(m[3] ?? '');
    if (inline) {
      out.push({ method: m[1] ?? '', path: url.pathname, query, body: undefined, status: Number(inline[1]), response: inline[2] ? (JSON.parse(inline[2]) as unknown) : undefined });
      continue;
    }
    const hasRequest = /\nrequest:\n/.test(sec);
    const status = Number(/response: HTTP (\d+)/.exec(sec)?.[1]);
    out.push({
      method: m[1] ?? '',
      path: url.pathname,
      query,
      body: hasRequest ? blocks[0] : undefined,
      status,
      response: hasRequest ? blocks[1] : blocks[0],
    });
  }
  return out;
}

/** Endpoint key: method and path, with the artifact path of uploads generalised. */
export function endpointOf(method: string, p: string): string {
  if (p.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) return `${method} /api/2.0/mlflow-artifacts/artifacts/*`;
  return `${method} ${p}`;
}

type Kind = 'string' | 'number' | 'boolean' | 'null' | 'array' | 'object';

interface Schema {
  kinds: Set<Kind>;
  /** For objects: key → schema, and the keys every sample had. */
  keys?: Map<string, Schema>;
  required?: Set<string>;
  items?: Schema;
}

function kindOf(v: unknown): Kind {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  throw new Error(`not JSON: ${typeof v}`);
}

function merge(s: Schema | undefined, v: unknown): Schema {
  const out: Schema = s ?? { kinds: new Set() };
  const k = kindOf(v);
  out.kinds.add(k);
  if (k === 'object' && typeof v === 'object' && v !== null) {
    const obj = v as Record<string, unknown>;
    const keys = Object.keys(obj);
    out.keys ??= new Map();
    out.required = out.required ? new Set([...out.required].filter((x) => keys.includes(x))) : new Set(keys);
    for (const key of keys) out.keys.set(key, merge(out.keys.get(key), obj[key]));
  }
  if (k === 'array' && Array.isArray(v)) for (const item of v) out.items = merge(out.items, item);
  return out;
}

function check(v: unknown, s: Schema, at: string, problems: string[]): void {
  const k = kindOf(v);
  if (!s.kinds.has(k)) {
    problems.push(`${at}: ${k}, recorded ${[...s.kinds].join('|')}`);
    return;
  }
  if (k === 'object' && typeof v === 'object' && v !== null) {
    const obj = v as Record<string, unknown>;
    for (const key of Object.keys(obj)) {
      const sub = s.keys?.get(key);
      if (!sub) problems.push(`${at}.${key}: no recorded request has this key`);
      else check(obj[key], sub, `${at}.${key}`, problems);
    }
    for (const req of s.required ?? []) if (!(req in obj)) problems.push(`${at}.${req}: missing (every recorded request has it)`);
  }
  if (k === 'array' && Array.isArray(v) && s.items) v.forEach((item, i) => check(item, s.items as Schema, `${at}[${i}]`, problems));
}

export interface RequestShapes {
  bodies: Map<string, Schema>;
  queries: Map<string, { keys: Set<string>; required: Set<string> }>;
}

export function recordedShapes(exchanges = loadTranscript()): RequestShapes {
  const bodies = new Map<string, Schema>();
  const queries = new Map<string, { keys: Set<string>; required: Set<string> }>();
  for (const e of exchanges) {
    const ep = endpointOf(e.method, e.path);
    if (e.body !== undefined) bodies.set(ep, merge(bodies.get(ep), e.body));
    const keys = Object.keys(e.query);
    const q = queries.get(ep);
    if (!q) queries.set(ep, { keys: new Set(keys), required: new Set(keys) });
    else {
      for (const key of keys) q.keys.add(key);
      q.required = new Set([...q.required].filter((x) => keys.includes(x)));
    }
  }
  return { bodies, queries };
}

// ------------------------------------------------------------------ server

export interface ReceivedRequest {
  method: string;
  /** Path without the server's prefix. */
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON body (JSON requests), or the raw bytes (uploads). */
  body: unknown;
  raw: Buffer;
  status: number;
}

/** Every way a recorded request of reprod differs from the shapes of the transcript's requests. */
export function shapeViolations(requests: readonly ReceivedRequest[], shapes = recordedShapes()): string[] {
  const problems: string[] = [];
  for (const r of requests) {
    const ep = endpointOf(r.method, r.path);
    const q = shapes.queries.get(ep);
    if (!q) {
      problems.push(`${ep}: no recorded request of this endpoint`);
      continue;
    }
    for (const k of Object.keys(r.query)) if (!q.keys.has(k)) problems.push(`${ep}?${k}: query key never recorded`);
    for (const k of q.required) if (!(k in r.query)) problems.push(`${ep}?${k}: missing query key`);
    if (r.method === 'PUT') continue;
    const s = shapes.bodies.get(ep);
    if (r.method === 'GET') {
      if (r.raw.length) problems.push(`${ep}: a GET with a body`);
      continue;
    }
    if (!s) {
      problems.push(`${ep}: no recorded body`);
      continue;
    }
    if (r.headers['content-type'] !== 'application/json') problems.push(`${ep}: Content-Type ${r.headers['content-type']}`);
    check(r.body, s, ep, problems);
  }
  return problems;
}

const HTML_404 =
  '<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n';
const HTML_405 = '<!doctype html>\n<html lang=en>\n<title>405 Method Not Allowed</title>\n<h1>Method Not Allowed</h1>\n<p>The method is not allowed for the requested URL.</p>\n';
const HTML_500 =
  '<!doctype html>\n<html lang=en>\n<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n<p>The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.</p>\n';
const HTML_400 = '<!doctype html>\n<html lang=en>\n<title>400 Bad Request</title>\n<h1>Bad Request</h1>\n<p>The browser (or proxy) sent a request that this server could not understand.</p>\n';
const TEXT_401 = 'You are not authenticated. Please see https://www.mlflow.org/docs/latest/auth/index.html#authenticating-to-mlflow on how to authenticate.';

type Kv = { key: string; value: string };

interface Run {
  info: {
    run_uuid: string;
    experiment_id: string;
    run_name: string;
    user_id: string;
    status: string;
    start_time: number;
    end_time?: number;
    artifact_uri: string;
    lifecycle_stage: string;
    run_id: string;
  };
  params: Map<string, string>;
  metrics: { key: string; value: number; timestamp: number; step: number }[];
  tags: Map<string, string>;
}

interface Version {
  name: string;
  version: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  current_stage: string;
  description: string;
  source: string;
  run_id: string;
  status: string;
  tags: Kv[];
  run_link: string;
}

interface Model {
  name: string;
  creation_timestamp: number;
  last_updated_timestamp: number;
  description: string;
  tags: Kv[];
  aliases: Map<string, string>;
  versions: Version[];
}

export interface MlflowTestServerOptions {
  /** Path prefix of the API (DagsHub: `/<owner>/<repo>.mlflow`). */
  prefix?: string;
  /** Require a login. */
  auth?: { username: string; password: string } | { token: string };
  /** false: registry endpoints are unknown routes (HTML 404), as on some DagsHub servers. */
  registry?: boolean;
  /** Param values longer than this: cut (MLflow 2.17, 6000) or, with `rejectLongParams`, refused (older servers, 500). */
  maxParamValue?: number;
  rejectLongParams?: boolean;
  /** Ids to hand out (to replay the transcript with its own ids). */
  firstExperimentId?: number;
  runIds?: string[];
}

export class MlflowTestServer implements AsyncDisposable {
  readonly requests: ReceivedRequest[] = [];
  private server: http.Server | undefined;
  private readonly sockets = new Set<Socket>();
  private portNo = 0;
  private failStatus: number | undefined;
  private readonly drops = new Map<string, number>();
  private clock = 1_795_723_487_000;
  private readonly experiments = new Map<string, { experiment_id: string; name: string; artifact_location: string; lifecycle_stage: string; last_update_time: number; creation_time: number; tags: Kv[] }>();
  private nextExperiment: number;
  private readonly runIdPlan: string[];
  readonly runs = new Map<string, Run>();
  readonly artifacts = new Map<string, Buffer>();
  readonly models = new Map<string, Model>();

  constructor(readonly opts: MlflowTestServerOptions = {}) {
    this.nextExperiment = opts.firstExperimentId ?? 1;
    this.runIdPlan = [...(opts.runIds ?? [])];
    this.experiments.set('0', { experiment_id: '0', name: 'Default', artifact_location: 'mlflow-artifacts:/0', lifecycle_stage: 'active', last_update_time: this.clock, creation_time: this.clock, tags: [] });
  }

  get port(): number {
    return this.portNo;
  }

  /** The tracking URI (with the prefix). */
  get uri(): string {
    return `http://127.0.0.1:${this.portNo}${this.opts.prefix ?? ''}`;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.portNo, '127.0.0.1', () => resolve());
    });
    this.portNo = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Takes the server down (connections refused) until {@link start} brings it back on the same port. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    for (const sock of this.sockets) sock.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Answers every request with this status (e.g. 503) until cleared. */
  failWith(status: number | undefined): void {
    this.failStatus = status;
  }

  /** Carries out the next `count` requests to `endpoint` (`POST /api/2.0/mlflow/runs/create`) but drops their answers. */
  dropAnswers(endpoint: string, count = 1): void {
    this.drops.set(endpoint, count);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  private tick(): number {
    return ++this.clock;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://x');
    const prefix = this.opts.prefix ?? '';
    const method = req.method ?? 'GET';
    const inPrefix = url.pathname.startsWith(`${prefix}/`);
    const p = inPrefix ? url.pathname.slice(prefix.length) : url.pathname;
    const rec: ReceivedRequest = { method, path: p, query: Object.fromEntries(url.searchParams), headers: req.headers, body: undefined, raw, status: 0 };
    this.requests.push(rec);
    const send = (status: number, body: string, type: string, headers: Record<string, string> = {}) => {
      rec.status = status;
      res.writeHead(status, { 'Content-Type': type, ...headers });
      res.end(body);
    };
    const json = (status: number, v: unknown) => send(status, JSON.stringify(v), 'application/json');
    const error = (status: number, code: string, message: string) => json(status, { error_code: code, message });

    if (!inPrefix) return send(404, HTML_404, 'text/html; charset=utf-8');
    if (p === '/health') return send(200, 'OK', 'text/plain; charset=utf-8');
    if (!this.authorized(req)) return send(401, TEXT_401, 'text/plain; charset=utf-8', { 'WWW-Authenticate': 'Basic realm="mlflow"' });
    if (this.failStatus !== undefined) return send(this.failStatus, HTML_500.replace(/500 Internal Server Error/g, `${this.failStatus} Service Unavailable`), 'text/html; charset=utf-8');

    const ep = endpointOf(method, p);
    if (method === 'DELETE' && raw.length) {
      try {
        rec.body = JSON.parse(raw.toString('utf8')) as unknown;
      } catch {
        return send(500, HTML_500, 'text/html; charset=utf-8');
      }
    }
    if (method === 'POST') {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return send(400, HTML_400, 'text/html; charset=utf-8');
      try {
        rec.body = JSON.parse(raw.toString('utf8')) as unknown;
      } catch {
        return send(500, HTML_500, 'text/html; charset=utf-8');
      }
    } else if (method === 'PUT') {
      rec.body = raw;
    }
    const drops = this.drops.get(ep) ?? 0;
    const reply: Reply = this.route(method, p, rec.query, rec.body, raw);
    if (drops > 0) {
      this.drops.set(ep, drops - 1);
      rec.status = -1;
      req.socket.destroy();
      return;
    }
    if (reply.kind === 'json') json(reply.status, reply.body);
    else if (reply.kind === 'error') error(reply.status, reply.code, reply.message);
    else send(reply.status, reply.body, 'text/html; charset=utf-8');
  }

  private authorized(req: http.IncomingMessage): boolean {
    const a = this.opts.auth;
    if (!a) return true;
    const h = req.headers['authorization'] ?? '';
    if ('token' in a) return h === `Bearer ${a.token}`;
    return h === `Basic ${Buffer.from(`${a.username}:${a.password}`).toString('base64')}`;
  }

  private route(method: string, p: string, q: Record<string, string>, body: unknown, raw: Buffer): Reply {
    const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
    const registryPath = /^\/api\/2\.0\/mlflow\/(registered-models|model-versions)\//.test(p);
    if (registryPath && this.opts.registry === false) return html(404, HTML_404);
    if (method === 'PUT' && p.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) {
      this.artifacts.set(decodeURIComponent(p.slice('/api/2.0/mlflow-artifacts/artifacts/'.length)), raw);
      return ok({});
    }
    if (method === 'GET' && p === '/api/2.0/mlflow-artifacts/artifacts') return ok(this.listArtifacts(q['path'] ?? '', false));
    switch (`${method} ${p}`) {
      case 'GET /api/2.0/mlflow/artifacts/list': {
        const run = this.runs.get(q['run_id'] ?? '');
        if (!run) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Run with id=${q['run_id'] ?? ''} not found`);
        const root = run.info.artifact_uri.replace(/^mlflow-artifacts:\//, '');
        const sub = q['path'] ?? '';
        return ok({ root_uri: run.info.artifact_uri, ...this.listArtifacts(sub ? `${root}/${sub}` : root, true, sub) });
      }
      case 'POST /api/2.0/mlflow/experiments/search': {
        const like = /^name LIKE '(.*)'$/.exec(str(b['filter']));
        const re = like ? new RegExp(`^${(like[1] ?? '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*').replace(/_/g, '.')}$`) : /^/;
        const hits = [...this.experiments.values()].filter((e) => re.test(e.name)).sort((a, c) => c.creation_time - a.creation_time);
        const max = typeof b['max_results'] === 'number' ? b['max_results'] : 1000;
        return ok({ experiments: hits.slice(0, max).map(experimentJson) });
      }
      case 'POST /api/2.0/mlflow/runs/log-metric':
        return this.logBatch({ run_id: b['run_id'], metrics: [{ key: b['key'], value: b['value'], timestamp: b['timestamp'], step: b['step'] }] });
      case 'POST /api/2.0/mlflow/runs/log-parameter':
        return this.logBatch({ run_id: b['run_id'], params: [{ key: b['key'], value: b['value'] }] });
      case 'POST /api/2.0/mlflow/runs/set-tag':
        return this.logBatch({ run_id: b['run_id'], tags: [{ key: b['key'], value: b['value'] }] });
      case 'GET /api/2.0/mlflow/metrics/get-history': {
        const run = this.runs.get(q['run_id'] ?? '');
        if (!run) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Run with id=${q['run_id'] ?? ''} not found`);
        return ok({ metrics: run.metrics.filter((m) => m.key === q['metric_key']) });
      }
      case 'GET /api/2.0/mlflow/model-versions/get': {
        const v = this.version(q['name'], q['version']);
        if (!v) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${q['name'] ?? ''}, version=${q['version'] ?? ''}) not found`);
        return ok({ model_version: versionJson(v) });
      }
      case 'GET /api/2.0/mlflow/model-versions/get-download-uri': {
        const v = this.version(q['name'], q['version']);
        if (!v) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${q['name'] ?? ''}, version=${q['version'] ?? ''}) not found`);
        return ok({ artifact_uri: v.source });
      }
      case 'POST /api/2.0/mlflow/model-versions/set-tag': {
        const v = this.version(b['name'], b['version']);
        if (!v) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${str(b['name'])}, version=${str(b['version'])}) not found`);
        v.tags = [...v.tags.filter((t) => t.key !== str(b['key'])), { key: str(b['key']), value: str(b['value']) }];
        return ok({});
      }
      case 'POST /api/2.0/mlflow/model-versions/transition-stage': {
        const v = this.version(b['name'], b['version']);
        if (!v) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${str(b['name'])}, version=${str(b['version'])}) not found`);
        const stage = str(b['stage']).toLowerCase();
        const canonical = ({ none: 'None', staging: 'Staging', production: 'Production', archived: 'Archived' } as Record<string, string>)[stage];
        if (!canonical) return err(400, 'INVALID_PARAMETER_VALUE', `Invalid Model Version stage: ${str(b['stage'])}.`);
        v.current_stage = canonical;
        v.last_updated_timestamp = this.tick();
        const m = this.models.get(v.name);
        if (m) m.last_updated_timestamp = v.last_updated_timestamp;
        return ok({ model_version: versionJson(v) });
      }
      case 'POST /api/2.0/mlflow/registered-models/get-latest-versions': {
        const m = this.models.get(str(b['name']));
        if (!m) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${str(b['name'])} not found`);
        const stages = Array.isArray(b['stages']) ? b['stages'].map((x) => String(x).toLowerCase()) : undefined;
        return ok({ model_versions: latestPerStage(m).filter((v) => !stages || stages.includes(v.current_stage.toLowerCase())).map(versionJson) });
      }
      case 'GET /api/2.0/mlflow/registered-models/alias': {
        const m = this.models.get(q['name'] ?? '');
        const version = m?.aliases.get(q['alias'] ?? '');
        const v = version === undefined ? undefined : this.version(q['name'], version);
        if (!m || !v) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Registered model alias ${q['alias'] ?? ''} not found.`);
        const aliases = [...m.aliases].filter(([, x]) => x === v.version).map(([a]) => a);
        return ok({ model_version: { ...(versionJson(v) as object), aliases } });
      }
      case 'DELETE /api/2.0/mlflow/registered-models/alias': {
        this.models.get(str(b['name']))?.aliases.delete(str(b['alias']));
        return ok({});
      }
      case 'GET /api/2.0/mlflow/experiments/get-by-name': {
        const e = [...this.experiments.values()].find((x) => x.name === q['experiment_name']);
        if (!e) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Could not find experiment with name '${q['experiment_name'] ?? ''}'`);
        return ok({ experiment: experimentJson(e) });
      }
      case 'GET /api/2.0/mlflow/experiments/get': {
        const e = this.experiments.get(q['experiment_id'] ?? '');
        if (!e) return err(404, 'RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${q['experiment_id'] ?? ''} exists`);
        return ok({ experiment: experimentJson(e) });
      }
      case 'POST /api/2.0/mlflow/experiments/create': {
        const name = str(b['name']);
        if ([...this.experiments.values()].some((x) => x.name === name)) {
          return err(400, 'RESOURCE_ALREADY_EXISTS', `Experiment(name=${name}) already exists. Error: (sqlite3.IntegrityError) UNIQUE constraint failed: experiments.name`);
        }
        const id = String(this.nextExperiment++);
        const t = this.tick();
        this.experiments.set(id, { experiment_id: id, name, artifact_location: `mlflow-artifacts:/${id}`, lifecycle_stage: 'active', last_update_time: t, creation_time: t, tags: kvs(b['tags']) });
        return ok({ experiment_id: id });
      }
      case 'POST /api/2.0/mlflow/runs/create': {
        const exp = this.experiments.get(str(b['experiment_id']));
        if (!exp) return err(404, 'RESOURCE_DOES_NOT_EXIST', `No Experiment with id=${str(b['experiment_id'])} exists`);
        const id = this.runIdPlan.shift() ?? randomUUID().replace(/-/g, '');
        const name = str(b['run_name']) || 'run';
        const tags = new Map(kvs(b['tags']).map((t) => [t.key, t.value]));
        if (!tags.has('mlflow.runName')) tags.set('mlflow.runName', name);
        const run: Run = {
          info: {
            run_uuid: id,
            experiment_id: exp.experiment_id,
            run_name: name,
            user_id: '',
            status: 'RUNNING',
            start_time: typeof b['start_time'] === 'number' ? b['start_time'] : this.tick(),
            artifact_uri: `mlflow-artifacts:/${exp.experiment_id}/${id}/artifacts`,
            lifecycle_stage: 'active',
            run_id: id,
          },
          params: new Map(),
          metrics: [],
          tags,
        };
        this.runs.set(id, run);
        return ok({ run: { info: run.info, data: { tags: [...tags].map(([key, value]) => ({ key, value })) } } });
      }
      case 'GET /api/2.0/mlflow/runs/get': {
        const run = this.runs.get(q['run_id'] ?? '');
        if (!run) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Run with id=${q['run_id'] ?? ''} not found`);
        return ok({ run: runJson(run) });
      }
      case 'POST /api/2.0/mlflow/runs/log-batch':
        return this.logBatch(b);
      case 'POST /api/2.0/mlflow/runs/update': {
        const run = this.runs.get(str(b['run_id']));
        if (!run) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Run with id=${str(b['run_id'])} not found`);
        const status = str(b['status']);
        if (['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED'].includes(status)) run.info.status = status;
        if (typeof b['end_time'] === 'number') run.info.end_time = b['end_time'];
        if (typeof b['run_name'] === 'string') run.info.run_name = b['run_name'];
        return ok({ run_info: run.info });
      }
      case 'GET /api/2.0/mlflow/runs/search':
        return html(405, HTML_405);
      case 'POST /api/2.0/mlflow/runs/search':
        return this.searchRuns(b);
      case 'GET /api/2.0/mlflow/registered-models/get': {
        const m = this.models.get(q['name'] ?? '');
        if (!m) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${q['name'] ?? ''} not found`);
        return ok({ registered_model: modelJson(m) });
      }
      case 'POST /api/2.0/mlflow/registered-models/create': {
        const name = str(b['name']);
        if (this.models.has(name)) return err(400, 'RESOURCE_ALREADY_EXISTS', `Registered Model (name=${name}) already exists.`);
        const t = this.tick();
        const m: Model = { name, creation_timestamp: t, last_updated_timestamp: t, description: str(b['description']), tags: kvs(b['tags']), aliases: new Map(), versions: [] };
        this.models.set(name, m);
        return ok({ registered_model: { name, creation_timestamp: t, last_updated_timestamp: t, ...(m.description ? { description: m.description } : {}), ...(m.tags.length ? { tags: m.tags } : {}) } });
      }
      case 'POST /api/2.0/mlflow/model-versions/create': {
        const m = this.models.get(str(b['name']));
        if (!m) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${str(b['name'])} not found`);
        const source = str(b['source']);
        if (source.startsWith('/')) {
          return err(400, 'INVALID_PARAMETER_VALUE', `Invalid model version source: '${source}'. To use a local path as a model version source, the run_id request parameter has to be specified and the local path has to be contained within the artifact directory of the run specified by the run_id.`);
        }
        const t = this.tick();
        const v: Version = {
          name: m.name,
          version: String(m.versions.length + 1),
          creation_timestamp: t,
          last_updated_timestamp: t,
          current_stage: 'None',
          description: str(b['description']),
          source,
          run_id: str(b['run_id']),
          status: 'READY',
          tags: kvs(b['tags']),
          run_link: '',
        };
        m.versions.push(v);
        m.last_updated_timestamp = t;
        return ok({ model_version: versionJson(v) });
      }
      case 'GET /api/2.0/mlflow/model-versions/search': {
        const f = /^\s*(name|run_id)\s*=\s*(['"])(.*)\2\s*$/.exec(q['filter'] ?? '');
        if (!f) return err(400, 'INVALID_PARAMETER_VALUE', `Invalid filter string: '${q['filter'] ?? ''}'`);
        const all = [...this.models.values()].flatMap((m) => m.versions);
        const hits = all.filter((v) => (f[1] === 'name' ? v.name === f[3] : v.run_id === f[3]));
        hits.sort((a, b2) => b2.last_updated_timestamp - a.last_updated_timestamp);
        return ok({ model_versions: hits.map(versionJson) });
      }
      case 'POST /api/2.0/mlflow/registered-models/alias': {
        const m = this.models.get(str(b['name']));
        const alias = str(b['alias']);
        if (!m) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Registered Model with name=${str(b['name'])} not found`);
        if (/^(latest|v\d+)$/i.test(alias)) return err(400, 'INVALID_PARAMETER_VALUE', `'${alias}' alias name (case insensitive) is reserved.`);
        const v = m.versions.find((x) => x.version === str(b['version']));
        if (!v) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Model Version (name=${m.name}, version=${str(b['version'])}) not found`);
        m.aliases.set(alias, v.version);
        return ok({});
      }
      default:
        return html(404, HTML_404);
    }
  }

  private version(name: unknown, version: unknown): Version | undefined {
    return this.models.get(str(name))?.versions.find((v) => v.version === str(version));
  }

  /** The proxy's listing (`mlflow-artifacts/artifacts?path=`) or the run listing (`artifacts/list`, paths relative to the run root). */
  private listArtifacts(dir: string, runRelative: boolean, sub = ''): { files?: unknown[] } {
    const prefix = dir.replace(/\/+$/, '') + '/';
    const entries = new Map<string, { is_dir: boolean; file_size?: number }>();
    for (const [p, data] of this.artifacts) {
      if (!p.startsWith(prefix)) continue;
      const [first, ...rest] = p.slice(prefix.length).split('/');
      if (!first) continue;
      entries.set(first, rest.length ? { is_dir: true } : { is_dir: false, file_size: data.length });
    }
    if (entries.size === 0) return {};
    const files = [...entries]
      .sort(([a], [c]) => (a < c ? -1 : 1))
      .map(([name, e]) => ({ path: runRelative && sub ? `${sub}/${name}` : name, ...e }));
    return { files };
  }

  private logBatch(b: Record<string, unknown>): Reply {
    const run = this.runs.get(str(b['run_id']));
    if (!run) return err(404, 'RESOURCE_DOES_NOT_EXIST', `Run with id=${str(b['run_id'])} not found`);
    const params = Array.isArray(b['params']) ? b['params'] : [];
    const metrics = Array.isArray(b['metrics']) ? b['metrics'] : [];
    const tags = Array.isArray(b['tags']) ? b['tags'] : [];
    if (metrics.length > 1000) return err(400, 'INVALID_PARAMETER_VALUE', `A batch logging request can contain at most 1000 metrics. Got ${metrics.length} metrics.`);
    if (params.length > 100) return err(400, 'INVALID_PARAMETER_VALUE', `A batch logging request can contain at most 100 params. Got ${params.length} params.`);
    if (tags.length > 100) return err(400, 'INVALID_PARAMETER_VALUE', `A batch logging request can contain at most 100 tags. Got ${tags.length} tags.`);
    for (const x of [...params, ...metrics, ...tags]) {
      const key = str((x as Record<string, unknown>)['key']);
      if (key.length > 250) return err(400, 'INVALID_PARAMETER_VALUE', `'${key.slice(0, 20)}…' exceeds the maximum length of 250 characters`);
    }
    for (const [i, m] of metrics.entries()) {
      if (typeof (m as Record<string, unknown>)['timestamp'] !== 'number') return err(400, 'INVALID_PARAMETER_VALUE', `Missing value for required parameter 'metrics[${i}].timestamp'.`);
    }
    const max = this.opts.maxParamValue ?? 6000;
    const changed: string[] = [];
    for (const x of params) {
      const o = x as Record<string, unknown>;
      const key = str(o['key']);
      // observed: a numeric param value is stored as "" and the rest of the batch dropped
      if (typeof o['value'] !== 'string') {
        run.params.set(key, '');
        return ok({});
      }
      let value = o['value'];
      if (value.length > max) {
        if (this.opts.rejectLongParams) return err(400, 'INVALID_PARAMETER_VALUE', `Param value '${value.slice(0, 20)}…' had length ${value.length}, which exceeded length limit of ${max}`);
        value = value.slice(0, max);
      }
      const old = run.params.get(key);
      if (old !== undefined && old !== value) changed.push(`{'key': '${key}', 'old_value': '${old}', 'new_value': '${value}'}`);
      else run.params.set(key, value);
    }
    if (changed.length) {
      return err(400, 'INVALID_PARAMETER_VALUE', `Changing param values is not allowed. Params were already logged='[${changed.join(', ')}]' for run ID='${run.info.run_id}'.`);
    }
    for (const x of metrics) {
      const o = x as Record<string, unknown>;
      const value = typeof o['value'] === 'number' ? o['value'] : 0;
      const m = { key: str(o['key']), value, timestamp: o['timestamp'] as number, step: typeof o['step'] === 'number' ? o['step'] : 0 };
      // the SQL store keeps one row per (key, timestamp, step, value)
      if (!run.metrics.some((y) => y.key === m.key && y.timestamp === m.timestamp && y.step === m.step && y.value === m.value)) run.metrics.push(m);
    }
    for (const x of tags) {
      const o = x as Record<string, unknown>;
      if (typeof o['value'] === 'string') run.tags.set(str(o['key']), o['value']);
    }
    return ok({});
  }

  private searchRuns(b: Record<string, unknown>): Reply {
    const ids = Array.isArray(b['experiment_ids']) ? b['experiment_ids'].map(String) : [];
    const filter = str(b['filter']).trim();
    const clauses = filter === '' ? [] : filter.split(/\s+and\s+/i);
    const preds: ((r: Run) => boolean)[] = [];
    for (const c of clauses) {
      const m = /^(tags|params|metrics|attributes)\.(`[^`]+`|[\w.]+)\s*(=|!=|<|>|<=|>=)\s*(?:'([^']*)'|"([^"]*)"|([-\d.]+))$/.exec(c.trim());
      if (!m) return err(400, 'INVALID_PARAMETER_VALUE', `Invalid clause(s) in filter string: '${filter}'`);
      const [, kind, rawKey = '', op, s1, s2, num] = m;
      const key = rawKey.replace(/`/g, '');
      const want = s1 ?? s2 ?? num ?? '';
      preds.push((r) => {
        const got =
          kind === 'tags' ? r.tags.get(key) : kind === 'params' ? r.params.get(key) : kind === 'metrics' ? r.metrics.filter((x) => x.key === key).at(-1)?.value : (r.info as unknown as Record<string, unknown>)[key];
        if (got === undefined) return false;
        const a = typeof got === 'number' ? got : String(got);
        const w = typeof got === 'number' ? Number(want) : want;
        switch (op) {
          case '=':
            return a === w;
          case '!=':
            return a !== w;
          case '<':
            return a < w;
          case '>':
            return a > w;
          case '<=':
            return a <= w;
          default:
            return a >= w;
        }
      });
    }
    const max = typeof b['max_results'] === 'number' ? b['max_results'] : 1000;
    const runs = [...this.runs.values()].filter((r) => ids.includes(r.info.experiment_id) && preds.every((p) => p(r))).slice(0, max);
    return ok({ runs: runs.map(runJson) });
  }
}

type Reply = { kind: 'json'; status: number; body: unknown } | { kind: 'error'; status: number; code: string; message: string } | { kind: 'html'; status: number; body: string };

const ok = (body: unknown): Reply => ({ kind: 'json', status: 200, body });
const err = (status: number, code: string, message: string): Reply => ({ kind: 'error', status, code, message });
const html = (status: number, body: string): Reply => ({ kind: 'html', status, body });

function str(v: unknown): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function kvs(v: unknown): Kv[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((x) => {
    const o = x as Record<string, unknown>;
    return typeof o['key'] === 'string' && typeof o['value'] === 'string' ? [{ key: o['key'], value: o['value'] }] : [];
  });
}

function runJson(r: Run): unknown {
  const latest = new Map<string, Run['metrics'][number]>();
  for (const m of r.metrics) {
    const cur = latest.get(m.key);
    if (!cur || m.step > cur.step || (m.step === cur.step && m.timestamp >= cur.timestamp)) latest.set(m.key, m);
  }
  const data: Record<string, unknown> = {};
  if (latest.size) data['metrics'] = [...latest.values()];
  if (r.params.size) data['params'] = [...r.params].map(([key, value]) => ({ key, value }));
  data['tags'] = [...r.tags].map(([key, value]) => ({ key, value }));
  return { info: r.info, data, inputs: {} };
}

function experimentJson(e: { experiment_id: string; name: string; artifact_location: string; lifecycle_stage: string; last_update_time: number; creation_time: number; tags: Kv[] }): unknown {
  const { tags, ...rest } = e;
  return { ...rest, ...(tags.length ? { tags } : {}) };
}

function latestPerStage(m: Model): Version[] {
  const latest = new Map<string, Version>();
  for (const v of m.versions) {
    const cur = latest.get(v.current_stage);
    if (!cur || Number(v.version) > Number(cur.version)) latest.set(v.current_stage, v);
  }
  return [...latest.values()].sort((a, c) => Number(a.version) - Number(c.version));
}

function versionJson(v: Version): unknown {
  const { tags, ...rest } = v;
  const out: Record<string, unknown> = { ...rest };
  delete out['run_link'];
  if (tags.length) out['tags'] = tags;
  out['run_link'] = v.run_link;
  return out;
}

function modelJson(m: Model): unknown {
  const latest = m.versions.length ? latestPerStage(m).map(versionJson) : undefined;
  return {
    name: m.name,
    creation_timestamp: m.creation_timestamp,
    last_updated_timestamp: m.last_updated_timestamp,
    ...(m.description ? { description: m.description } : {}),
    ...(latest ? { latest_versions: latest } : {}),
    ...(m.tags.length ? { tags: m.tags } : {}),
    ...(m.aliases.size ? { aliases: [...m.aliases].map(([alias, version]) => ({ alias, version })) } : {}),
  };
}

// ------------------------------------------------------------------ test doubles

/** A Logger that keeps every line (JSON: bindings, fields and message) for assertions. */
export class MemoryLogger {
  constructor(
    readonly lines: string[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}

  private push(level: string, obj: object, msg?: string): void {
    this.lines.push(JSON.stringify({ level, ...this.bindings, ...obj, msg }));
  }

  debug(obj: object, msg?: string): void {
    this.push('debug', obj, msg);
  }

  info(obj: object, msg?: string): void {
    this.push('info', obj, msg);
  }

  warn(obj: object, msg?: string): void {
    this.push('warn', obj, msg);
  }

  error(obj: object, msg?: string): void {
    this.push('error', obj, msg);
  }

  child(bindings: Record<string, unknown>): MemoryLogger {
    return new MemoryLogger(this.lines, { ...this.bindings, ...bindings });
  }

  text(): string {
    return this.lines.join('\n');
  }
}

/** A clock that moves only when told (and by 1 ms per reading, so that times are distinct). */
export class TestClock {
  constructor(public ms = 1_795_723_510_000) {}

  now(): Date {
    return new Date(this.ms++);
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}
