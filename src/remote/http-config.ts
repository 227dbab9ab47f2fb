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
  /** How requests are authenticated; never printed. */
  auth?: HttpAuth;
  /**
   * `ask_password` with no password stored: the password is asked for on the
   * terminal before the remote is opened (see ask-password.ts), and goes in `auth`.
   */
  askPassword?: { user?: string };
  /** Where the credentials came from, for messages (never the values). */
  credentialSource: '.dvc/config.local' | 'the url' | 'the terminal' | 'none configured';
  /** false: any certificate (`ssl_verify = false`); a string: a CA bundle's path. */
  sslVerify: boolean | string;
  jobs?: number;
}

/**
 * `basic`: user and password in every request. `digest`: RFC 7616 digest
 * access authentication, answering the server's challenge. `header`: a
 * header of its own (`auth = custom`'s `custom_auth_header`, or WebDAV's
 * bearer `token`).
 */
export type HttpAuth = { kind: 'basic' | 'digest'; user: string; password: string } | { kind: 'header'; name: string; value: string };

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
  const ask = password === undefined && bool(input.get('ask_password')) === true;
  let auth: HttpAuth | undefined;
  const token = input.secret('token');
  const kind = input.get('auth')?.toLowerCase() ?? (dav || user !== undefined || ask ? 'basic' : undefined);
  if (dav && token !== undefined) {
    auth = { kind: 'header', name: 'authorization', value: `Bearer ${token}` };
    source = '.dvc/config.local';
  } else if ((kind === 'basic' || kind === 'digest') && (user !== undefined || password !== undefined || ask)) {
    auth = { kind, user: user ?? '', password: password ?? '' };
  } else if (kind === 'digest') {
    throw new ReprodError('CONFIG', `remote '${name}': auth = digest needs a user and a password`, {
      source: { file: '.dvc/config', key: `remote.${name}.user` },
      remedy: `Set them: \`reprod remote modify --local ${name} user …\` and \`reprod remote modify --local ${name} password …\` (or ask_password = true).`,
    });
  } else if (kind === 'custom') {
    const header = input.get('custom_auth_header');
    if (header === undefined || (password === undefined && !ask)) {
      throw new ReprodError('CONFIG', `remote '${name}': auth = custom needs custom_auth_header and password`, {
        source: { file: '.dvc/config', key: `remote.${name}.custom_auth_header` },
        remedy: `Set the header's name with \`reprod remote modify ${name} custom_auth_header <name>\` and its value with \`reprod remote modify --local ${name} password …\`.`,
      });
    }
    auth = { kind: 'header', name: header.toLowerCase(), value: password ?? '' };
  } else if (kind !== undefined && kind !== 'basic') {
    throw new ReprodError('CONFIG', `remote '${name}': auth = ${kind} is not supported by reprod`, {
      source: { file: '.dvc/config', key: `remote.${name}.auth` },
      remedy: 'Use auth = basic or digest (user and password), or custom (custom_auth_header and password).',
    });
  }
  const askPassword = ask && auth !== undefined && !(auth.kind === 'header' && token !== undefined);
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
    ...(auth ? { auth } : {}),
    ...(askPassword ? { askPassword: user !== undefined ? { user } : {} } : {}),
    credentialSource: askPassword ? 'the terminal' : auth ? source : 'none configured',
    sslVerify,
    ...(input.jobs !== undefined ? { jobs: input.jobs } : {}),
  };
}
