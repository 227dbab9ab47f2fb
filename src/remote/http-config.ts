import { ReprodError } from '../core/errors.js';

/**
 * An HTTP(S) or WebDAV(S) remote, with DVC's keys: for http(s)://, DVC's
 * HTTP remote (GET/HEAD to read, uploads with `method`, POST by default,
 * `auth` basic or custom); for webdav(s)://, DVC's WebDAV remote (PUT, MKCOL
 * for folders, PROPFIND to list, basic auth from `user`/`password`, or a
 * bearer `token`). DagsHub's `https://dagshub.com/<user>/<repo>.dvc` is an
 * http remote with `auth = basic`, the user name and a token as `password`.
 */
export interface HttpRemoteSpec {
  kind: 'http';
  name: string;
  url: string;
  /** WebDAV: folders are made with MKCOL and listed with PROPFIND. */
  dav: boolean;
  /** `http(s)://host/path`, no trailing `/`, no `user@`. */
  base: string;
  /** The upload method: `method` for http (POST by default, as DVC), PUT for WebDAV. */
  method: string;
  /** The Authorization (or custom) header; never printed. */
  authHeader?: { name: string; value: string };
  /** Where the credentials came from, for messages (never the values). */
  credentialSource: '.dvc/config.local' | 'the url' | 'none configured';
  /** false: any certificate (`ssl_verify = false`); a string: a CA bundle's path. */
  sslVerify: boolean | string;
  jobs?: number;
}

export interface HttpConfigInput {
  name: string;
  url: string;
  scheme: 'http' | 'https' | 'webdav' | 'webdavs';
  /** The remote's merged settings (config.local over config). */
  get(key: string): string | undefined;
  /** Only from `.dvc/config.local`: the secrets. */
  secret(key: string): string | undefined;
  jobs?: number;
}

function bool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  const l = v.toLowerCase();
  if (['true', 'yes', '1', 'on'].includes(l)) return true;
  if (['false', 'no', '0', 'off'].includes(l)) return false;
  return undefined;
}

export function resolveHttpRemote(input: HttpConfigInput): HttpRemoteSpec {
  const { name, url, scheme } = input;
  const dav = scheme === 'webdav' || scheme === 'webdavs';
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/(?:([^/@]*)@)?(.*)$/.exec(url);
  const userInfo = m?.[1];
  const rest = (m?.[2] ?? '').replace(/\/+$/, '');
  if (rest === '' || rest.startsWith('/')) throw new ReprodError('CONFIG', `remote '${name}': no host in url`, { source: { file: '.dvc/config', key: `remote.${name}.url` } });
  const proto = scheme === 'http' || scheme === 'webdav' ? 'http' : 'https';
  const base = `${proto}://${rest}`;

  let user = input.get('user');
  let password = input.secret('password');
  let source: HttpRemoteSpec['credentialSource'] = password !== undefined ? '.dvc/config.local' : 'none configured';
  if (userInfo !== undefined) {
    const colon = userInfo.indexOf(':');
    user ??= decodeURIComponent(colon < 0 ? userInfo : userInfo.slice(0, colon));
    if (colon >= 0 && password === undefined) {
      password = decodeURIComponent(userInfo.slice(colon + 1));
      source = 'the url';
    }
  }
  if (password === undefined && bool(input.get('ask_password'))) {
    throw new ReprodError('CONFIG', `remote '${name}': ask_password is set, and reprod does not prompt for passwords`, {
      source: { file: '.dvc/config', key: `remote.${name}.ask_password` },
      remedy: `Keep the password in .dvc/config.local instead: \`reprod remote modify --local ${name} password …\`.`,
    });
  }
  let authHeader: HttpRemoteSpec['authHeader'];
  const token = input.secret('token');
  const auth = input.get('auth')?.toLowerCase() ?? (dav || user !== undefined ? 'basic' : undefined);
  if (dav && token !== undefined) {
    authHeader = { name: 'authorization', value: `Bearer ${token}` };
    source = '.dvc/config.local';
  } else if (auth === 'basic' && (user !== undefined || password !== undefined)) {
    authHeader = { name: 'authorization', value: `Basic ${Buffer.from(`${user ?? ''}:${password ?? ''}`).toString('base64')}` };
  } else if (auth === 'custom') {
    const header = input.get('custom_auth_header');
    if (header === undefined || password === undefined) {
      throw new ReprodError('CONFIG', `remote '${name}': auth = custom needs custom_auth_header and password`, {
        source: { file: '.dvc/config', key: `remote.${name}.custom_auth_header` },
        remedy: `Set the header's name with \`reprod remote modify ${name} custom_auth_header <name>\` and its value with \`reprod remote modify --local ${name} password …\`.`,
      });
    }
    authHeader = { name: header.toLowerCase(), value: password };
  } else if (auth !== undefined && auth !== 'basic') {
    throw new ReprodError('CONFIG', `remote '${name}': auth = ${auth} is not supported by reprod`, {
      source: { file: '.dvc/config', key: `remote.${name}.auth` },
      remedy: 'Use auth = basic (user and password) or custom (custom_auth_header and password).',
    });
  }
  const ssl = input.get('ssl_verify');
  const sslVerify = ssl === undefined ? true : (bool(ssl) ?? ssl);
  const method = dav ? 'PUT' : (input.get('method')?.toUpperCase() ?? 'POST');
  if (!['POST', 'PUT'].includes(method)) {
    throw new ReprodError('CONFIG', `remote '${name}': method must be POST or PUT, not '${method}'`, { source: { file: '.dvc/config', key: `remote.${name}.method` } });
  }
  return {
    kind: 'http',
    name,
    url,
    dav,
    base,
    method,
    ...(authHeader ? { authHeader } : {}),
    credentialSource: authHeader ? source : 'none configured',
    sslVerify,
    ...(input.jobs !== undefined ? { jobs: input.jobs } : {}),
  };
}
