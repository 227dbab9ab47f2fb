import { AnonymousCredential, BlobServiceClient, RestError, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { Readable } from 'node:stream';
import { ReprodError } from '../../core/errors.js';
import { RemoteUnreachable, type Downloaded, type RemoteStore, type TransferOptions } from '../../core/ports.js';
import { mapLimit } from '../../remote/pool.js';
import type { AzureRemoteSpec } from '../../remote/remote-config.js';
import { writeHashed } from './md5-file.js';

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'REQUEST_SEND_ERROR']);
const AUTH_CODES = new Set(['AuthenticationFailed', 'AuthorizationFailure', 'AuthorizationPermissionMismatch', 'InvalidAuthenticationInfo', 'NoAuthenticationInformation']);

/** The container, authenticated as configured (the one place the credentials are handed over). */
function containerClient(spec: AzureRemoteSpec): ContainerClient {
  const a = spec.auth;
  // the SDK retries throttling, timeouts and 5xx itself: three attempts, as the S3 remote makes
  const options = { retryOptions: { maxTries: 3 } };
  switch (a.kind) {
    case 'connection-string':
      return BlobServiceClient.fromConnectionString(a.connectionString, options).getContainerClient(spec.container);
    case 'shared-key':
      return new BlobServiceClient(`https://${a.accountName}.blob.core.windows.net`, new StorageSharedKeyCredential(a.accountName, a.accountKey), options).getContainerClient(spec.container);
    case 'sas':
      return new BlobServiceClient(`https://${a.accountName}.blob.core.windows.net?${a.sasToken}`, new AnonymousCredential(), options).getContainerClient(spec.container);
    case 'anonymous':
      return new BlobServiceClient(`https://${a.accountName}.blob.core.windows.net`, new AnonymousCredential(), options).getContainerClient(spec.container);
  }
}

/**
 * An Azure Blob Storage container (or a prefix of one) in DVC's layout,
 * through the official SDK. Block blobs become visible only when committed,
 * so no reader sees half an object. Messages name the container and the
 * error code, never a key or token.
 */
export class AzureRemote implements RemoteStore {
  readonly display: string;
  private readonly container: ContainerClient;
  private readonly base: string;

  constructor(private readonly spec: AzureRemoteSpec) {
    this.base = spec.prefix === '' ? '' : `${spec.prefix}/`;
    this.container = containerClient(spec);
    const account = spec.auth.kind === 'connection-string' ? this.container.accountName : spec.auth.accountName;
    this.display = `azure://${spec.container}${spec.prefix ? `/${spec.prefix}` : ''} (account ${account})`;
  }

  private blob(key: string) {
    return this.container.getBlockBlobClient(`${this.base}${key}`);
  }

  private failure(e: unknown, op: string, key?: string): Error {
    if (e instanceof ReprodError || e instanceof RemoteUnreachable) return e;
    const what = key === undefined ? op : `${op} ${key}`;
    const status = e instanceof RestError ? e.statusCode : undefined;
    const code = e instanceof RestError ? (e.code ?? (typeof e.details === 'object' && e.details !== null ? (e.details as { errorCode?: string }).errorCode : undefined)) : undefined;
    if (status === 401 || status === 403 || (code !== undefined && AUTH_CODES.has(code))) {
      return new ReprodError('REMOTE_AUTH', `remote '${this.spec.name}' (${this.display}) refused the credentials (from ${this.spec.credentialSource}): ${code ?? `HTTP ${status}`} on ${what}`, {
        remedy: `Check them: \`reprod remote modify --local ${this.spec.name} connection_string …\` (or account_name with account_key or sas_token), kept in .dvc/config.local, or AZURE_STORAGE_CONNECTION_STRING.`,
      });
    }
    if (code === 'ContainerNotFound') {
      return new ReprodError('REMOTE', `remote '${this.spec.name}': container '${this.spec.container}' does not exist (${this.display})`, {
        remedy: 'Check the url (azure://<container>/<path>); create the container if it should exist.',
      });
    }
    const errno = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
    if (typeof errno === 'string' && NETWORK_ERRORS.has(errno)) return new RemoteUnreachable(`${op}: cannot reach ${this.display} (${errno})`);
    const message = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return new Error(`${what}: ${code ?? (status !== undefined ? `HTTP ${status}` : message)}`);
  }

  private fatal(e: unknown, op: string): Error {
    const f = this.failure(e, op);
    // a remote that does not answer a query the whole command needs stops it, as any other failure of one
    return f instanceof ReprodError ? f : new ReprodError('REMOTE', `remote '${this.spec.name}': ${f.message}`, { cause: f });
  }

  private async size(key: string, signal?: AbortSignal): Promise<number | undefined> {
    try {
      const p = await this.blob(key).getProperties(signal ? { abortSignal: signal } : {});
      return p.contentLength ?? 0;
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404 && e.code !== 'ContainerNotFound') return undefined;
      throw e;
    }
  }

  async existing(keys: readonly string[], opts: { jobs: number; signal?: AbortSignal }): Promise<Map<string, number>> {
    try {
      const sizes = await mapLimit(keys, opts.jobs, (k) => this.size(k, opts.signal));
      const found = new Map<string, number>();
      keys.forEach((k, i) => {
        const s = sizes[i];
        if (s !== undefined) found.set(k, s);
      });
      return found;
    } catch (e) {
      throw this.fatal(e, 'checking which objects exist');
    }
  }

  async *list(prefix: string, opts: { signal?: AbortSignal } = {}): AsyncIterable<string> {
    try {
      for await (const b of this.container.listBlobsFlat({ prefix: `${this.base}${prefix}`, ...(opts.signal ? { abortSignal: opts.signal } : {}) })) {
        if (b.name.startsWith(this.base)) yield b.name.slice(this.base.length);
      }
    } catch (e) {
      throw this.fatal(e, `listing ${prefix}`);
    }
  }

  async put(key: string, file: string, size: number, opts: TransferOptions = {}): Promise<void> {
    let sent = 0;
    try {
      await this.blob(key).uploadFile(file, {
        onProgress: (p) => {
          opts.onBytes?.(p.loadedBytes - sent);
          sent = p.loadedBytes;
        },
        ...(opts.signal ? { abortSignal: opts.signal } : {}),
      });
      if (sent < size) opts.onBytes?.(size - sent);
    } catch (e) {
      throw this.failure(e, 'uploading', key);
    }
  }

  async get(key: string, dest: string, opts: TransferOptions = {}): Promise<Downloaded | null> {
    try {
      const res = await this.blob(key).download(0, undefined, opts.signal ? { abortSignal: opts.signal } : {});
      const body = res.readableStreamBody;
      if (!(body instanceof Readable)) throw new Error('the server sent no body');
      return await writeHashed(body, dest, opts);
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404 && e.code !== 'ContainerNotFound') return null;
      throw this.failure(e, 'downloading', key);
    }
  }

  async read(key: string, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    try {
      return await this.blob(key).downloadToBuffer(0, undefined, opts.signal ? { abortSignal: opts.signal } : {});
    } catch (e) {
      if (e instanceof RestError && e.statusCode === 404 && e.code !== 'ContainerNotFound') return null;
      throw this.failure(e, 'reading', key);
    }
  }

  async delete(keys: readonly string[], opts: { jobs?: number } = {}): Promise<void> {
    await mapLimit(keys, opts.jobs ?? 16, async (k) => {
      try {
        await this.blob(k).deleteIfExists();
      } catch (e) {
        throw this.failure(e, 'deleting', k);
      }
    });
  }

  close(): void {}
}
