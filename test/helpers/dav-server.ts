/**
 * A real WebDAV server on loopback for tests: npm's webdav-server (v2),
 * storing into a folder on disk, with HTTP basic auth. As `http`, it also
 * stands in for an HTTP upload endpoint such as DagsHub's `.dvc` remote:
 * POST and PUT store the body and create the folders above it, as DVC's
 * HTTP remote expects (it never makes folders); GET and HEAD read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { v2 as webdav } from 'webdav-server';

export const DAV_USER = 'alice';
export const DAV_PASSWORD = 'dav-pass-4Rk9';

export interface DavTestServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  /** The folder the server stores into. */
  dir: string;
}

/** An upload that creates the folders above the target (webdav-server's own PUT answers 409 Conflict for them, as WebDAV says). */
class UploadCreatingFolders implements webdav.HTTPMethod {
  isValidFor(_ctx: webdav.HTTPRequestContext, type?: webdav.ResourceType): boolean {
    return !type || type.isFile;
  }

  chunked(ctx: webdav.HTTPRequestContext, input: Readable, done: () => void): void {
    ctx.getResource((e, r) => {
      if (e || !r) {
        ctx.setCode(webdav.HTTPCodes.InternalServerError);
        return done();
      }
      r.openWriteStream('canCreateIntermediates', (err, out, created) => {
        if (err || !out) {
          if (!err || !ctx.setCodeFromError(err)) ctx.setCode(webdav.HTTPCodes.InternalServerError);
          return done();
        }
        input.pipe(out);
        out.on('finish', () => {
          ctx.setCode(created ? webdav.HTTPCodes.Created : webdav.HTTPCodes.OK);
          done();
        });
        out.on('error', () => {
          ctx.setCode(webdav.HTTPCodes.InternalServerError);
          done();
        });
      });
    });
  }
}

/** The header and value `auth: 'header'` asks for (DVC's `auth = custom`). */
export const DAV_HEADER = { name: 'X-Reprod-Token', value: 'header-token-2Tz8' };

/**
 * `auth: 'none'`: no credentials asked (behind a proxy that checks them, as
 * lighttpd-digest.ts puts it); `'header'`: DAV_HEADER in every request.
 */
export async function startDavServer(opts: { flavour: 'webdav' | 'http'; auth?: 'basic' | 'none' | 'header' }): Promise<DavTestServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reprod-dav-'));
  const users = new webdav.SimpleUserManager();
  const user = users.addUser(DAV_USER, DAV_PASSWORD, false);
  const privileges = new webdav.SimplePathPrivilegeManager();
  privileges.setRights(user, '/', ['all']);
  const server = new webdav.WebDAVServer({
    hostname: '127.0.0.1',
    port: 0,
    requireAuthentification: true,
    // without auth of its own, every request is the one user, whatever Authorization header the proxy passes on
    httpAuthentication:
      opts.auth === 'none'
        ? { askForAuthentication: () => ({}), getUser: (_ctx, done) => done(null as unknown as Error, user) }
        : opts.auth === 'header'
          ? {
              askForAuthentication: () => ({}),
              getUser: (ctx, done) =>
                ctx.headers.find(DAV_HEADER.name.toLowerCase()) === DAV_HEADER.value ? done(null as unknown as Error, user) : done(webdav.Errors.BadAuthentication),
            }
          : new webdav.HTTPBasicAuthentication(users, 'reprod-test'),
    privilegeManager: privileges,
    rootFileSystem: new webdav.PhysicalFileSystem(dir),
  });
  if (opts.flavour === 'http') {
    server.method('POST', new UploadCreatingFolders());
    server.method('PUT', new UploadCreatingFolders());
  }
  const http = await new Promise<import('node:http').Server>((resolve) => server.start((s) => resolve(s as import('node:http').Server)));
  const port = (http.address() as AddressInfo).port;
  return {
    origin: `http://127.0.0.1:${port}`,
    dir,
    [Symbol.asyncDispose]: async () => {
      await new Promise<void>((resolve) => server.stop(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
