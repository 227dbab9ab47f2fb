import { afterAll, beforeAll } from 'vitest';
import { HttpRemote } from '../../../../src/adapters/remote/http-remote.js';
import { resolveRemote } from '../../../../src/remote/remote-config.js';
import { parseDvcConfig } from '../../../../src/core/dvc-config.js';
import { DAV_PASSWORD, DAV_USER, startDavServer, type DavTestServer } from '../../../helpers/dav-server.js';
import { remoteContract } from '../../../helpers/remote-contract.js';
import { folderLayout } from '../../../helpers/remote-layout.js';
import path from 'node:path';

/** The adapter as a workspace configures it: `.dvc/config` with the url, `.dvc/config.local` with the secret. */
function open(url: string, local: string, extra = ''): HttpRemote {
  const spec = resolveRemote(
    {
      config: parseDvcConfig(`['remote "web"']\n    url = ${url}\n${extra}`, '.dvc/config'),
      local: parseDvcConfig(`['remote "web"']\n${local}`, '.dvc/config.local'),
      env: {},
      dvcDir: '/ws/.dvc',
    },
    'web',
  );
  if (spec.kind !== 'http') throw new Error(`expected an http remote, got ${spec.kind}`);
  return new HttpRemote(spec);
}

const creds = (password = DAV_PASSWORD) => `    user = ${DAV_USER}\n    password = ${password}\n`;

for (const flavour of ['webdav', 'http'] as const) {
  let server: DavTestServer;
  let n = 0;
  const folders = new WeakMap<object, string>();
  beforeAll(async () => {
    server = await startDavServer({ flavour });
  });
  afterAll(async () => server[Symbol.asyncDispose]());
  const url = (p: string) => (flavour === 'webdav' ? `${server.origin.replace(/^http:/, 'webdav:')}/${p}` : `${server.origin}/${p}`);

  remoteContract(flavour === 'webdav' ? 'WebDAV (webdav-server on loopback, basic auth)' : 'HTTP, POST uploads (webdav-server as an upload endpoint, basic auth)', {
    open: async () => {
      const p = `${flavour}/r${++n}`;
      const remote = open(url(p), creds(), flavour === 'http' ? '    auth = basic\n' : '');
      folders.set(remote, p);
      return remote;
    },
    layout: async (remote) => folderLayout(path.join(server.dir, folders.get(remote) as string)),
    listable: flavour === 'webdav',
    badCredentials: async () => {
      const secret = 'wrong-pass-Xy71';
      return { remote: open(url(`${flavour}/bad`), creds(secret)), secret, name: 'web', source: '.dvc/config.local' };
    },
  });
}
