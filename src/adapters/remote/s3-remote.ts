import { promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ObjectCannedACL,
  PutObjectCommand,
  S3Client,
  ServerSideEncryption,
  UploadPartCommand,
  type CompletedPart,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { ReprodError } from '../../core/errors.js';
import { mapLimit, Slots } from '../../remote/pool.js';
import { RemoteUnreachable, type Downloaded, type RemoteStore, type TransferOptions } from '../../core/ports.js';
import { displayUrl, type S3RemoteSpec } from '../../remote/remote-config.js';
import { writeHashed } from './md5-file.js';

/**
 * Objects up to this size go in one PUT, read into memory first so that the
 * SDK can sign and, on a transient error, resend them; larger ones go in
 * parts of at least this size (S3 allows 10,000 parts).
 */
const PART_SIZE = 16 * 1024 * 1024;
const MAX_PARTS = 10_000;
/** Parts of one upload in flight at once: the SDK's Upload's default queue size. */
const PART_JOBS = 4;
/** Parts in memory at once across all the uploads of one remote (8 x 16 MiB). */
const PART_SLOTS = 8;
/** Up to this many keys are checked one HEAD each; more are listed. */
const HEAD_ONLY = 16;
/** Keys per listing page (S3's maximum). */
const PAGE = 1000;

const AUTH_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AuthorizationHeaderMalformed',
  'Forbidden',
  'Unauthorized',
  'CredentialsProviderError',
]);
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function sdkError(e: unknown): SdkError {
  return typeof e === 'object' && e !== null ? (e as SdkError) : {};
}

function isNotFound(e: unknown): boolean {
  const err = sdkError(e);
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404;
}

function hasPath(x: unknown): x is { path: string } {
  return typeof x === 'object' && x !== null && typeof (x as { path?: unknown }).path === 'string';
}

/**
 * Sends bucket-level requests (listings) to `/<bucket>`, not `/<bucket>/`,
 * as botocore (and so DVC) does for path-style requests: some S3-compatible
 * servers sign the path without the trailing slash and refuse the other form.
 */
export function withBareBucketPath(client: S3Client, bucket: string): S3Client {
  const bucketPath = `/${bucket}/`;
  client.middlewareStack.add(
    (next) => async (args) => {
      if (hasPath(args.request) && args.request.path.endsWith(bucketPath)) args.request.path = args.request.path.slice(0, -1);
      return next(args);
    },
    { step: 'build', name: 'reprodBareBucketPath' },
  );
  return client;
}

/**
 * An S3-compatible remote through the official SDK: path-style requests to
 * any endpoint (AWS itself when none is set), checksums only where the API
 * requires them (many S3-compatible servers answer the SDK's default
 * streaming checksums with HTTP 411), keep-alive connections. Credentials
 * go to the SDK and nowhere else: no message, log line or error names them.
 */
export class S3Remote implements RemoteStore {
  readonly display: string;
  private readonly client: S3Client;
  private readonly base: string;
  private readonly putExtras: Pick<PutObjectCommandInput, 'ACL' | 'ServerSideEncryption' | 'SSEKMSKeyId'>;
  private readonly partSlots = new Slots(PART_SLOTS);

  constructor(
    private readonly spec: S3RemoteSpec,
    opts: { maxSockets?: number } = {},
  ) {
    // reprod supports Node 20 (package.json engines); the SDK's notice about its own future support is not the user's concern
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.base = spec.prefix === '' ? '' : `${spec.prefix}/`;
    this.display = `s3://${spec.bucket}${spec.prefix ? `/${spec.prefix}` : ''}${spec.endpoint ? ` at ${displayUrl(spec.endpoint)}` : ''}`;
    const maxSockets = opts.maxSockets ?? 64;
    this.client = new S3Client({
      region: spec.region,
      ...(spec.endpoint !== undefined ? { endpoint: spec.endpoint, forcePathStyle: true } : {}),
      ...(spec.credentials ? { credentials: spec.credentials } : {}),
      ...(spec.profile !== undefined ? { profile: spec.profile } : {}),
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
      requestHandler: {
        httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
        httpsAgent: new https.Agent({ keepAlive: true, maxSockets, rejectUnauthorized: spec.sslVerify }),
      },
    });
    if (spec.endpoint !== undefined) withBareBucketPath(this.client, spec.bucket);
    const acl = spec.acl === undefined ? undefined : Object.values(ObjectCannedACL).find((v) => v === spec.acl);
    if (spec.acl !== undefined && acl === undefined) {
      throw new ReprodError('CONFIG', `remote '${spec.name}': unknown acl '${spec.acl}'`, { remedy: `Use one of: ${Object.values(ObjectCannedACL).join(', ')}.` });
    }
    const sse = spec.sse === undefined ? undefined : Object.values(ServerSideEncryption).find((v) => v === spec.sse);
    if (spec.sse !== undefined && sse === undefined) {
      throw new ReprodError('CONFIG', `remote '${spec.name}': unknown sse '${spec.sse}'`, { remedy: `Use one of: ${Object.values(ServerSideEncryption).join(', ')}.` });
    }
    this.putExtras = {
      ...(acl ? { ACL: acl } : {}),
      ...(sse ? { ServerSideEncryption: sse } : {}),
      ...(spec.sseKmsKeyId !== undefined ? { SSEKMSKeyId: spec.sseKmsKeyId } : {}),
    };
  }

  private full(key: string): string {
    return `${this.base}${key}`;
  }

  /**
   * The error to raise: credential refusals and a missing bucket stop the
   * command (REMOTE_AUTH / REMOTE); anything else is about this one request.
   * Messages name the remote and the S3 error code, never a credential.
   */
  private failure(e: unknown, op: string, key?: string): Error {
    if (e instanceof ReprodError) return e;
    const err = sdkError(e);
    const what = key === undefined ? op : `${op} ${key}`;
    const status = err.$metadata?.httpStatusCode;
    // a HEAD answer has no body, so the SDK cannot name the error: the status says it
    const code = err.name && err.name !== 'Unknown' && err.name !== 'Error' ? err.name : `HTTP ${status ?? '?'}`;
    if (AUTH_ERRORS.has(err.name ?? '') || status === 401 || status === 403) {
      return new ReprodError('REMOTE_AUTH', `remote '${this.spec.name}' (${this.display}) refused the credentials (from ${this.spec.credentialSource}): ${code} on ${what}`);
    }
    if (err.name === 'NoSuchBucket') {
      return new ReprodError('REMOTE', `remote '${this.spec.name}': bucket '${this.spec.bucket}' does not exist (${this.display})`, {
        remedy: 'Check the url (s3://<bucket>/<prefix>) and endpointurl of the remote; create the bucket if it should exist.',
      });
    }
    if (err.code !== undefined && NETWORK_ERRORS.has(err.code)) {
      return new RemoteUnreachable(`${op}: cannot reach ${this.display} (${err.code})`);
    }
    if (err.name === 'AbortError') return new Error(`${op}: interrupted`);
    return new Error(`${op}: ${code}${err.message && err.message !== err.name ? `: ${err.message}` : ''}`);
  }

  /** Errors of a query the whole command depends on: all of them stop it. */
  private fatal(e: unknown, op: string): ReprodError {
    const f = this.failure(e, op);
    return f instanceof ReprodError ? f : new ReprodError('REMOTE', `remote '${this.spec.name}': ${f.message}`, { cause: f });
  }

  /** The object's size, or undefined when there is none. */
  private async head(key: string, signal?: AbortSignal): Promise<number | undefined> {
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.spec.bucket, Key: this.full(key) }), signal ? { abortSignal: signal } : {});
      return res.ContentLength ?? 0;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private async *pages(prefix: string, signal?: AbortSignal): AsyncIterable<{ keys: string[]; sizes: Map<string, number>; more: boolean }> {
    let token: string | undefined;
    const full = this.full(prefix);
    do {
      const res = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.spec.bucket, Prefix: full, MaxKeys: PAGE, ...(token ? { ContinuationToken: token } : {}) }),
        signal ? { abortSignal: signal } : {},
      );
      const sizes = new Map<string, number>();
      for (const o of res.Contents ?? []) {
        if (o.Key !== undefined && o.Key.startsWith(this.base)) sizes.set(o.Key.slice(this.base.length), o.Size ?? 0);
      }
      const keys = [...sizes.keys()];
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
      yield { keys, sizes, more: token !== undefined };
    } while (token !== undefined);
  }

  /**
   * A few keys: one HEAD each. Many: list their folder of the layout, up to a
   * page budget proportional to the keys asked about; listings come sorted,
   * so a key before the last one listed and not seen is absent, and only the
   * keys after it (a large remote) fall back to HEAD.
   */
  async existing(keys: readonly string[], opts: { jobs: number; signal?: AbortSignal }): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const headAll = async (ks: readonly string[]) => {
      const hits = await mapLimit(ks, opts.jobs, (k) => this.head(k, opts.signal));
      ks.forEach((k, i) => {
        const size = hits[i];
        if (size !== undefined) found.set(k, size);
      });
    };
    try {
      if (keys.length <= HEAD_ONLY) {
        await headAll(keys);
        return found;
      }
      const groups = new Map<string, string[]>();
      for (const k of keys) {
        const prefix = k.startsWith('files/md5/') ? 'files/md5/' : k.startsWith('runs/') ? 'runs/' : '';
        groups.set(prefix, [...(groups.get(prefix) ?? []), k]);
      }
      for (const [prefix, ks] of groups) {
        const wanted = new Set(ks);
        const budget = Math.ceil(ks.length / 200) + 1;
        let pages = 0;
        let last: string | undefined;
        let complete = false;
        for await (const page of this.pages(prefix, opts.signal)) {
          for (const [k, size] of page.sizes) if (wanted.has(k)) found.set(k, size);
          last = page.keys.at(-1) ?? last;
          pages++;
          if (!page.more) {
            complete = true;
            break;
          }
          if (pages >= budget) break;
        }
        if (!complete) await headAll(ks.filter((k) => last === undefined || k > last));
      }
      return found;
    } catch (e) {
      throw this.fatal(e, 'checking which objects exist');
    }
  }

  async *list(prefix: string, opts: { signal?: AbortSignal } = {}): AsyncIterable<string> {
    try {
      for await (const page of this.pages(prefix, opts.signal)) yield* page.keys;
    } catch (e) {
      throw this.fatal(e, `listing ${prefix}`);
    }
  }

  async put(key: string, file: string, size: number, opts: TransferOptions = {}): Promise<void> {
    const send = opts.signal ? { abortSignal: opts.signal } : {};
    try {
      if (size <= PART_SIZE) {
        const body = await fs.readFile(file);
        await this.client.send(new PutObjectCommand({ Bucket: this.spec.bucket, Key: this.full(key), Body: body, ContentLength: body.length, ...this.putExtras }), send);
        opts.onBytes?.(body.length);
        return;
      }
      await this.putMultipart(key, file, size, opts);
    } catch (e) {
      throw this.failure(e, 'uploading', key);
    }
  }

  /**
   * Parts go up PART_JOBS at a time, as the SDK's own Upload sends them
   * (its default queue of 4). Each is read into memory first, so that it can
   * be resent; the parts in memory are bounded by the remote's part slots,
   * shared by every upload of a push, so that `-j N` big files at once hold
   * at most PART_JOBS parts, not N times as many. The first part that fails
   * stops the others (no new part starts; those in flight are aborted) and
   * the upload is abandoned.
   */
  private async putMultipart(key: string, file: string, size: number, opts: TransferOptions): Promise<void> {
    const Bucket = this.spec.bucket;
    const Key = this.full(key);
    const partSize = Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS));
    const stop = new AbortController();
    const onAbort = () => stop.abort(opts.signal?.reason);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) onAbort();
    const send = { abortSignal: stop.signal };
    const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket, Key, ...this.putExtras }), send);
    const UploadId = created.UploadId;
    if (UploadId === undefined) throw new Error('the server started no multipart upload');
    const handle = await fs.open(file, 'r');
    try {
      const numbers = Array.from({ length: Math.ceil(size / partSize) }, (_, i) => i + 1);
      const parts = await mapLimit(numbers, PART_JOBS, async (n): Promise<CompletedPart> => {
        const offset = (n - 1) * partSize;
        const length = Math.min(partSize, size - offset);
        const res = await this.partSlots.use(async () => {
          if (stop.signal.aborted) throw stop.signal.reason;
          const buf = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buf, 0, length, offset);
          if (bytesRead !== length) throw new Error(`${file} changed while it was being uploaded`);
          return this.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: n, Body: buf, ContentLength: length }), send);
        }).catch((e: unknown) => {
          stop.abort(e);
          throw e;
        });
        opts.onBytes?.(length);
        return { PartNumber: n, ...(res.ETag !== undefined ? { ETag: res.ETag } : {}) };
      });
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }), send);
    } catch (e) {
      // best effort: an abandoned upload is invisible, only its parts take space until the bucket's lifecycle clears them
      await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
      throw e;
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
      await handle.close();
    }
  }

  async get(key: string, dest: string, opts: TransferOptions = {}): Promise<Downloaded | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.spec.bucket, Key: this.full(key) }), opts.signal ? { abortSignal: opts.signal } : {});
      if (!(res.Body instanceof Readable)) throw new Error('the server sent no body');
      return await writeHashed(res.Body, dest, opts);
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.failure(e, 'downloading', key);
    }
  }

  async read(key: string, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.spec.bucket, Key: this.full(key) }), opts.signal ? { abortSignal: opts.signal } : {});
      if (!res.Body) throw new Error('the server sent no body');
      return await res.Body.transformToByteArray();
    } catch (e) {
      if (isNotFound(e)) return null;
      throw this.failure(e, 'reading', key);
    }
  }

  /** One DeleteObject each: DeleteObjects needs a checksum header that not every S3-compatible server accepts. */
  async delete(keys: readonly string[], opts: { jobs?: number } = {}): Promise<void> {
    await mapLimit(keys, opts.jobs ?? 16, async (k) => {
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.spec.bucket, Key: this.full(k) }));
      } catch (e) {
        throw this.failure(e, 'deleting', k);
      }
    });
  }

  close(): void {
    this.client.destroy();
  }
}
