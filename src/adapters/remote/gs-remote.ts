import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Storage, type Bucket } from '@google-cloud/storage';
import { ReprodError } from '../../core/errors.js';
import { RemoteUnreachable, type Downloaded, type RemoteStore, type TransferOptions } from '../../core/ports.js';
import { existingByListing, type ListingPage } from '../../remote/existing.js';
import { mapLimit } from '../../remote/pool.js';
import type { GsRemoteSpec } from '../../remote/remote-config.js';
import { writeHashed } from './md5-file.js';

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
/** Objects larger than this go up as resumable uploads; smaller ones in one multipart request. */
const RESUMABLE_FROM = 8 * 1024 * 1024;
/** What Google's auth library says when it has no credentials at all. */
const NO_CREDENTIALS = /Could not load the default credentials|Unable to detect a Project Id|could not find default credentials/i;
/** Refusals of the credentials by the token service (OAuth 2.0 error codes). */
const TOKEN_REFUSED = /invalid_grant|invalid_client|unauthorized_client|invalid_request|access_denied|invalid_scope/;

interface GcsError {
  code?: number | string;
  message?: string;
  response?: { status?: number; data?: unknown };
}

function gcsError(e: unknown): GcsError {
  return typeof e === 'object' && e !== null ? (e as GcsError) : {};
}

function statusOf(e: unknown): number | undefined {
  const err = gcsError(e);
  return typeof err.code === 'number' ? err.code : err.response?.status;
}

/**
 * A Google Cloud Storage bucket (or a prefix of one) in DVC's layout,
 * through the official SDK (@google-cloud/storage). Objects appear whole
 * when their upload completes; uploads are checked by md5 against what the
 * server stored. The SDK retries transient failures itself (three attempts,
 * as the other remotes). Credentials go to the SDK and nowhere else.
 */
export class GsRemote implements RemoteStore {
  readonly display: string;
  private readonly storage: Storage;
  private readonly bucket: Bucket;
  private readonly base: string;
  /**
   * An endpoint outside googleapis.com: the SDK (7.x) sends resumable
   * uploads there without credentials (it does not pass
   * useAuthWithCustomEndpoint on to them), so they get the access token
   * through a request interceptor of their own.
   */
  private readonly resumableNeedsToken: boolean;

  constructor(private readonly spec: GsRemoteSpec) {
    this.base = spec.prefix === '' ? '' : `${spec.prefix}/`;
    this.display = `gs://${spec.bucket}${spec.prefix ? `/${spec.prefix}` : ''}${spec.endpoint ? ` at ${spec.endpoint}` : ''}`;
    this.resumableNeedsToken = spec.endpoint !== undefined && !/(^|\.)googleapis\.com$/i.test(new URL(spec.endpoint).hostname);
    const storage = new Storage({
      ...(spec.projectId !== undefined ? { projectId: spec.projectId } : {}),
      ...(spec.keyFilename !== undefined ? { keyFilename: spec.keyFilename } : {}),
      // another endpoint (DVC's endpointurl) gets the same credentials, as gcsfs sends them
      ...(spec.endpoint !== undefined ? { apiEndpoint: spec.endpoint, useAuthWithCustomEndpoint: true } : {}),
      retryOptions: { autoRetry: true, maxRetries: 2 },
    });
    this.storage = storage;
    this.bucket = storage.bucket(spec.bucket);
  }

  private name(key: string): string {
    return `${this.base}${key}`;
  }

  private failure(e: unknown, op: string, key?: string): Error {
    if (e instanceof ReprodError || e instanceof RemoteUnreachable) return e;
    const err = gcsError(e);
    const what = key === undefined ? op : `${op} ${key}`;
    const where = `remote '${this.spec.name}' (${this.display})`;
    const status = statusOf(e);
    const message = (err.message ?? String(e)).split('\n')[0] as string;
    const data = JSON.stringify(err.response?.data ?? '');
    if (NO_CREDENTIALS.test(message)) {
      return new ReprodError('REMOTE_AUTH', `${where}: no credentials found: no credentialpath, no GOOGLE_APPLICATION_CREDENTIALS, and no application default credentials`, {
        remedy: `Point it at a credentials file: \`reprod remote modify --local ${this.spec.name} credentialpath <key.json>\`, or set GOOGLE_APPLICATION_CREDENTIALS (or \`gcloud auth application-default login\`).`,
      });
    }
    if (status === 401 || status === 403 || TOKEN_REFUSED.test(data) || TOKEN_REFUSED.test(message)) {
      return new ReprodError('REMOTE_AUTH', `${where} refused the credentials (from ${this.spec.credentialSource}): ${status !== undefined ? `HTTP ${status}` : message} on ${what}`, {
        remedy: `Check the credentials file (\`reprod remote modify --local ${this.spec.name} credentialpath …\`, or GOOGLE_APPLICATION_CREDENTIALS) and its access to the bucket.`,
      });
    }
    if (status === 404 && /bucket/i.test(message) && !/object/i.test(message)) {
      return new ReprodError('REMOTE', `${where}: bucket '${this.spec.bucket}' does not exist`, { remedy: 'Check the url (gs://<bucket>/<path>); create the bucket if it should exist.' });
    }
    const errno = typeof err.code === 'string' ? err.code : undefined;
    if (errno !== undefined && NETWORK_ERRORS.has(errno)) return new RemoteUnreachable(`${op}: cannot reach ${this.display} (${errno})`);
    return new Error(`${what}: ${status !== undefined ? `HTTP ${status}: ` : ''}${message}`);
  }

  private fatal(e: unknown, op: string): Error {
    const f = this.failure(e, op);
    // a remote that does not answer a query the whole command needs stops it, as any other failure of one
    return f instanceof ReprodError ? f : new ReprodError('REMOTE', `remote '${this.spec.name}': ${f.message}`, { cause: f });
  }

  private async size(key: string): Promise<number | undefined> {
    try {
      const [meta] = await this.bucket.file(this.name(key)).getMetadata();
      return Number(meta.size ?? 0);
    } catch (e) {
      if (statusOf(e) === 404) return undefined;
      throw e;
    }
  }

  /** The objects under `prefix` with their sizes, a page at a time (names come sorted). */
  private async *pages(prefix: string): AsyncIterable<ListingPage> {
    let pageToken: string | undefined;
    do {
      const [files, next] = await this.bucket.getFiles({ prefix: this.name(prefix), autoPaginate: false, maxResults: 1000, ...(pageToken ? { pageToken } : {}) });
      const sizes = new Map<string, number>();
      for (const f of files) if (f.name.startsWith(this.base)) sizes.set(f.name.slice(this.base.length), Number(f.metadata.size ?? 0));
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
      yield { sizes, more: pageToken !== undefined };
    } while (pageToken);
  }

  /** A few keys: one metadata GET each; many: their folder listed (see existingByListing). */
  async existing(keys: readonly string[], opts: { jobs: number; signal?: AbortSignal }): Promise<Map<string, number>> {
    try {
      return await existingByListing({ head: (k) => this.size(k), pages: (p) => this.pages(p) }, keys, opts.jobs);
    } catch (e) {
      throw this.fatal(e, 'checking which objects exist');
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    try {
      for await (const page of this.pages(prefix)) yield* page.sizes.keys();
    } catch (e) {
      throw this.fatal(e, `listing ${prefix}`);
    }
  }

  async put(key: string, file: string, size: number, opts: TransferOptions = {}): Promise<void> {
    try {
      const source = createReadStream(file);
      source.on('data', (chunk) => opts.onBytes?.(chunk.length));
      const resumable = size > RESUMABLE_FROM;
      const target = this.bucket.file(this.name(key));
      if (resumable && this.resumableNeedsToken) {
        const token = await this.storage.authClient.getAccessToken();
        if (token) {
          // the SDK's own typing wants its request options back; the resumable upload reads only their headers
          type Decorated = ReturnType<(typeof target.interceptors)[number]['request']>;
          target.interceptors.push({ request: (o) => ({ ...o, headers: { ...o.headers, Authorization: `Bearer ${token}` } }) as Decorated });
        }
      }
      const sink = target.createWriteStream({
        resumable,
        // the SDK compares the md5 it computed on the way with the server's, and removes a mismatch
        validation: 'md5',
        metadata: { contentType: 'application/octet-stream', ...(resumable ? { contentLength: size } : {}) },
      });
      await pipeline(source, sink, ...(opts.signal ? [{ signal: opts.signal }] : []));
    } catch (e) {
      throw this.failure(e, 'uploading', key);
    }
  }

  async get(key: string, dest: string, opts: TransferOptions = {}): Promise<Downloaded | null> {
    try {
      // fetch verifies the md5 itself (writeHashed), and reports a mismatch as corruption
      return await writeHashed(this.bucket.file(this.name(key)).createReadStream({ validation: false }), dest, opts);
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw this.failure(e, 'downloading', key);
    }
  }

  async read(key: string): Promise<Uint8Array | null> {
    try {
      const [bytes] = await this.bucket.file(this.name(key)).download({ validation: false });
      return bytes;
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw this.failure(e, 'reading', key);
    }
  }

  async delete(keys: readonly string[], opts: { jobs?: number } = {}): Promise<void> {
    await mapLimit(keys, opts.jobs ?? 16, async (k) => {
      try {
        await this.bucket.file(this.name(k)).delete({ ignoreNotFound: true });
      } catch (e) {
        throw this.failure(e, 'deleting', k);
      }
    });
  }

  close(): void {}
}
