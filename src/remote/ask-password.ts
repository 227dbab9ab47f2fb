import { ReprodError } from '../core/errors.js';
import type { PasswordPrompt } from '../core/ports.js';
import type { RemoteSpec } from './remote-config.js';

export type { PasswordPrompt } from '../core/ports.js';

function hostOf(spec: RemoteSpec): string {
  if (spec.kind === 'ssh') return spec.port === 22 ? spec.host : `${spec.host}:${spec.port}`;
  if (spec.kind === 'http') return new URL(spec.base).host;
  return spec.name;
}

/**
 * A remote with `ask_password = true` and no stored password (HTTP, WebDAV,
 * SSH), as DVC: the password is asked for on the terminal, once per command
 * and remote, and used for this command only. Without a terminal, the
 * command stops with an error that names the remote and says how to store
 * the password instead. Other specs are returned as they are.
 */
export async function withAskedPassword(spec: RemoteSpec, prompt: PasswordPrompt | undefined): Promise<RemoteSpec> {
  if ((spec.kind !== 'http' && spec.kind !== 'ssh') || spec.askPassword === undefined) return spec;
  const user = spec.askPassword.user;
  if (prompt === undefined) {
    throw new ReprodError('REMOTE_AUTH', `remote '${spec.name}': ask_password is set, and the password cannot be asked for here (no terminal, or an unattended run)`, {
      source: { file: '.dvc/config', key: `remote.${spec.name}.ask_password` },
      remedy: `Store the password for this machine instead: \`reprod remote modify --local ${spec.name} password …\` (kept in .dvc/config.local, never committed), or run the command on a terminal.`,
    });
  }
  const password = await prompt(`Password for ${user !== undefined && user !== '' ? `'${user}' at ` : ''}${hostOf(spec)} (remote '${spec.name}'): `);
  const rest = { ...spec };
  delete rest.askPassword;
  if (rest.kind === 'ssh') return { ...rest, password };
  const auth = rest.auth;
  if (auth === undefined) return rest;
  return { ...rest, auth: auth.kind === 'header' ? { ...auth, value: password } : { ...auth, password } };
}
