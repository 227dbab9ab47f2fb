import path from 'node:path';
import { ReprodError } from '../core/errors.js';

/**
 * An `ssh://[user@]host[:port]/path` remote over SFTP, with DVC's keys:
 * `user`, `port`, `keyfile` (with `passphrase`), `password`, `timeout`,
 * `allow_agent`. The server's key must be in the known-hosts file
 * (`REPROD_SSH_KNOWN_HOSTS`, else `~/.ssh/known_hosts`), as DVC's ssh
 * client (asyncssh) requires by default.
 */
export interface SshRemoteSpec {
  kind: 'ssh';
  name: string;
  url: string;
  host: string;
  port: number;
  user: string;
  /** Absolute folder on the server (`/` for the root). */
  root: string;
  /** A private key's path (the key is read when connecting); undefined: the agent or a password. */
  keyfile?: string;
  passphrase?: string;
  password?: string;
  /** `ask_password` with no password stored: asked for on the terminal before connecting (see ask-password.ts). */
  askPassword?: { user: string };
  /** `SSH_AUTH_SOCK`, when `allow_agent` is not false. */
  agent?: string;
  knownHosts: string;
  /** Where the credentials came from, for messages (never the values). */
  credentialSource: string;
  timeoutMs: number;
  jobs?: number;
}

export interface SshConfigInput {
  name: string;
  url: string;
  get(key: string): string | undefined;
  secret(key: string): string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** Absolute `.dvc/`: a relative keyfile is relative to it, as DVC resolves paths in its config. */
  dvcDir: string;
  jobs?: number;
}

export function resolveSshRemote(input: SshConfigInput): SshRemoteSpec {
  const { name, url } = input;
  const key = (k: string) => ({ source: { file: '.dvc/config', key: `remote.${name}.${k}` } });
  const m = /^ssh:\/\/(?:([^@/]*)@)?(\[[^\]]+\]|[^:/]+)(?::(\d+))?(\/.*)?$/i.exec(url);
  if (!m) throw new ReprodError('CONFIG', `remote '${name}': cannot read the url '${url}' as ssh://[user@]host[:port]/path`, key('url'));
  const host = (m[2] as string).replace(/^\[|\]$/g, '');
  const portText = input.get('port') ?? m[3] ?? '22';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ReprodError('CONFIG', `remote '${name}': port must be 1-65535, not '${portText}'`, key('port'));
  const user = input.get('user') ?? (m[1] ? decodeURIComponent(m[1]) : undefined) ?? input.env.USER ?? input.env.LOGNAME;
  if (user === undefined) throw new ReprodError('CONFIG', `remote '${name}': no user (in the url, \`user\`, or $USER)`, key('user'));
  const root = decodeURIComponent(m[4] ?? '/').replace(/\/+$/, '') || '/';
  const rawKeyfile = input.get('keyfile');
  const keyfile = rawKeyfile === undefined ? undefined : path.resolve(input.dvcDir, rawKeyfile.replace(/^~(?=\/)/, input.env.HOME ?? '~'));
  const password = input.secret('password');
  const passphrase = input.secret('passphrase');
  const allowAgent = (input.get('allow_agent') ?? 'true').toLowerCase() !== 'false';
  const agent = allowAgent ? input.env.SSH_AUTH_SOCK : undefined;
  const askPassword = password === undefined && (input.get('ask_password') ?? '').toLowerCase() === 'true';
  const sources = [keyfile !== undefined ? `keyfile ${rawKeyfile}` : undefined, password !== undefined ? 'password in .dvc/config.local' : undefined, askPassword ? 'password asked on the terminal' : undefined, agent ? 'ssh-agent' : undefined].filter(
    (s): s is string => s !== undefined,
  );
  if (sources.length === 0) {
    throw new ReprodError('CONFIG', `remote '${name}': no credentials: no keyfile, no password in .dvc/config.local, no ssh-agent`, {
      ...key('keyfile'),
      remedy: `Point it at a private key: \`reprod remote modify ${name} keyfile ~/.ssh/id_ed25519\` (or set a password with \`reprod remote modify --local ${name} password …\`).`,
    });
  }
  const timeout = Number(input.get('timeout') ?? '30');
  const home = input.env.HOME;
  const knownHosts = input.env.REPROD_SSH_KNOWN_HOSTS ?? (home ? path.join(home, '.ssh', 'known_hosts') : '/nonexistent/known_hosts');
  return {
    kind: 'ssh',
    name,
    url,
    host,
    port,
    user,
    root,
    ...(keyfile !== undefined ? { keyfile } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(askPassword ? { askPassword: { user } } : {}),
    ...(agent ? { agent } : {}),
    knownHosts,
    credentialSource: sources.join(', '),
    timeoutMs: (Number.isFinite(timeout) && timeout > 0 ? timeout : 30) * 1000,
    ...(input.jobs !== undefined ? { jobs: input.jobs } : {}),
  };
}
