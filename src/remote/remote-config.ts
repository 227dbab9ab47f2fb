import path from 'node:path';
import type { DvcConfig } from '../core/dvc-config.js';
import { ReprodError } from '../core/errors.js';
import { SECRET_KEYS as ALL_SECRET_KEYS } from './config-schema.js';
import { resolveHttpRemote, type HttpRemoteSpec } from './http-config.js';
import { resolveSshRemote, type SshRemoteSpec } from './ssh-config.js';
import { resolveAzureRemote, type AzureRemoteSpec } from './azure-config.js';
import { resolveGsRemote, type GsRemoteSpec } from './gs-config.js';

export interface LocalRemoteSpec {
  kind: 'local';
  name: string;
  /** The URL as configured (for messages). */
  url: string;
  /** Absolute folder. */
  path: string;
  jobs?: number;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3RemoteSpec {
  kind: 's3';
  name: string;
  url: string;
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing `/` ('' for the bucket's root). */
  prefix: string;
  /** Any S3-compatible endpoint (`endpointurl`); undefined for AWS itself. */
  endpoint?: string;
  region: string;
  /** Undefined: the SDK's default chain (profile, ~/.aws/credentials, instance roles). */
  credentials?: S3Credentials;
  /** Where the credentials came from, for messages (never the values). */
  credentialSource: '.dvc/config.local' | 'environment' | 'default chain' | `profile '${string}' (${'.dvc/config' | 'AWS_PROFILE'})`;
  /** A named profile of the AWS config files: `profile` in the config, else AWS_PROFILE (which the SDK reads itself). */
  profile?: string;
  jobs?: number;
  /** false: accept any TLS certificate (DVC's `ssl_verify = false`). */
  sslVerify: boolean;
  acl?: string;
  sse?: string;
  sseKmsKeyId?: string;
}

export type RemoteSpec = LocalRemoteSpec | S3RemoteSpec | HttpRemoteSpec | SshRemoteSpec | AzureRemoteSpec | GsRemoteSpec;
export type { GsRemoteSpec } from './gs-config.js';
export type { AzureRemoteSpec } from './azure-config.js';
export type { HttpRemoteSpec } from './http-config.js';
export type { SshRemoteSpec } from './ssh-config.js';

export interface RemoteConfigInput {
  /** `.dvc/config` (shared, committed). */
  config: DvcConfig;
  /** `.dvc/config.local` (this machine: secrets). */
  local: DvcConfig;
  env: Readonly<Record<string, string | undefined>>;
  /** Absolute path of `.dvc/`: relative local remote paths are resolved against it, as DVC does. */
  dvcDir: string;
}

/** Keys that hold secrets: read only from `.dvc/config.local` (or the environment). */
const SECRET_KEYS = [...ALL_SECRET_KEYS];

function sectionName(name: string): string {
  return `remote "${name}"`;
}

/** Every remote configured, in the order of the files. */
function remoteNames(input: RemoteConfigInput): string[] {
  const names: string[] = [];
  for (const cfg of [input.config, input.local]) {
    for (const key of cfg.keys()) {
      const m = /^remote\s+"(.*)"$/.exec(key);
      if (m && !names.includes(m[1] as string)) names.push(m[1] as string);
    }
  }
  return names;
}

/** `core.remote` (config.local overrides config), or undefined. */
export function defaultRemoteName(input: RemoteConfigInput): string | undefined {
  const v = input.local.get('core')?.get('remote') ?? input.config.get('core')?.get('remote');
  return v === undefined || v === '' ? undefined : v;
}

function parseBool(v: string | undefined, key: string, name: string): boolean | undefined {
  if (v === undefined) return undefined;
  const l = v.toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(l)) return true;
  if (['false', 'no', '0', 'off'].includes(l)) return false;
  throw new ReprodError('CONFIG', `remote '${name}': ${key} must be true or false, not '${v}'`, { source: { file: '.dvc/config', key: `remote.${name}.${key}` } });
}

function parseJobs(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new ReprodError('CONFIG', `remote '${name}': jobs must be a positive whole number, not '${v}'`, { source: { file: '.dvc/config', key: `remote.${name}.jobs` } });
  }
  return n;
}

/**
 * The remote to use: `name` (from `-r`), else `core.remote`. Settings are
 * `.dvc/config` overridden key by key by `.dvc/config.local`. Credentials
 * come from `.dvc/config.local`, else `AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`), else the SDK's default
 * chain; a credential written in the shared `.dvc/config` is refused, since
 * that file is committed. The endpoint and region fall back to
 * `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` and `AWS_REGION` /
 * `AWS_DEFAULT_REGION`; the region defaults to `us-east-1`.
 */
export function resolveRemote(input: RemoteConfigInput, name?: string): RemoteSpec {
  const chosen = name ?? defaultRemoteName(input);
  if (chosen === undefined) {
    throw new ReprodError('NO_REMOTE', 'no remote given and no default remote set (core.remote in .dvc/config)');
  }
  const shared = input.config.get(sectionName(chosen));
  const mine = input.local.get(sectionName(chosen));
  if (!shared && !mine) {
    const known = remoteNames(input);
    throw new ReprodError('NO_REMOTE', `remote '${chosen}' is not configured${known.length ? ` (configured: ${known.join(', ')})` : ''}`);
  }
  for (const k of SECRET_KEYS) {
    if (shared?.has(k)) {
      throw new ReprodError('CONFIG', `remote '${chosen}': ${k} is set in .dvc/config, which is shared and committed`, {
        source: { file: '.dvc/config', key: `remote.${chosen}.${k}` },
        remedy: `Move it to .dvc/config.local (\`reprod remote modify --local ${chosen} ${k} …\`), remove it from .dvc/config, and revoke the exposed credential.`,
      });
    }
  }
  const get = (k: string): string | undefined => {
    const v = mine?.get(k) ?? shared?.get(k);
    return v === undefined || v === '' ? undefined : v;
  };
  const url = get('url');
  if (url === undefined) {
    throw new ReprodError('CONFIG', `remote '${chosen}' has no url`, { source: { file: '.dvc/config', key: `remote.${chosen}.url` } });
  }
  const jobs = parseJobs(get('jobs'), chosen);
  for (const k of ['version_aware', 'worktree']) {
    if (parseBool(get(k), k, chosen)) {
      throw new ReprodError('CONFIG', `remote '${chosen}': ${k} remotes are not supported by reprod`, {
        source: { file: '.dvc/config', key: `remote.${chosen}.${k}` },
        remedy: 'Use real DVC for cloud-versioned remotes, or turn the option off.',
      });
    }
  }

  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'file') {
    const raw = scheme === 'file' ? decodeURIComponent(url.slice('file://'.length)) : url;
    if (raw === '') throw new ReprodError('CONFIG', `remote '${chosen}': empty path in url`);
    return { kind: 'local', name: chosen, url, path: path.resolve(input.dvcDir, raw), ...(jobs !== undefined ? { jobs } : {}) };
  }
  /** A secret: from `.dvc/config.local` only. */
  const localSecret = (k: string) => {
    const v = mine?.get(k);
    return v === undefined || v === '' ? undefined : v;
  };
  if (scheme === 'http' || scheme === 'https' || scheme === 'webdav' || scheme === 'webdavs') {
    return resolveHttpRemote({ name: chosen, url, scheme, get, secret: localSecret, ...(jobs !== undefined ? { jobs } : {}) });
  }
  if (scheme === 'ssh') return resolveSshRemote({ name: chosen, url, get, secret: localSecret, env: input.env, dvcDir: input.dvcDir, ...(jobs !== undefined ? { jobs } : {}) });
  if (scheme === 'azure') return resolveAzureRemote({ name: chosen, url, get, secret: localSecret, env: input.env, ...(jobs !== undefined ? { jobs } : {}) });
  if (scheme === 'gs') return resolveGsRemote({ name: chosen, url, get, env: input.env, dvcDir: input.dvcDir, ...(jobs !== undefined ? { jobs } : {}) });
  if (scheme !== 's3') {
    throw new ReprodError('CONFIG', `remote '${chosen}': ${scheme}:// remotes are not supported by reprod (local folders, s3://, gs://, http(s)://, webdav(s)://, ssh:// and azure://)`, {
      source: { file: '.dvc/config', key: `remote.${chosen}.url` },
      remedy: 'Use an S3-compatible endpoint (for DagsHub, see docs/REMOTES.md), an HTTP or WebDAV server, or a local folder.',
    });
  }
  const rest = url.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (bucket === '') throw new ReprodError('CONFIG', `remote '${chosen}': no bucket in url '${url}'`);

  const env = input.env;
  const envStr = (k: string) => (env[k] === undefined || env[k] === '' ? undefined : env[k]);
  let credentials: S3Credentials | undefined;
  let credentialSource: S3RemoteSpec['credentialSource'] = 'default chain';
  const keyId = mine?.get('access_key_id');
  const secret = mine?.get('secret_access_key');
  if (keyId !== undefined || secret !== undefined) {
    if (!keyId || !secret) {
      throw new ReprodError('CONFIG', `remote '${chosen}': .dvc/config.local sets only one of access_key_id and secret_access_key`, {
        source: { file: '.dvc/config.local', key: `remote.${chosen}` },
        remedy: `Set both: \`reprod remote modify --local ${chosen} access_key_id …\` and \`… secret_access_key …\` (for DagsHub, the token for both).`,
      });
    }
    const token = mine?.get('session_token');
    credentials = { accessKeyId: keyId, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) };
    credentialSource = '.dvc/config.local';
  } else if (get('profile') !== undefined) {
    // a profile named in the config is used as named, as botocore (and so DVC) uses it: the environment's keys do not override it
    credentialSource = `profile '${get('profile') as string}' (.dvc/config)`;
  } else if (envStr('AWS_ACCESS_KEY_ID') && envStr('AWS_SECRET_ACCESS_KEY')) {
    const token = envStr('AWS_SESSION_TOKEN');
    credentials = {
      accessKeyId: envStr('AWS_ACCESS_KEY_ID') as string,
      secretAccessKey: envStr('AWS_SECRET_ACCESS_KEY') as string,
      ...(token ? { sessionToken: token } : {}),
    };
    credentialSource = 'environment';
  } else if (envStr('AWS_PROFILE') !== undefined) {
    credentialSource = `profile '${envStr('AWS_PROFILE') as string}' (AWS_PROFILE)`;
  }

  let endpoint = get('endpointurl') ?? envStr('AWS_ENDPOINT_URL_S3') ?? envStr('AWS_ENDPOINT_URL');
  if (endpoint !== undefined && !/^https?:\/\//i.test(endpoint)) {
    endpoint = `${parseBool(get('use_ssl'), 'use_ssl', chosen) === false ? 'http' : 'https'}://${endpoint}`;
  }
  const profile = get('profile');
  const acl = get('acl');
  const sse = get('sse');
  const sseKmsKeyId = get('sse_kms_key_id');
  return {
    kind: 's3',
    name: chosen,
    url,
    bucket,
    prefix,
    ...(endpoint !== undefined ? { endpoint: endpoint.replace(/\/+$/, '') } : {}),
    region: get('region') ?? envStr('AWS_REGION') ?? envStr('AWS_DEFAULT_REGION') ?? 'us-east-1',
    ...(credentials ? { credentials } : {}),
    credentialSource,
    ...(profile !== undefined ? { profile } : {}),
    ...(jobs !== undefined ? { jobs } : {}),
    sslVerify: parseBool(get('ssl_verify'), 'ssl_verify', chosen) ?? true,
    ...(acl !== undefined ? { acl } : {}),
    ...(sse !== undefined ? { sse } : {}),
    ...(sseKmsKeyId !== undefined ? { sseKmsKeyId } : {}),
  };
}

/** A URL fit for messages: any `user:password@` dropped. */
export function displayUrl(url: string): string {
  return url.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@]*@/, '$1');
}

/** DVC's default number of parallel transfers: 4 per CPU. */
export function defaultJobs(cpus: number): number {
  return Math.max(1, 4 * cpus);
}
