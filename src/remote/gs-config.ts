import path from 'node:path';
import { ReprodError } from '../core/errors.js';

/**
 * A `gs://bucket/path` remote, with DVC's keys: `credentialpath` (a
 * credentials file: a service account's key, or any other file Google's
 * auth library reads, such as workload identity federation's
 * `external_account`), else GOOGLE_APPLICATION_CREDENTIALS, else the
 * application default credentials (gcloud's, or the metadata server's);
 * `projectname`; `endpointurl` for another endpoint of the JSON API.
 */
export interface GsRemoteSpec {
  kind: 'gs';
  name: string;
  url: string;
  bucket: string;
  /** Object name prefix, without leading or trailing `/` ('' for the bucket's root). */
  prefix: string;
  projectId?: string;
  /** Absolute path of the credentials file (`credentialpath`); undefined: the environment. */
  keyFilename?: string;
  /** The JSON API's endpoint (`endpointurl`); undefined for Google's. */
  endpoint?: string;
  /** Where the credentials came from, for messages (never the values). */
  credentialSource: string;
  jobs?: number;
}

export interface GsConfigInput {
  name: string;
  url: string;
  get(key: string): string | undefined;
  env: Readonly<Record<string, string | undefined>>;
  /** Absolute `.dvc/`: a relative credentialpath is relative to it, as DVC resolves paths in its config (and `reprod remote modify` writes them). */
  dvcDir: string;
  jobs?: number;
}

export function resolveGsRemote(input: GsConfigInput): GsRemoteSpec {
  const { name, url } = input;
  const rest = url.replace(/^gs:\/\//i, '');
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
  if (bucket === '') throw new ReprodError('CONFIG', `remote '${name}': no bucket in url '${url}'`, { source: { file: '.dvc/config', key: `remote.${name}.url` } });
  if (input.get('allow_anonymous_login')?.toLowerCase() === 'true') {
    throw new ReprodError('CONFIG', `remote '${name}': allow_anonymous_login is not supported by reprod for gs:// remotes`, {
      source: { file: '.dvc/config', key: `remote.${name}.allow_anonymous_login` },
      remedy: 'Give it credentials (`credentialpath`, or GOOGLE_APPLICATION_CREDENTIALS), or turn the option off.',
    });
  }
  const raw = input.get('credentialpath');
  const home = input.env.HOME;
  const keyFilename = raw === undefined ? undefined : path.resolve(input.dvcDir, home ? raw.replace(/^~(?=\/)/, home) : raw);
  const envFile = input.env.GOOGLE_APPLICATION_CREDENTIALS;
  const credentialSource =
    raw !== undefined ? `credentialpath ${raw}` : envFile ? `GOOGLE_APPLICATION_CREDENTIALS (${envFile})` : 'application default credentials';
  const projectId = input.get('projectname');
  const endpoint = input.get('endpointurl')?.replace(/\/+$/, '');
  return {
    kind: 'gs',
    name,
    url,
    bucket,
    prefix,
    ...(projectId !== undefined ? { projectId } : {}),
    ...(keyFilename !== undefined ? { keyFilename } : {}),
    ...(endpoint !== undefined ? { endpoint } : {}),
    credentialSource,
    ...(input.jobs !== undefined ? { jobs: input.jobs } : {}),
  };
}
