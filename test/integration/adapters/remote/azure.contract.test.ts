import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll } from 'vitest';
import { AzureRemote } from '../../../../src/adapters/remote/azure-remote.js';
import { parseDvcConfig } from '../../../../src/core/dvc-config.js';
import { resolveRemote } from '../../../../src/remote/remote-config.js';
import { AZURITE_KEY, startAzurite, type AzuriteServer } from '../../../helpers/azurite.js';
import { remoteContract } from '../../../helpers/remote-contract.js';

let server: AzuriteServer;
let n = 0;
beforeAll(async () => {
  server = await startAzurite();
  await server.createContainer('dvc');
});
afterAll(async () => server[Symbol.asyncDispose]());

/** The adapter as a workspace configures it: url in .dvc/config, the connection string in .dvc/config.local. */
function open(prefix: string, key = AZURITE_KEY): AzureRemote {
  const spec = resolveRemote(
    {
      config: parseDvcConfig(`['remote "az"']\n    url = azure://dvc/${prefix}\n`, '.dvc/config'),
      local: parseDvcConfig(`['remote "az"']\n    connection_string = "${server.connectionString(key)}"\n`, '.dvc/config.local'),
      env: {},
      dvcDir: '/ws/.dvc',
    },
    'az',
  );
  if (spec.kind !== 'azure') throw new Error(`expected an azure remote, got ${spec.kind}`);
  return new AzureRemote(spec);
}

const prefixes = new WeakMap<object, string>();

remoteContract('Azure Blob Storage (Azurite on loopback)', {
  open: async () => {
    const prefix = `contract/${++n}`;
    const remote = open(prefix);
    prefixes.set(remote, prefix);
    return remote;
  },
  layout: async (remote) => {
    const prefix = `${prefixes.get(remote)}/`;
    const out: string[] = [];
    const container = BlobServiceClient.fromConnectionString(server.connectionString()).getContainerClient('dvc');
    for await (const b of container.listBlobsFlat({ prefix })) out.push(`${b.name.slice(prefix.length)}\t${b.properties.contentLength}`);
    return out.sort();
  },
  badCredentials: async () => {
    // a well-formed key that is not the account's
    const secret = Buffer.from('not-the-account-key-not-the-account-key-0123456789').toString('base64');
    return { remote: open('contract/bad', secret), secret, name: 'az', source: '.dvc/config.local' };
  },
});
