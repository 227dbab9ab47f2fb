import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Client, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { errorMessage, isMissing } from '../../core/errno.js';
import { ReprodError } from '../../core/errors.js';
import { RemoteUnreachable, type Downloaded, type RemoteStore, type TransferOptions } from '../../core/ports.js';
import { checkHostKey, knownHostsName, type HostKeyCheck } from '../../remote/known-hosts.js';
import { mapLimit } from '../../remote/pool.js';
import type { SshRemoteSpec } from '../../remote/remote-config.js';
import { writeHashed } from './md5-file.js';

const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH']);
/** SFTP's status codes (draft-ietf-secsh-filexfer): no such file, permission denied. */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

function codeOf(e: unknown): string | number | undefined {
  return typeof e === 'object' && e !== null ? (e as { code?: string | number }).code : undefined;
}

function levelOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null ? (e as { level?: string }).level : undefined;
}

const noSuchFile = (e: unknown) => codeOf(e) === SFTP_NO_SUCH_FILE;

/**
 * A remote folder on an SSH server, in DVC's layout, over one SFTP session
 * (its requests are pipelined, so `jobs` transfers share it). The server's
 * key is checked against known_hosts before any credential is sent; an
 * unknown or changed key stops the command. Objects are written to a
 * temporary name and renamed into place (OpenSSH's posix-rename), so a
 * reader never sees half an object.
 */
export class SshRemote implements RemoteStore {
  readonly display: string;
  private session?: Promise<{ client: Client; sftp: SFTPWrapper }>;
  private readonly folders = new Set<string>();
  private hostCheck: HostKeyCheck | undefined;

  constructor(private readonly spec: SshRemoteSpec) {
    this.display = `ssh://${spec.user}@${spec.host}${spec.port === 22 ? '' : `:${spec.port}`}${spec.root}`;
  }

  private full(key: string): string {
    return path.posix.join(this.spec.root, key);
  }

  private sftp(): Promise<SFTPWrapper> {
    this.session ??= this.connect();
    return this.session.then((s) => s.sftp);
  }

  private async connect(): Promise<{ client: Client; sftp: SFTPWrapper }> {
    const spec = this.spec;
    let known: string;
    try {
      known = await fs.readFile(spec.knownHosts, 'utf8');
    } catch (e) {
      if (!isMissing(e)) throw new ReprodError('REMOTE', `cannot read ${spec.knownHosts}: ${errorMessage(e)}`, { cause: e });
      known = '';
    }
    let privateKey: Buffer | undefined;
    if (spec.keyfile !== undefined) {
      try {
        privateKey = await fs.readFile(spec.keyfile);
      } catch (e) {
        throw new ReprodError('CONFIG', `remote '${spec.name}': cannot read the keyfile ${spec.keyfile}: ${errorMessage(e)}`, { source: { file: '.dvc/config', key: `remote.${spec.name}.keyfile` } });
      }
    }
    const config: ConnectConfig = {
      host: spec.host,
      port: spec.port,
      username: spec.user,
      readyTimeout: spec.timeoutMs,
      hostVerifier: (key: Buffer) => {
        this.hostCheck = checkHostKey(known, spec.host, spec.port, key);
        return this.hostCheck === 'known';
      },
      ...(privateKey ? { privateKey } : {}),
      ...(spec.passphrase !== undefined ? { passphrase: spec.passphrase } : {}),
      ...(spec.password !== undefined ? { password: spec.password } : {}),
      ...(spec.agent !== undefined ? { agent: spec.agent } : {}),
    };
    const client = new Client();
    try {
      await new Promise<void>((resolve, reject) => {
        client.once('ready', resolve).once('error', reject).connect(config);
      });
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((e, s) => (e ? reject(e) : resolve(s))));
      // later errors of the connection surface on the requests in flight
      client.on('error', () => undefined);
      return { client, sftp };
    } catch (e) {
      client.end();
      throw this.connectFailure(e);
    }
  }

  private connectFailure(e: unknown): Error {
    const spec = this.spec;
    const where = `remote '${spec.name}' (${this.display})`;
    if (this.hostCheck !== undefined && this.hostCheck !== 'known') {
      const what = { unknown: 'is not in', changed: 'does not match the key listed in', revoked: 'is revoked in' }[this.hostCheck];
      return new ReprodError('REMOTE_AUTH', `${where}: the server's host key ${what} ${spec.knownHosts}`, {
        remedy:
          this.hostCheck === 'unknown'
            ? `Check the server's key fingerprint, then add it: \`ssh-keyscan -p ${spec.port} ${spec.host} >> ${spec.knownHosts}\` (or point REPROD_SSH_KNOWN_HOSTS at a known_hosts file that lists ${knownHostsName(spec.host, spec.port)}).`
            : 'The server is not the one known: find out why its key changed before trusting it, then fix the known_hosts entry.',
      });
    }
    if (levelOf(e) === 'client-authentication') {
      return new ReprodError('REMOTE_AUTH', `${where} refused the credentials (from ${spec.credentialSource}) for user '${spec.user}'`, {
        remedy: `Check the key or password: \`reprod remote modify ${spec.name} keyfile <path>\`, \`reprod remote modify --local ${spec.name} password …\`, and that the key is in the server's authorized_keys.`,
      });
    }
    const code = codeOf(e);
    if (typeof code === 'string' && NETWORK_ERRORS.has(code)) return new RemoteUnreachable(`cannot reach ${this.display} (${code})`);
    if (e instanceof ReprodError) return e;
    return new ReprodError('REMOTE', `${where}: ${errorMessage(e)}`, { cause: e });
  }

  private failure(e: unknown, op: string, key?: string): Error {
    if (e instanceof ReprodError || e instanceof RemoteUnreachable) return e;
    const code = codeOf(e);
    if (typeof code === 'string' && NETWORK_ERRORS.has(code)) return new RemoteUnreachable(`${op}: cannot reach ${this.display} (${code})`);
    if (code === SFTP_PERMISSION_DENIED) return new ReprodError('REMOTE', `remote '${this.spec.name}': permission denied ${op} ${key ?? ''} on ${this.display}`, { cause: e });
    return new Error(`${op}${key ? ` ${key}` : ''}: ${errorMessage(e)}`);
  }

  private fatal(e: unknown, op: string): Error {
    const f = this.failure(e, op);
    // a remote that does not answer a query the whole command needs stops it, as any other failure of one
    return f instanceof ReprodError ? f : new ReprodError('REMOTE', `remote '${this.spec.name}': ${f.message}`, { cause: f });
  }

  private async size(sftp: SFTPWrapper, key: string): Promise<number | undefined> {
    return new Promise((resolve, reject) =>
      sftp.stat(this.full(key), (e, st) => {
        if (e) return noSuchFile(e) ? resolve(undefined) : reject(e);
        resolve(st.isFile() ? st.size : undefined);
      }),
    );
  }

  async existing(keys: readonly string[], opts: { jobs: number; signal?: AbortSignal }): Promise<Map<string, number>> {
    try {
      const sftp = await this.sftp();
      const sizes = await mapLimit(keys, opts.jobs, (k) => this.size(sftp, k));
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

  async *list(prefix: string): AsyncIterable<string> {
    let sftp: SFTPWrapper;
    try {
      sftp = await this.sftp();
    } catch (e) {
      throw this.fatal(e, `listing ${prefix}`);
    }
    const pending = [prefix.replace(/\/+$/, '')];
    while (pending.length > 0) {
      const dir = pending.shift() as string;
      const entries = await new Promise<{ filename: string; attrs: { isDirectory(): boolean; isFile(): boolean } }[]>((resolve, reject) =>
        sftp.readdir(this.full(dir), (e, list) => (e ? (noSuchFile(e) ? resolve([]) : reject(this.fatal(e, `listing ${dir}`))) : resolve(list))),
      );
      for (const e of entries.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0))) {
        const key = dir === '' ? e.filename : `${dir}/${e.filename}`;
        if (e.attrs.isDirectory()) pending.push(key);
        else if (e.attrs.isFile() && !e.filename.endsWith('.tmp')) yield key;
      }
    }
  }

  private async mkdirs(sftp: SFTPWrapper, dir: string): Promise<void> {
    if (dir === '/' || this.folders.has(dir)) return;
    await this.mkdirs(sftp, path.posix.dirname(dir));
    await new Promise<void>((resolve, reject) =>
      sftp.mkdir(dir, (e) => {
        if (!e) return resolve();
        // it may exist already (made by a parallel transfer, or before)
        sftp.stat(dir, (e2, st) => (!e2 && st.isDirectory() ? resolve() : reject(e)));
      }),
    );
    this.folders.add(dir);
  }

  async put(key: string, file: string, size: number, opts: TransferOptions = {}): Promise<void> {
    const target = this.full(key);
    const temp = `${target}.${randomUUID()}.tmp`;
    let sftp: SFTPWrapper | undefined;
    try {
      sftp = await this.sftp();
      await this.mkdirs(sftp, path.posix.dirname(target));
      const s = sftp;
      let sent = 0;
      await new Promise<void>((resolve, reject) =>
        s.fastPut(file, temp, { step: (total) => void (opts.onBytes?.(total - sent), (sent = total)) }, (e) => (e ? reject(e) : resolve())),
      );
      if (sent < size) opts.onBytes?.(size - sent);
      await new Promise<void>((resolve, reject) => s.ext_openssh_rename(temp, target, (e) => (e ? reject(e) : resolve())));
    } catch (e) {
      if (sftp) sftp.unlink(temp, () => undefined);
      throw this.failure(e, 'uploading', key);
    }
  }

  async get(key: string, dest: string, opts: TransferOptions = {}): Promise<Downloaded | null> {
    try {
      const sftp = await this.sftp();
      if ((await this.size(sftp, key)) === undefined) return null;
      return await writeHashed(sftp.createReadStream(this.full(key)), dest, opts);
    } catch (e) {
      if (noSuchFile(e)) return null;
      throw this.failure(e, 'downloading', key);
    }
  }

  async read(key: string): Promise<Uint8Array | null> {
    try {
      const sftp = await this.sftp();
      return await new Promise<Uint8Array | null>((resolve, reject) => sftp.readFile(this.full(key), (e, data) => (e ? (noSuchFile(e) ? resolve(null) : reject(e)) : resolve(data))));
    } catch (e) {
      throw this.failure(e, 'reading', key);
    }
  }

  async delete(keys: readonly string[], opts: { jobs?: number } = {}): Promise<void> {
    const sftp = await this.sftp().catch((e: unknown) => Promise.reject(this.fatal(e, 'deleting')));
    await mapLimit(keys, opts.jobs ?? 16, (k) =>
      new Promise<void>((resolve, reject) => sftp.unlink(this.full(k), (e) => (!e || noSuchFile(e) ? resolve() : reject(this.failure(e, 'deleting', k))))),
    );
  }

  close(): void {
    void this.session?.then((s) => s.client.end()).catch(() => undefined);
  }
}
