import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { SshRemote } from '../../../../src/adapters/remote/ssh-remote.js';
import { parseDvcConfig } from '../../../../src/core/dvc-config.js';
import { resolveRemote } from '../../../../src/remote/remote-config.js';
import { remoteContract } from '../../../helpers/remote-contract.js';
import { folderLayout } from '../../../helpers/remote-layout.js';
import { startSshServer, type SshTestServer } from '../../../helpers/ssh-server.js';

let server: SshTestServer;
beforeAll(async () => {
  server = await startSshServer();
});
afterAll(async () => server[Symbol.asyncDispose]());

/** The adapter as a workspace configures it: url and keyfile in .dvc/config, known_hosts from the environment. */
function open(folder: string, keyfile: string): SshRemote {
  const spec = resolveRemote(
    {
      config: parseDvcConfig(`['remote "box"']\n    url = ssh://${server.user}@127.0.0.1:${server.port}${folder}\n    keyfile = ${keyfile}\n`, '.dvc/config'),
      local: new Map(),
      env: { REPROD_SSH_KNOWN_HOSTS: server.knownHosts, HOME: '/nonexistent' },
      dvcDir: '/ws/.dvc',
    },
    'box',
  );
  if (spec.kind !== 'ssh') throw new Error(`expected an ssh remote, got ${spec.kind}`);
  return new SshRemote(spec);
}

const roots = new WeakMap<object, string>();

remoteContract('SSH/SFTP (Debian OpenSSH on loopback, key auth)', {
  open: async () => {
    const folder = path.join(mkdtempSync(path.join(server.dataDir, 'r-')), 'store');
    const remote = open(folder, server.keyfile);
    roots.set(remote, folder);
    return remote;
  },
  layout: async (remote) => folderLayout(roots.get(remote) as string),
  badCredentials: async () => ({
    remote: open(path.join(server.dataDir, 'bad'), server.otherKeyfile),
    // a key is not printed either: its path is, the key's bytes never
    secret: 'PRIVATE KEY',
    name: 'box',
    source: `keyfile ${server.otherKeyfile}`,
  }),
});
