/**
 * Debian's lighttpd on a loopback high port for tests: HTTP digest access
 * authentication (mod_auth with an htdigest file, RFC 7616, MD5, qop=auth)
 * in front of an HTTP upload server (dav-server.ts without auth of its own,
 * reached through mod_proxy), so that the digest exchange is lighttpd's own
 * while uploads make their folders as an HTTP remote expects.
 * `scripts/setup.sh` installs lighttpd.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startDavServer } from './dav-server.js';
import { freePort } from './free-port.js';

const LIGHTTPD = '/usr/sbin/lighttpd';
export const DIGEST_USER = 'carol';
export const DIGEST_PASSWORD = 'digest-pass-8Wm3';
export const DIGEST_REALM = 'reprod digest';

export interface DigestTestServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`, lighttpd's. */
  origin: string;
  /** The folder the upload server behind it stores into. */
  dir: string;
}

async function listening(port: number, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.destroy();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`lighttpd did not listen on ${port}`);
}

export async function startDigestServer(): Promise<DigestTestServer> {
  if (!existsSync(LIGHTTPD)) throw new Error(`${LIGHTTPD} is missing: install Debian's lighttpd (scripts/setup.sh does)`);
  const backend = await startDavServer({ flavour: 'http', auth: 'none' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reprod-lighttpd-'));
  const ha1 = createHash('md5').update(`${DIGEST_USER}:${DIGEST_REALM}:${DIGEST_PASSWORD}`).digest('hex');
  writeFileSync(path.join(dir, 'htdigest'), `${DIGEST_USER}:${DIGEST_REALM}:${ha1}\n`);
  const port = await freePort();
  const backendPort = new URL(backend.origin).port;
  writeFileSync(
    path.join(dir, 'lighttpd.conf'),
    [
      'server.modules = ( "mod_auth", "mod_authn_file", "mod_proxy" )',
      `server.document-root = "${dir}"`,
      'server.bind = "127.0.0.1"',
      `server.port = ${port}`,
      `server.errorlog = "${dir}/error.log"`,
      `server.pid-file = "${dir}/lighttpd.pid"`,
      'server.max-request-size = 262144',
      'auth.backend = "htdigest"',
      `auth.backend.htdigest.userfile = "${dir}/htdigest"`,
      `auth.require = ( "" => ( "method" => "digest", "algorithm" => "MD5", "realm" => "${DIGEST_REALM}", "require" => "valid-user" ) )`,
      `proxy.server = ( "" => ( ( "host" => "127.0.0.1", "port" => ${backendPort} ) ) )`,
      '',
    ].join('\n'),
  );
  const child = spawn(LIGHTTPD, ['-D', '-f', path.join(dir, 'lighttpd.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([listening(port, Date.now() + 10_000), exited.then(() => Promise.reject(new Error(`lighttpd exited: ${stderr}`)))]);
  } catch (e) {
    child.kill('SIGKILL');
    await backend[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    origin: `http://127.0.0.1:${port}`,
    dir: backend.dir,
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await backend[Symbol.asyncDispose]();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
