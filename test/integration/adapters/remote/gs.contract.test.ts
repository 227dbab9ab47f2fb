import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { GsRemote } from '../../../../src/adapters/remote/gs-remote.js';
import { parseDvcConfig } from '../../../../src/core/dvc-config.js';
import { resolveRemote } from '../../../../src/remote/remote-config.js';
import { startGcsFake, type GcsFake } from '../../../helpers/gcs-fake.js';
import { remoteContract } from '../../../helpers/remote-contract.js';
import { tempDir } from '../../../helpers/workspace.js';

let server: GcsFake;
let n = 0;
const scratch = tempDir('reprod-gs-creds-');
beforeAll(async () => {
  server = await startGcsFake();
});
afterAll(async () => {
  await server[Symbol.asyncDispose]();
  scratch[Symbol.dispose]();
});

/** The adapter as a workspace configures it: url, endpointurl, projectname and credentialpath in .dvc/config. */
function open(prefix: string, credentials: string): GsRemote {
  const spec = resolveRemote(
    {
      config: parseDvcConfig(
        `['remote "gcs"']\n    url = gs://${server.bucket}/${prefix}\n    endpointurl = ${server.endpoint}\n    projectname = reprod-tests\n    credentialpath = ${credentials}\n`,
        '.dvc/config',
      ),
      local: parseDvcConfig('', '.dvc/config.local'),
      env: {},
      dvcDir: '/ws/.dvc',
    },
    'gcs',
  );
  if (spec.kind !== 'gs') throw new Error(`expected a gs remote, got ${spec.kind}`);
  return new GsRemote(spec);
}

/** `key<TAB>size` of every file the fake stores under a prefix. */
function stored(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
      else out.push(`${rel}${e.name}\t${statSync(path.join(d, e.name)).size}`);
    }
  };
  walk(dir, '');
  return out.sort();
}

const prefixes = new WeakMap<object, string>();

remoteContract('Google Cloud Storage (the SDK against a fake of the JSON API on loopback)', {
  open: async () => {
    const prefix = `contract/${++n}`;
    const remote = open(prefix, server.credentialsFile(path.join(scratch.path, `creds-${n}.json`)));
    prefixes.set(remote, prefix);
    return remote;
  },
  layout: async (remote) => stored(path.join(server.dir, server.bucket, prefixes.get(remote) as string)),
  badCredentials: async () => {
    const secret = 'not-the-subject-token-Vb62';
    const file = server.credentialsFile(path.join(scratch.path, 'bad.json'), secret);
    return { remote: open('contract/bad', file), secret, name: 'gcs', source: `credentialpath ${file}` };
  },
});
