import { createReadStream, readFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { ReprodError } from '../../core/errors.js';
import { RemoteUnreachable, type Downloaded, type RemoteStore, type TransferOptions } from '../../core/ports.js';
import { mapLimit } from '../../remote/pool.js';
import { displayUrl, type HttpRemoteSpec } from '../../remote/remote-config.js';
import { writeHashed } from './md5-file.js';
import { DigestSession, parseDigestChallenge } from './digest-auth.js';

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Requests that fail on the network or with a 5xx are sent again, this many times in all (as the S3 SDK's maxAttempts). */
const ATTEMPTS = 3;

interface Answer {
  status: number;
  res: IncomingMessage;
}

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' ? (e as { code: string }).code : undefined;
}

/** Reads and drops a body, so the connection goes back to the pool. */
async function drain(res: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of res) if (text.length < 64 * 1024) text += (chunk as Buffer).toString('utf8');
  return text;
}

/**
 * DVC's HTTP and WebDAV remotes over node's http(s) clients, keep-alive.
 * Reads are GET (objects) and HEAD (which exist, with sizes: one request
 * per key, as DVC's HTTP remote, which cannot list); uploads stream the
 * file with the configured method. WebDAV also makes folders (MKCOL) and
 * lists them (PROPFIND, depth 1, folder by folder). The credentials go into
 * one header and nowhere else: no message names them.
 */
export class HttpRemote implements RemoteStore {
  readonly display: string;
  private readonly agent: http.Agent;
  private readonly basePath: string;
  /** WebDAV folders known to exist (made or seen), so each is made once. */
  private readonly folders = new Set<string>();
  /** `auth = digest`: the server's latest challenge, answered in every request. */
  private readonly digest: DigestSession | undefined;

  constructor(private readonly spec: HttpRemoteSpec) {
    this.display = displayUrl(spec.url);
    const url = new URL(spec.base);
    this.basePath = url.pathname.replace(/\/+$/, '');
    const tls = url.protocol === 'https:';
    this.agent = tls
      ? new https.Agent({
          keepAlive: true,
          maxSockets: 64,
          rejectUnauthorized: spec.sslVerify !== false,
          ...(typeof spec.sslVerify === 'string' ? { ca: readFileSync(spec.sslVerify) } : {}),
        })
      : new http.Agent({ keepAlive: true, maxSockets: 64 });
    this.digest = spec.auth?.kind === 'digest' ? new DigestSession(spec.auth.user, spec.auth.password) : undefined;
  }

  /** The credentials' header for one request. */
  private authHeaders(method: string, url: URL): Record<string, string> {
    const auth = this.spec.auth;
    if (auth === undefined) return {};
    if (auth.kind === 'header') return { [auth.name]: auth.value };
    if (auth.kind === 'basic') return { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` };
    const header = this.digest?.header(method, `${url.pathname}${url.search}`);
    return header === undefined ? {} : { authorization: header };
  }

  /**
   * One request with its credentials. Digest: a 401 that carries a new
   * challenge (the first one, or a `stale` nonce) is answered once more
   * with it; a 401 to a fresh answer is a refusal.
   */
  private async authed(method: string, url: URL, opts: { body?: () => NodeJS.ReadableStream; length?: number; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Answer> {
    if (this.digest !== undefined && !this.digest.ready && opts.body) {
      // the challenge comes first from a request without a body, so that an upload's bytes are sent once
      const probe = await this.once('HEAD', url, opts.signal ? { signal: opts.signal } : {});
      await drain(probe.res);
      const challenge = probe.status === 401 ? parseDigestChallenge(probe.res.headers['www-authenticate']) : undefined;
      if (challenge !== undefined) this.digest.challenged(challenge);
    }
    const hadChallenge = this.digest?.ready === true;
    const answer = await this.once(method, url, { ...opts, headers: { ...opts.headers, ...this.authHeaders(method, url) } });
    if (this.digest === undefined || answer.status !== 401) return answer;
    const challenge = parseDigestChallenge(answer.res.headers['www-authenticate']);
    if (challenge === undefined || (hadChallenge && !challenge.stale)) return answer;
    await drain(answer.res);
    this.digest.challenged(challenge);
    return this.once(method, url, { ...opts, headers: { ...opts.headers, ...this.authHeaders(method, url) } });
  }

  private urlOf(key: string): URL {
    const url = new URL(this.spec.base);
    url.pathname = `${this.basePath}/${key.split('/').map(encodeURIComponent).join('/')}`;
    return url;
  }

  /** One request; `body` opens a fresh stream per attempt. Network errors and 5xx are retried. */
  private async request(method: string, url: URL, opts: { body?: () => NodeJS.ReadableStream; length?: number; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Answer> {
    let last: unknown;
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        const answer = await this.authed(method, url, opts);
        if (answer.status < 500 || attempt === ATTEMPTS) return answer;
        last = new Error(`HTTP ${answer.status}`);
        await drain(answer.res);
      } catch (e) {
        opts.signal?.throwIfAborted();
        if (attempt === ATTEMPTS || !NETWORK_ERRORS.has(errnoCode(e) ?? '')) throw e;
        last = e;
      }
    }
    throw last;
  }

  private once(method: string, url: URL, opts: { body?: () => NodeJS.ReadableStream; length?: number; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Answer> {
    const lib = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.length !== undefined) headers['content-length'] = String(opts.length);
    return new Promise<Answer>((resolve, reject) => {
      const req = lib.request(url, { method, headers, agent: this.agent, ...(opts.signal ? { signal: opts.signal } : {}) }, (res) => resolve({ status: res.statusCode ?? 0, res }));
      req.once('error', reject);
      if (opts.body) {
        const body = opts.body();
        body.once('error', (e) => req.destroy(e));
        body.pipe(req);
      } else {
        req.end();
      }
    });
  }

  /** The error for an answer that is not a success: refused credentials stop the command. */
  private refused(status: number, op: string, key?: string): Error {
    const what = key === undefined ? op : `${op} ${key}`;
    if ((status === 401 || status === 403) && this.spec.credentialSource === 'none configured') {
      // nothing was refused: none were sent
      return new ReprodError('REMOTE_AUTH', `remote '${this.spec.name}' (${this.display}) asks for credentials (HTTP ${status} on ${what}), and none are configured`, {
        remedy: `Set them: \`reprod remote modify --local ${this.spec.name} user …\` and \`… password …\` (with \`reprod remote modify ${this.spec.name} auth basic\` or digest), or ask_password = true to type the password.`,
      });
    }
    if (status === 401 || status === 403) {
      return new ReprodError('REMOTE_AUTH', `remote '${this.spec.name}' (${this.display}) refused the credentials (from ${this.spec.credentialSource}): HTTP ${status} on ${what}`, {
        remedy: `Check the user and password: \`reprod remote modify --local ${this.spec.name} user …\` and \`… password …\` (for DagsHub, your user name and a token), kept in .dvc/config.local.`,
      });
    }
    return new Error(`${what}: HTTP ${status}`);
  }

  private failure(e: unknown, op: string, key?: string): Error {
    if (e instanceof ReprodError || e instanceof RemoteUnreachable) return e;
    const code = errnoCode(e);
    if (code !== undefined && NETWORK_ERRORS.has(code)) return new RemoteUnreachable(`${op}: cannot reach ${this.display} (${code})`);
    if (e instanceof Error && e.name === 'AbortError') return new Error(`${op}: interrupted`);
    return e instanceof Error ? e : new Error(`${op}${key ? ` ${key}` : ''}: ${String(e)}`);
  }

  private fatal(e: unknown, op: string): Error {
    const f = this.failure(e, op);
    // a remote that does not answer a query the whole command needs stops it, as any other failure of one
    return f instanceof ReprodError ? f : new ReprodError('REMOTE', `remote '${this.spec.name}': ${f.message}`, { cause: f });
  }

  private async head(key: string, signal?: AbortSignal): Promise<number | undefined> {
    const { status, res } = await this.request('HEAD', this.urlOf(key), signal ? { signal } : {});
    await drain(res);
    if (status === 404 || status === 410) return undefined;
    if (status >= 300) throw this.refused(status, 'checking', key);
    return Number(res.headers['content-length'] ?? 0);
  }

  async existing(keys: readonly string[], opts: { jobs: number; signal?: AbortSignal }): Promise<Map<string, number>> {
    try {
      const sizes = await mapLimit(keys, opts.jobs, (k) => this.head(k, opts.signal));
      const found = new Map<string, number>();
      keys.forEach((k, i) => {
        const size = sizes[i];
        if (size !== undefined) found.set(k, size);
      });
      return found;
    } catch (e) {
      throw this.fatal(e, 'checking which objects exist');
    }
  }

  async *list(prefix: string, opts: { signal?: AbortSignal } = {}): AsyncIterable<string> {
    if (!this.spec.dav) {
      throw new ReprodError('REMOTE', `remote '${this.spec.name}': an HTTP remote cannot be listed (${this.display})`, {
        remedy: 'gc -c and the run-cache need a remote that can list its objects: use a WebDAV, S3 or folder remote for them.',
      });
    }
    const pending = [prefix.replace(/\/+$/, '')];
    try {
      while (pending.length > 0) {
        const dir = pending.shift() as string;
        const entries = await this.propfind(dir, opts.signal);
        for (const e of entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))) {
          if (e.folder) pending.push(e.key);
          else yield e.key;
        }
      }
    } catch (e) {
      throw this.fatal(e, `listing ${prefix}`);
    }
  }

  /** The entries of one WebDAV folder (none when it does not exist), as keys of the layout. */
  private async propfind(dir: string, signal?: AbortSignal): Promise<{ key: string; folder: boolean }[]> {
    const url = this.urlOf(dir);
    url.pathname += '/';
    const { status, res } = await this.request('PROPFIND', url, { headers: { depth: '1' }, ...(signal ? { signal } : {}) });
    const body = await drain(res);
    if (status === 404) return [];
    if (status !== 207) throw this.refused(status, 'listing', dir);
    const out: { key: string; folder: boolean }[] = [];
    for (const m of body.matchAll(/<(?:[\w-]+:)?response\b[\s\S]*?<\/(?:[\w-]+:)?response>/g)) {
      const href = /<(?:[\w-]+:)?href>([^<]*)<\/(?:[\w-]+:)?href>/.exec(m[0])?.[1];
      if (href === undefined) continue;
      const pathname = decodeURIComponent(new URL(href, url).pathname).replace(/\/+$/, '');
      const prefix = `${decodeURIComponent(this.basePath)}/`;
      if (!pathname.startsWith(prefix)) continue;
      const key = pathname.slice(prefix.length);
      if (key === dir || key === '') continue;
      out.push({ key, folder: /<(?:[\w-]+:)?collection\s*\/>/.test(m[0]) });
    }
    return out;
  }

  /**
   * Makes the WebDAV folders above `key`, the remote's own path included,
   * top down (as DVC's WebDAV remote makes them); an existing folder answers
   * 405, which is fine. Each folder is asked for once per remote.
   */
  private async makeFolders(key: string, signal?: AbortSignal): Promise<void> {
    const parts = [...this.basePath.split('/').filter(Boolean).map(decodeURIComponent), ...key.split('/').slice(0, -1)];
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.folders.has(dir)) continue;
      const url = new URL(this.spec.base);
      url.pathname = `/${parts.slice(0, i).map(encodeURIComponent).join('/')}/`;
      const { status, res } = await this.request('MKCOL', url, signal ? { signal } : {});
      await drain(res);
      if (status >= 300 && status !== 405) throw this.refused(status, 'making the folder', url.pathname);
      this.folders.add(dir);
    }
  }

  async put(key: string, file: string, size: number, opts: TransferOptions = {}): Promise<void> {
    try {
      if (this.spec.dav) await this.makeFolders(key, opts.signal);
      const body = () => {
        const s = createReadStream(file);
        s.on('data', (chunk) => opts.onBytes?.(chunk.length));
        return s;
      };
      const { status, res } = await this.request(this.spec.method, this.urlOf(key), {
        body,
        length: size,
        headers: { 'content-type': 'application/octet-stream' },
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      await drain(res);
      if (status >= 300) throw this.refused(status, 'uploading', key);
    } catch (e) {
      throw this.failure(e, 'uploading', key);
    }
  }

  /** GET of an object's body: null when the server has none (404, 410); any other refusal throws. */
  private async body(key: string, what: string, signal: AbortSignal | undefined): Promise<Answer['res'] | null> {
    const { status, res } = await this.request('GET', this.urlOf(key), signal ? { signal } : {});
    if (status < 300) return res;
    await drain(res);
    if (status === 404 || status === 410) return null;
    throw this.refused(status, what, key);
  }

  async get(key: string, dest: string, opts: TransferOptions = {}): Promise<Downloaded | null> {
    try {
      const res = await this.body(key, 'downloading', opts.signal);
      return res === null ? null : await writeHashed(res, dest, opts);
    } catch (e) {
      throw this.failure(e, 'downloading', key);
    }
  }

  async read(key: string, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    try {
      const res = await this.body(key, 'reading', opts.signal);
      if (res === null) return null;
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    } catch (e) {
      throw this.failure(e, 'reading', key);
    }
  }

  async delete(keys: readonly string[], opts: { jobs?: number } = {}): Promise<void> {
    await mapLimit(keys, opts.jobs ?? 16, async (k) => {
      try {
        const { status, res } = await this.request('DELETE', this.urlOf(k));
        await drain(res);
        if (status >= 300 && status !== 404) throw this.refused(status, 'deleting', k);
      } catch (e) {
        throw this.failure(e, 'deleting', k);
      }
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

