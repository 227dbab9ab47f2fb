import type { DvcConfig, DvcConfigFiles } from '../core/dvc-config.js';
import { Redactor } from '../core/redact.js';

/**
 * The secrets reprod knows of, for redacting stages' logs (a stage that
 * prints its environment, or a library that echoes its config, must not put
 * them in status/logs/ or on the terminal):
 *
 *   environment   MLFLOW_TRACKING_PASSWORD, MLFLOW_TRACKING_TOKEN, the password of
 *                 MLFLOW_TRACKING_URI's login, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   DVC config    in `remote "…"` sections of .dvc/config.local and .dvc/config: every
 *                 option whose name says secret (password, passphrase, secret, token,
 *                 account_key, connection_string), and the password of a URL's login
 */

const SECRET_VARIABLES = ['MLFLOW_TRACKING_PASSWORD', 'MLFLOW_TRACKING_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];
const SECRET_OPTION = /password|passphrase|secret|token|account_key|connection_string/i;

/** The password of `user:password@` in a URL; undefined when there is none. */
function loginPassword(value: string): string | undefined {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*:([^/?#@]*)@/.exec(value.trim());
  if (!m?.[1]) return undefined;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    // a malformed escape: the password is what the URL says, as written
    return m[1];
  }
}

function configSecrets(config: DvcConfig): string[] {
  const out: string[] = [];
  for (const [section, options] of config) {
    if (!/^remote\s/.test(section)) continue;
    for (const [key, value] of options) {
      // `ask_password`, `ask_passphrase` are switches, not secrets
      if (SECRET_OPTION.test(key) && !key.startsWith('ask_')) out.push(value);
      const pass = loginPassword(value);
      if (pass) out.push(pass);
    }
  }
  return out;
}

/** Every known secret value (empty ones left out). */
export function knownSecrets(env: Readonly<Record<string, string | undefined>>, dvc: DvcConfigFiles): string[] {
  const values = SECRET_VARIABLES.map((k) => env[k]);
  values.push(loginPassword(env['MLFLOW_TRACKING_URI'] ?? ''));
  values.push(...configSecrets(dvc.local), ...configSecrets(dvc.config));
  return [...new Set(values.filter((v): v is string => v !== undefined && v !== ''))];
}

/** The redactor of stage logs: every known secret, and MLflow's basic login as a header carries it. */
export function stageLogRedactor(env: Readonly<Record<string, string | undefined>>, dvc: DvcConfigFiles): Redactor {
  const username = env['MLFLOW_TRACKING_USERNAME'] ?? '';
  const password = env['MLFLOW_TRACKING_PASSWORD'] ?? '';
  return new Redactor(knownSecrets(env, dvc), username && password ? { username, password } : undefined);
}
