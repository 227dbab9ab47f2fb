/**
 * HTTP and WebDAV remotes end to end, against a real WebDAV server on
 * loopback with basic auth (test/helpers/dav-server.ts): configured with
 * reprod's own `remote` commands, pushed, then pulled into a fresh clone
 * with every file's md5 compared; the server's folder holds exactly what DVC
 * pushed to a folder remote for the same pipeline; wrong credentials fail
 * clearly without the secret.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformance } from '../../helpers/conformance.js';
import { DAV_HEADER, DAV_PASSWORD, DAV_USER, startDavServer } from '../../helpers/dav-server.js';
import { DIGEST_PASSWORD, DIGEST_USER, startDigestServer } from '../../helpers/lighttpd-digest.js';
import { folderLayout } from '../../helpers/remote-layout.js';
import { copyTree, readLines, reprod, reprodOk, tempDir } from '../../helpers/workspace.js';

const CASE = conformance('dvc', 'z-remote-push-pull');
const EXPECTED = path.join(CASE, 'expected');

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const ok = reprodOk;

/** The remote as a user sets it up: url in .dvc/config, user and password in .dvc/config.local. */
async function configure(ws: string, url: string, password: string, extra: string[][] = []): Promise<void> {
  await ok(ws, 'remote', 'add', '-d', '-f', 'web', url);
  for (const args of extra) await ok(ws, 'remote', 'modify', 'web', ...args);
  await ok(ws, 'remote', 'modify', '--local', 'web', 'user', DAV_USER);
  await ok(ws, 'remote', 'modify', '--local', 'web', 'password', password);
}

for (const flavour of ['webdav', 'http'] as const) {
  describe(`${flavour} remote (webdav-server on loopback, basic auth)`, () => {
    it('push, a fresh clone, pull: every md5 equal; the server holds what a folder remote holds', async () => {
      await using server = await startDavServer({ flavour });
      const url = flavour === 'webdav' ? `${server.origin.replace(/^http:/, 'webdav:')}/team/project` : `${server.origin}/team/project`;
      // DVC's HTTP remote posts by default; DagsHub's .dvc endpoint needs auth = basic, as here
      const extra = flavour === 'http' ? [['auth', 'basic']] : [];
      using ws = tempDir();
      copyTree(path.join(CASE, 'input'), ws.path);
      writeFileSync(path.join(ws.path, 'raw.csv.dvc'), readFileSync(path.join(EXPECTED, 'raw.csv.dvc')));
      await configure(ws.path, url, DAV_PASSWORD, extra);
      await ok(ws.path, '--runtime', 'host', 'repro');
      expect(await ok(ws.path, 'push', '-j', '3')).toBe('4 files pushed\n');
      expect(await folderLayout(path.join(server.dir, 'team/project'))).toEqual(readLines(path.join(EXPECTED, 'remote-listing-after-push.txt')));
      expect(JSON.parse(await ok(ws.path, 'status', '-c', '--json'))).toEqual({});

      using clone = tempDir();
      for (const f of ['dvc.yaml', 'dvc.lock', 'raw.csv.dvc', '.dvcignore']) copyFileSync(path.join(ws.path, f), path.join(clone.path, f));
      mkdirSync(path.join(clone.path, 'src'));
      copyFileSync(path.join(ws.path, 'src', 'x.txt'), path.join(clone.path, 'src', 'x.txt'));
      await configure(clone.path, url, DAV_PASSWORD, extra);
      await ok(clone.path, 'pull');
      const sums = readLines(path.join(EXPECTED, 'md5-after-pull.txt'));
      expect(sums.length).toBeGreaterThan(2);
      for (const line of sums) {
        const [sum, file] = line.split(/\s+/) as [string, string];
        expect(md5(readFileSync(path.join(clone.path, file))), file).toBe(sum);
        expect(md5(readFileSync(path.join(ws.path, file))), file).toBe(sum);
      }
      expect(JSON.parse(await ok(clone.path, 'status', '--json'))).toEqual({});
    });

    it('wrong credentials: exit 1, the remote and where its credentials came from named, the secret nowhere', async () => {
      await using server = await startDavServer({ flavour });
      const url = flavour === 'webdav' ? `${server.origin.replace(/^http:/, 'webdav:')}/p` : `${server.origin}/p`;
      using ws = tempDir();
      copyTree(path.join(CASE, 'input'), ws.path);
      writeFileSync(path.join(ws.path, 'raw.csv.dvc'), readFileSync(path.join(EXPECTED, 'raw.csv.dvc')));
      const secret = 'not-the-password-Qw3';
      await configure(ws.path, url, secret, flavour === 'http' ? [['auth', 'basic']] : []);
      await ok(ws.path, '--runtime', 'host', 'repro');
      for (const args of [['push'], ['status', '-c'], ['pull']]) {
        // with an empty cache, pull has to ask the remote
        if (args[0] === 'pull') rmSync(path.join(ws.path, '.dvc', 'cache'), { recursive: true, force: true });
        const res = await reprod(ws.path, ...args);
        expect(res.code, args.join(' ')).toBe(1);
        expect(res.stderr).toMatch(new RegExp(`remote 'web' \\(${flavour}://127\\.0\\.0\\.1:\\d+/p\\) refused the credentials \\(from \\.dvc/config\\.local\\): HTTP 401`));
        expect(`${res.stdout}${res.stderr}`).not.toContain(secret);
      }
    });
  });
}

describe('http remote with auth = digest (Debian lighttpd on loopback)', () => {
  it('push, a fresh clone, pull: every md5 equal; the server holds what a folder remote holds; a wrong password is refused', async () => {
    await using server = await startDigestServer();
    const url = `${server.origin}/team/project`;
    const setUp = async (ws: string, password: string) => {
      await ok(ws, 'remote', 'add', '-d', '-f', 'web', url);
      await ok(ws, 'remote', 'modify', 'web', 'auth', 'digest');
      await ok(ws, 'remote', 'modify', '--local', 'web', 'user', DIGEST_USER);
      await ok(ws, 'remote', 'modify', '--local', 'web', 'password', password);
    };
    using ws = tempDir();
    copyTree(path.join(CASE, 'input'), ws.path);
    writeFileSync(path.join(ws.path, 'raw.csv.dvc'), readFileSync(path.join(EXPECTED, 'raw.csv.dvc')));
    await setUp(ws.path, DIGEST_PASSWORD);
    await ok(ws.path, '--runtime', 'host', 'repro');
    expect(await ok(ws.path, 'push', '-j', '3')).toBe('4 files pushed\n');
    expect(await folderLayout(path.join(server.dir, 'team/project'))).toEqual(readLines(path.join(EXPECTED, 'remote-listing-after-push.txt')));

    using clone = tempDir();
    for (const f of ['dvc.yaml', 'dvc.lock', 'raw.csv.dvc', '.dvcignore']) copyFileSync(path.join(ws.path, f), path.join(clone.path, f));
    mkdirSync(path.join(clone.path, 'src'));
    copyFileSync(path.join(ws.path, 'src', 'x.txt'), path.join(clone.path, 'src', 'x.txt'));
    await setUp(clone.path, 'wrong-digest-Hn40');
    const refused = await reprod(clone.path, 'pull');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/remote 'web' \(http:\/\/127\.0\.0\.1:\d+\/team\/project\) refused the credentials \(from \.dvc\/config\.local\): HTTP 401/);
    expect(`${refused.stdout}${refused.stderr}`).not.toContain('wrong-digest-Hn40');
    await ok(clone.path, 'remote', 'modify', '--local', 'web', 'password', DIGEST_PASSWORD);
    await ok(clone.path, 'pull');
    for (const line of readLines(path.join(EXPECTED, 'md5-after-pull.txt'))) {
      const [sum, file] = line.split(/\s+/) as [string, string];
      expect(md5(readFileSync(path.join(clone.path, file))), file).toBe(sum);
    }
  });
});

describe('http remote without credentials', () => {
  it('a server that asks for them: says none are configured, not that they were refused', async () => {
    await using server = await startDavServer({ flavour: 'http' });
    using ws = tempDir();
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  gen:\n    cmd: echo a > a.txt\n    outs:\n      - a.txt\n');
    await ok(ws.path, 'remote', 'add', '-d', 'web', `${server.origin}/p`);
    await ok(ws.path, '--runtime', 'host', 'repro');
    const res = await reprod(ws.path, 'push');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/remote 'web' \(http:\/\/127\.0\.0\.1:\d+\/p\) asks for credentials \(HTTP 401 on checking files\/md5\/60\/b725f10c9c85c70d97880dfe8191b3\), and none are configured/);
    expect(res.stderr).not.toContain('refused');
  });
});

describe('a remote that does not answer', () => {
  it('push and status -c stop with REMOTE naming the remote, not an unexpected error', async () => {
    let origin: string;
    {
      await using server = await startDavServer({ flavour: 'http' });
      origin = server.origin;
    }
    using ws = tempDir();
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  gen:\n    cmd: echo a > a.txt\n    outs:\n      - a.txt\n');
    await ok(ws.path, 'remote', 'add', '-d', 'web', `${origin}/p`);
    await ok(ws.path, '--runtime', 'host', 'repro');
    for (const args of [['push'], ['status', '-c']]) {
      const res = await reprod(ws.path, ...args);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr).toMatch(/^ERROR: remote 'web': checking which objects exist: cannot reach http:\/\/127\.0\.0\.1:\d+\/p \(ECONNREFUSED\)\n {2}hint: Check the remote's URL/);
      expect(res.stderr).not.toContain('unexpected');
    }
  });
});

describe('http remote with auth = custom (a header of its own)', () => {
  it('push and pull with the header; a wrong value is refused without being shown', async () => {
    await using server = await startDavServer({ flavour: 'http', auth: 'header' });
    using ws = tempDir();
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  gen:\n    cmd: mkdir -p out && echo one > out/a && echo two > out/b\n    outs:\n      - out\n');
    await ok(ws.path, 'remote', 'add', '-d', 'web', `${server.origin}/p`);
    await ok(ws.path, 'remote', 'modify', 'web', 'auth', 'custom');
    await ok(ws.path, 'remote', 'modify', 'web', 'custom_auth_header', DAV_HEADER.name);
    await ok(ws.path, 'remote', 'modify', '--local', 'web', 'password', 'wrong-header-Lp09');
    await ok(ws.path, '--runtime', 'host', 'repro');
    const refused = await reprod(ws.path, 'push');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/remote 'web' \(http:\/\/127\.0\.0\.1:\d+\/p\) refused the credentials \(from \.dvc\/config\.local\): HTTP 401/);
    expect(`${refused.stdout}${refused.stderr}`).not.toContain('wrong-header-Lp09');
    await ok(ws.path, 'remote', 'modify', '--local', 'web', 'password', DAV_HEADER.value);
    expect(await ok(ws.path, 'push')).toBe('3 files pushed\n');
    rmSync(path.join(ws.path, '.dvc', 'cache'), { recursive: true });
    rmSync(path.join(ws.path, 'out'), { recursive: true });
    await ok(ws.path, 'pull');
    expect(readFileSync(path.join(ws.path, 'out', 'b'), 'utf8')).toBe('two\n');
  });
});
