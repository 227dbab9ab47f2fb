import { promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ObjectCannedACL,
  PutObjectCommand,
  S3Client,
  ServerSideEncryption,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import { ReprodError } from '../../core/errors.js';
import { existingByListing } from '../../remote/existing.js';
import { mapLimit, Slots } from '../../remote/pool.js';
import { abortLeftoverUploads, PART_SIZE, putMultipart } from './s3-multipart.js';
import { UploadJournal } from './upload-journal.js';
import { RemoteUnreachable, type CleanUp, type Downloaded, type RemoteStore, type TransferOptions } from '../../core/ports.js';
import { displayUrl, type S3RemoteSpec } from '../../remote/remote-config.js';
import { writeHashed } from './md5-file.js';

/*
 * Objects up to PART_SIZE go in one PUT, read into memory first so that the
 * SDK can sign and, on a transient error, resend them; larger ones go in
 * parts (s3-multipart.ts).
 */
/** Parts in memory at once across all the uploads of one remote (8 x 16 MiB). */
const PART_SLOTS = 8;
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
  private readonly journal: UploadJournal | undefined;
  private readonly startedAt = Date.now();

  /** `journalDir`: where this workspace keeps the multipart uploads it has under way (see UploadJournal). */
  constructor(
    private readonly spec: S3RemoteSpec,
    opts: { maxSockets?: number; journalDir?: string } = {},
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
    this.journal = opts.journalDir === undefined ? undefined : new UploadJournal(opts.journalDir, `${spec.endpoint ?? 'aws'} ${spec.bucket} ${spec.prefix}`);
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
    if (err.name === 'CredentialsProviderError') return this.noCredentials(err);
    if (AUTH_ERRORS.has(err.name ?? '') || status === 401 || status === 403) {
      const profile = /^profile '(.*)' \(/.exec(this.spec.credentialSource)?.[1];
      return new ReprodError('REMOTE_AUTH', `remote '${this.spec.name}' (${this.display}) refused the credentials (from ${this.spec.credentialSource}): ${code} on ${what}`, {
        ...(profile !== undefined ? { remedy: `Check the keys of profile '${profile}' (~/.aws/credentials, or AWS_SHARED_CREDENTIALS_FILE), or set the remote's own in .dvc/config.local.` } : {}),
      });
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

  /**
   * The SDK found no credentials to send: nothing was refused. A named
   * profile that gives none is reported by its name; otherwise every place
   * looked in is named.
   */
  private noCredentials(err: SdkError): ReprodError {
    const where = `remote '${this.spec.name}' (${this.display})`;
    const source = this.spec.credentialSource;
    if (source.startsWith('profile ')) {
      const name = /^profile '(.*)' \(/.exec(source)?.[1] ?? '';
      return new ReprodError('REMOTE_AUTH', `${where}: the AWS ${source} gives no credentials${err.message ? ` (${err.message})` : ''}`, {
        remedy: `Add a [${name}] section with aws_access_key_id and aws_secret_access_key to ~/.aws/credentials (or [profile ${name}] to ~/.aws/config; AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE name other files), or name a profile that exists.`,
      });
    }
    return new ReprodError(
      'REMOTE_AUTH',
      `${where}: no credentials found: none in .dvc/config.local, none in the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), and none from the SDK's default chain (~/.aws/credentials, SSO, container or instance roles)`,
      {
        remedy: `Set them: \`reprod remote modify --local ${this.spec.name} access_key_id …\` and \`reprod remote modify --local ${this.spec.name} secret_access_key …\`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile (\`reprod remote modify ${this.spec.name} profile NAME\`).`,
      },
    );
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

  /** A few keys: one HEAD each; many: their folder listed (see existingByListing). */
  async existing(keys: readonly string[], opts: { jobs: number; signal?: AbortSignal }): Promise<Map<string, number>> {
    try {
      return await existingByListing({ head: (k) => this.head(k, opts.signal), pages: (p) => this.pages(p, opts.signal) }, keys, opts.jobs);
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
      await putMultipart(
        { client: this.client, bucket: this.spec.bucket, key: this.full(key), extras: this.putExtras, slots: this.partSlots, ...(this.journal ? { journal: this.journal } : {}) },
        file,
        size,
        opts,
      );
    } catch (e) {
      throw this.failure(e, 'uploading', key);
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

  /** Aborts the multipart uploads earlier pushes from this workspace left unfinished. */
  async cleanUp(opts: { signal?: AbortSignal } = {}): Promise<CleanUp> {
    if (!this.journal) return { aborted: 0 };
    try {
      const aborted = await abortLeftoverUploads({
        client: this.client,
        bucket: this.spec.bucket,
        prefix: this.base,
        journal: this.journal,
        since: this.startedAt,
        ...(opts.signal ? { signal: opts.signal } : {}),
      });
      return { aborted };
    } catch (e) {
      const f = this.failure(e, 'listing unfinished multipart uploads');
      if (f instanceof ReprodError) throw f;
      return { aborted: 0, problem: f.message };
    }
  }

  close(): void {
    this.journal?.close();
    this.client.destroy();
  }
}
