import { afterAll, beforeAll } from 'vitest';
import path from 'node:path';
import { HttpRemote } from '../../../../src/adapters/remote/http-remote.js';
import { parseDvcConfig } from '../../../../src/core/dvc-config.js';
import { resolveRemote } from '../../../../src/remote/remote-config.js';
import { DIGEST_PASSWORD, DIGEST_USER, startDigestServer, type DigestTestServer } from '../../../helpers/lighttpd-digest.js';
import { remoteContract } from '../../../helpers/remote-contract.js';
import { folderLayout } from '../../../helpers/remote-layout.js';

/** `auth = digest` as a workspace configures it: the method in `.dvc/config`, user and password in `.dvc/config.local`. */
function open(url: string, password: string): HttpRemote {
  const spec = resolveRemote(
    {
      config: parseDvcConfig(`['remote "web"']\n    url = ${url}\n    auth = digest\n`, '.dvc/config'),
      local: parseDvcConfig(`['remote "web"']\n    user = ${DIGEST_USER}\n    password = ${password}\n`, '.dvc/config.local'),
      env: {},
      dvcDir: '/ws/.dvc',
    },
    'web',
  );
  if (spec.kind !== 'http') throw new Error(`expected an http remote, got ${spec.kind}`);
  return new HttpRemote(spec);
}

let server: DigestTestServer;
let n = 0;
const folders = new WeakMap<object, string>();
beforeAll(async () => {
  server = await startDigestServer();
});
afterAll(async () => server[Symbol.asyncDispose]());

remoteContract('HTTP, digest auth (Debian lighttpd mod_auth on loopback, in front of an upload endpoint)', {
  open: async () => {
    const p = `digest/r${++n}`;
    const remote = open(`${server.origin}/${p}`, DIGEST_PASSWORD);
    folders.set(remote, p);
    return remote;
  },
  layout: async (remote) => folderLayout(path.join(server.dir, folders.get(remote) as string)),
  listable: false,
  badCredentials: async () => {
    const secret = 'wrong-digest-Pq52';
    return { remote: open(`${server.origin}/digest/bad`, secret), secret, name: 'web', source: '.dvc/config.local' };
  },
});
