import { ReprodError } from '../core/errors.js';

/**
 * The keys DVC 3's config schema (dvc/config_schema.py) accepts, with the
 * type it checks, so that `reprod remote modify` and `reprod config` refuse
 * what real DVC would refuse to read afterwards. Remote keys depend on the
 * remote's URL scheme, as in DVC's `ByUrl`.
 */
export type KeyType = 'str' | 'bool' | 'int' | 'posint' | 'float' | 'bool-or-path' | 'cache-type';

type Keys = Readonly<Record<string, KeyType>>;

const REMOTE_COMMON: Keys = { url: 'str', checksum_jobs: 'posint', jobs: 'posint', worktree: 'bool', no_traverse: 'bool', version_aware: 'bool' };
const LOCAL_COMMON: Keys = { type: 'cache-type', protected: 'bool', shared: 'str', slow_link_warning: 'bool', verify: 'bool' };
const HTTP_COMMON: Keys = {
  auth: 'str',
  custom_auth_header: 'str',
  user: 'str',
  password: 'str',
  ask_password: 'bool',
  ssl_verify: 'bool-or-path',
  method: 'str',
  connect_timeout: 'float',
  read_timeout: 'float',
  verify: 'bool',
};
const WEBDAV_COMMON: Keys = {
  user: 'str',
  password: 'str',
  ask_password: 'bool',
  token: 'str',
  bearer_token_command: 'str',
  custom_auth_header: 'str',
  cert_path: 'str',
  key_path: 'str',
  timeout: 'int',
  ssl_verify: 'bool-or-path',
  verify: 'bool',
};

const REMOTE_SCHEMAS: Readonly<Record<string, Keys>> = {
  '': { ...LOCAL_COMMON, ...REMOTE_COMMON },
  s3: {
    ...Object.fromEntries(
      [
        'region', 'profile', 'credentialpath', 'configpath', 'endpointurl', 'access_key_id', 'secret_access_key', 'session_token', 'sse', 'sse_kms_key_id',
        'sse_customer_algorithm', 'sse_customer_key', 'acl', 'grant_read', 'grant_read_acp', 'grant_write_acp', 'grant_full_control', 'multipart_threshold',
        'multipart_chunksize',
      ].map((k) => [k, 'str' as const]),
    ),
    listobjects: 'bool',
    use_ssl: 'bool',
    allow_anonymous_login: 'bool',
    ssl_verify: 'bool-or-path',
    cache_regions: 'bool',
    read_timeout: 'int',
    connect_timeout: 'int',
    max_concurrent_requests: 'int',
    max_queue_size: 'int',
    verify: 'bool',
    ...REMOTE_COMMON,
  },
  gs: { projectname: 'str', credentialpath: 'str', endpointurl: 'str', verify: 'bool', allow_anonymous_login: 'bool', ...REMOTE_COMMON },
  ssh: {
    type: 'cache-type',
    port: 'int',
    user: 'str',
    password: 'str',
    ask_password: 'bool',
    passphrase: 'str',
    ask_passphrase: 'bool',
    keyfile: 'str',
    timeout: 'int',
    gss_auth: 'bool',
    allow_agent: 'bool',
    max_sessions: 'int',
    verify: 'bool',
    ...REMOTE_COMMON,
  },
  hdfs: { user: 'str', kerb_ticket: 'str', replication: 'int', ...REMOTE_COMMON },
  webhdfs: {
    kerberos: 'bool',
    kerberos_principal: 'str',
    proxy_to: 'str',
    ssl_verify: 'bool-or-path',
    token: 'str',
    use_https: 'bool',
    user: 'str',
    password: 'str',
    data_proxy_target: 'str',
    verify: 'bool',
    ...REMOTE_COMMON,
  },
  azure: {
    ...Object.fromEntries(['connection_string', 'sas_token', 'account_name', 'account_key', 'tenant_id', 'client_id', 'client_secret'].map((k) => [k, 'str' as const])),
    allow_anonymous_login: 'bool',
    exclude_environment_credential: 'bool',
    exclude_visual_studio_code_credential: 'bool',
    exclude_shared_token_cache_credential: 'bool',
    exclude_managed_identity_credential: 'bool',
    verify: 'bool',
    timeout: 'int',
    read_timeout: 'int',
    connection_timeout: 'int',
    ...REMOTE_COMMON,
  },
  oss: { oss_key_id: 'str', oss_key_secret: 'str', oss_endpoint: 'str', verify: 'bool', ...REMOTE_COMMON },
  gdrive: {
    profile: 'str',
    gdrive_use_service_account: 'bool',
    gdrive_client_id: 'str',
    gdrive_client_secret: 'str',
    gdrive_user_credentials_file: 'str',
    gdrive_service_account_user_email: 'str',
    gdrive_service_account_json_file_path: 'str',
    gdrive_trash_only: 'bool',
    gdrive_acknowledge_abuse: 'bool',
    verify: 'bool',
    ...REMOTE_COMMON,
  },
  http: { ...HTTP_COMMON, ...REMOTE_COMMON },
  https: { ...HTTP_COMMON, ...REMOTE_COMMON },
  webdav: { ...WEBDAV_COMMON, ...REMOTE_COMMON },
  webdavs: { ...WEBDAV_COMMON, ...REMOTE_COMMON },
};

/** The plain (unnamed) sections and their keys; deprecated markers are left out. */
const SECTIONS: Readonly<Record<string, Keys>> = {
  core: {
    remote: 'str',
    checksum_jobs: 'posint',
    interactive: 'bool',
    analytics: 'bool',
    hardlink_lock: 'bool',
    no_scm: 'bool',
    autostage: 'bool',
    check_update: 'bool',
    site_cache_dir: 'str',
    machine: 'str',
  },
  cache: { dir: 'str', ...LOCAL_COMMON },
  state: {},
  index: {},
  feature: { machine: 'bool' },
  plots: { html_template: 'str', auto_open: 'bool', out_dir: 'str' },
  exp: { auto_push: 'bool', git_remote: 'str' },
  parsing: { bool: 'str', list: 'str' },
  hydra: { enabled: 'bool', config_dir: 'str', config_module: 'str', config_name: 'str', plugins_path: 'str' },
  studio: { token: 'str', url: 'str', repo_url: 'str', offline: 'bool' },
};

/**
 * Keys whose values are secrets: they belong in `.dvc/config.local` (never
 * the committed `.dvc/config`) and are never printed.
 */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  'password',
  'access_key_id',
  'secret_access_key',
  'session_token',
  'sse_customer_key',
  'account_key',
  'sas_token',
  'connection_string',
  'client_secret',
  'token',
  'passphrase',
  'gdrive_client_secret',
  'oss_key_secret',
]);

/** `user:password@` in a URL is a secret too. */
export function urlHasPassword(url: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/@]*:[^/@]*@/.test(url);
}

/** The URL's scheme as DVC's `ByUrl` sees it: '' for a path (no `scheme://host`). */
export function urlScheme(url: string): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/]*)/.exec(url);
  if (!m || m[2] === '') return '';
  return (m[1] as string).toLowerCase();
}

function checkType(type: KeyType, value: string, where: string, file: string): void {
  const l = value.toLowerCase();
  const bad = (what: string) =>
    new ReprodError('CONFIG', `${where}: expected ${what}, not '${value}'`, { source: { file, key: where }, remedy: `Give ${where} ${what}.` });
  switch (type) {
    case 'bool':
      if (l !== 'true' && l !== 'false') throw bad('true or false');
      return;
    case 'int':
      if (!/^[+-]?\d+$/.test(value.trim())) throw bad('a whole number');
      return;
    case 'posint':
      if (!/^\+?\d+$/.test(value.trim()) || Number(value) < 1) throw bad('a whole number of at least 1');
      return;
    case 'float':
      if (value.trim() === '' || !Number.isFinite(Number(value)) || Number(value) < 0) throw bad('a number of at least 0');
      return;
    case 'cache-type': {
      const unknown = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => !['reflink', 'hardlink', 'symlink', 'copy'].includes(t));
      if (unknown.length > 0) throw bad('reflink, hardlink, symlink or copy (comma-separated)');
      return;
    }
    case 'str':
    case 'bool-or-path':
      return;
  }
}

/**
 * Checks `remote.<name>.<key> = value` for a remote whose URL is `url`;
 * the error names the remote, the key and the file being written.
 */
export function checkRemoteKey(name: string, url: string | undefined, key: string, value: string, file: string): void {
  const where = `remote.${name}.${key}`;
  if (url === undefined) {
    throw new ReprodError('CONFIG', `remote '${name}' has no url`, { source: { file, key: `remote.${name}.url` }, remedy: `Set it: \`reprod remote modify ${name} url <url>\`.` });
  }
  const scheme = urlScheme(url);
  const keys = REMOTE_SCHEMAS[scheme];
  if (keys === undefined) {
    throw new ReprodError('CONFIG', `remote '${name}': unsupported URL type ${scheme}://`, {
      source: { file, key: `remote.${name}.url` },
      remedy: 'Use a URL scheme DVC knows: a path, s3, gs, azure, ssh, http(s), webdav(s), hdfs, webhdfs, oss or gdrive.',
    });
  }
  const type = keys[key];
  if (type === undefined) {
    throw new ReprodError('CONFIG', `remote '${name}': '${key}' is not an option of ${scheme === '' ? 'local' : `${scheme}://`} remotes`, {
      source: { file, key: where },
      remedy: `Use one of: ${Object.keys(keys).sort().join(', ')}.`,
    });
  }
  checkType(type, value, where, file);
}

/** Checks `<section>.<key> = value` for a plain section (core, cache, …). */
export function checkSectionKey(section: string, key: string, value: string, file: string): void {
  const keys = SECTIONS[section];
  const where = `${section}.${key}`;
  if (keys === undefined) {
    throw new ReprodError('CONFIG', `'${section}' is not a section of DVC's config`, {
      source: { file, key: where },
      remedy: `Use one of: ${[...Object.keys(SECTIONS), 'remote'].sort().join(', ')}.`,
    });
  }
  const type = keys[key];
  if (type === undefined) {
    throw new ReprodError('CONFIG', `'${key}' is not an option of the ${section} section`, {
      source: { file, key: where },
      remedy: Object.keys(keys).length ? `Use one of: ${Object.keys(keys).sort().join(', ')}.` : 'This section has no options left in DVC 3.',
    });
  }
  checkType(type, value, where, file);
}
