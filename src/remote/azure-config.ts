import { ReprodError } from '../core/errors.js';

/**
 * An `azure://container/path` remote, credentials as DVC's Azure remote
 * reads them: `connection_string`, else `account_name` with `account_key`
 * or `sas_token`, each from `.dvc/config.local` or else the environment
 * (AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY,
 * AZURE_STORAGE_SAS_TOKEN); an account name alone is anonymous access
 * (`allow_anonymous_login`).
 */
export type AzureAuth =
  | { kind: 'connection-string'; connectionString: string }
  | { kind: 'shared-key'; accountName: string; accountKey: string }
  | { kind: 'sas'; accountName: string; sasToken: string }
  | { kind: 'anonymous'; accountName: string };

export interface AzureRemoteSpec {
  kind: 'azure';
  name: string;
  url: string;
  container: string;
  /** Blob name prefix, without leading or trailing `/` ('' for the container's root). */
  prefix: string;
  auth: AzureAuth;
  /** Where the credentials came from, for messages (never the values). */
  credentialSource: '.dvc/config.local' | 'environment' | 'none (anonymous)';
  jobs?: number;
}

export interface AzureConfigInput {
  name: string;
  url: string;
  get(key: string): string | undefined;
  secret(key: string): string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  jobs?: number;
}

export function resolveAzureRemote(input: AzureConfigInput): AzureRemoteSpec {
  const { name, url } = input;
  const rest = url.replace(/^azure:\/\//i, '');
  const slash = rest.indexOf('/');
  const container = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (container === '') throw new ReprodError('CONFIG', `remote '${name}': no container in url '${url}'`, { source: { file: '.dvc/config', key: `remote.${name}.url` } });
  const env = (k: string) => (input.env[k] === undefined || input.env[k] === '' ? undefined : input.env[k]);
  const base = { kind: 'azure' as const, name, url, container, prefix, ...(input.jobs !== undefined ? { jobs: input.jobs } : {}) };

  const fromFile = input.secret('connection_string') ?? input.secret('account_key') ?? input.secret('sas_token');
  const source: AzureRemoteSpec['credentialSource'] = fromFile !== undefined ? '.dvc/config.local' : 'environment';
  const pick = (key: string, envName: string) => (fromFile !== undefined ? input.secret(key) : env(envName));
  const connectionString = pick('connection_string', 'AZURE_STORAGE_CONNECTION_STRING');
  if (connectionString !== undefined) return { ...base, auth: { kind: 'connection-string', connectionString }, credentialSource: source };
  const accountName = input.get('account_name') ?? env('AZURE_STORAGE_ACCOUNT');
  const accountKey = pick('account_key', 'AZURE_STORAGE_KEY');
  const sasToken = pick('sas_token', 'AZURE_STORAGE_SAS_TOKEN');
  if (accountName === undefined) {
    throw new ReprodError('CONFIG', `remote '${name}': no Azure credentials: no connection_string, and no account_name`, {
      source: { file: '.dvc/config.local', key: `remote.${name}` },
      remedy: `Set one: \`reprod remote modify --local ${name} connection_string …\`, or \`reprod remote modify ${name} account_name …\` with \`reprod remote modify --local ${name} account_key …\` (or sas_token); or AZURE_STORAGE_CONNECTION_STRING.`,
    });
  }
  if (accountKey !== undefined) return { ...base, auth: { kind: 'shared-key', accountName, accountKey }, credentialSource: source };
  if (sasToken !== undefined) return { ...base, auth: { kind: 'sas', accountName, sasToken: sasToken.replace(/^\?/, '') }, credentialSource: source };
  return { ...base, auth: { kind: 'anonymous', accountName }, credentialSource: 'none (anonymous)' };
}
