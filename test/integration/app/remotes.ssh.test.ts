/**
 * ssh:// remotes end to end against Debian's OpenSSH server on a loopback
 * high port (test/helpers/ssh-server.ts), key auth: configured with reprod's
 * `remote` commands, pushed, pulled into a fresh clone with every file's md5
 * compared; the server's folder holds what DVC pushed to a folder remote;
 * a key the server refuses, and a server key missing from known_hosts, fail
 * clearly.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { conformance } from '../../helpers/conformance.js';
import { folderLayout } from '../../helpers/remote-layout.js';
import { startSshServer } from '../../helpers/ssh-server.js';
import { copyTree, readLines, reprod, reprodOk, tempDir } from '../../helpers/workspace.js';

const CASE = conformance('dvc', 'z-remote-push-pull');
const EXPECTED = path.join(CASE, 'expected');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const ok = reprodOk;

let savedKnownHosts: string | undefined;
beforeEach(() => {
  savedKnownHosts = process.env.REPROD_SSH_KNOWN_HOSTS;
});
afterEach(() => {
  if (savedKnownHosts === undefined) delete process.env.REPROD_SSH_KNOWN_HOSTS;
  else process.env.REPROD_SSH_KNOWN_HOSTS = savedKnownHosts;
});

describe('ssh remote (OpenSSH on loopback, key auth)', () => {
  it('push, a fresh clone, pull: every md5 equal; the server holds what a folder remote holds; run-cache too', async () => {
    await using server = await startSshServer();
    process.env.REPROD_SSH_KNOWN_HOSTS = server.knownHosts;
    const folder = path.join(server.dataDir, 'team', 'project');
    const url = `ssh://${server.user}@127.0.0.1:${server.port}${folder}`;
    using ws = tempDir();
    copyTree(path.join(CASE, 'input'), ws.path);
    writeFileSync(path.join(ws.path, 'raw.csv.dvc'), readFileSync(path.join(EXPECTED, 'raw.csv.dvc')));
    await ok(ws.path, 'remote', 'add', '-d', '-f', 'box', url);
    await ok(ws.path, 'remote', 'modify', 'box', 'keyfile', server.keyfile);
    await ok(ws.path, '--runtime', 'host', 'repro');
    expect(await ok(ws.path, 'push', '-j', '3')).toBe('4 files pushed\n');
    expect(await folderLayout(folder)).toEqual(readLines(path.join(EXPECTED, 'remote-listing-after-push.txt')));
    expect(JSON.parse(await ok(ws.path, 'status', '-c', '--json'))).toEqual({});
    expect(await ok(ws.path, 'push', '--run-cache')).toBe('1 file pushed\n');
    expect(await folderLayout(folder)).toEqual(readLines(path.join(EXPECTED, 'remote-listing-after-push-run-cache.txt')));

    using clone = tempDir();
    for (const f of ['dvc.yaml', 'dvc.lock', 'raw.csv.dvc', '.dvcignore']) copyFileSync(path.join(ws.path, f), path.join(clone.path, f));
    mkdirSync(path.join(clone.path, 'src'));
    copyFileSync(path.join(ws.path, 'src', 'x.txt'), path.join(clone.path, 'src', 'x.txt'));
    mkdirSync(path.join(clone.path, '.dvc'));
    copyFileSync(path.join(ws.path, '.dvc', 'config'), path.join(clone.path, '.dvc', 'config'));
    await ok(clone.path, 'pull', '--run-cache');
    const sums = readLines(path.join(EXPECTED, 'md5-after-pull.txt'));
    expect(sums.length).toBeGreaterThan(2);
    for (const line of sums) {
      const [sum, file] = line.split(/\s+/) as [string, string];
      expect(md5(readFileSync(path.join(clone.path, file))), file).toBe(sum);
    }
    expect(JSON.parse(await ok(clone.path, 'status', '--json'))).toEqual({});
  });

  it('a refused key, and a server missing from known_hosts: exit 1, the remote and the credentials named, no key material', async () => {
    await using server = await startSshServer();
    process.env.REPROD_SSH_KNOWN_HOSTS = server.knownHosts;
    const url = `ssh://${server.user}@127.0.0.1:${server.port}${server.dataDir}/p`;
    using ws = tempDir();
    copyTree(path.join(CASE, 'input'), ws.path);
    writeFileSync(path.join(ws.path, 'raw.csv.dvc'), readFileSync(path.join(EXPECTED, 'raw.csv.dvc')));
    await ok(ws.path, 'remote', 'add', '-d', 'box', url);
    await ok(ws.path, 'remote', 'modify', 'box', 'keyfile', server.otherKeyfile);
    await ok(ws.path, '--runtime', 'host', 'repro');
    const key = readFileSync(server.otherKeyfile, 'utf8').split('\n')[1] as string;
    const refused = await reprod(ws.path, 'push');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`remote 'box' (ssh://${server.user}@127.0.0.1:${server.port}${server.dataDir}/p) refused the credentials (from keyfile ${server.otherKeyfile})`);
    expect(`${refused.stdout}${refused.stderr}`).not.toContain(key);

    await ok(ws.path, 'remote', 'modify', 'box', 'keyfile', server.keyfile);
    using empty = tempDir();
    process.env.REPROD_SSH_KNOWN_HOSTS = path.join(empty.path, 'known_hosts');
    const unknown = await reprod(ws.path, 'push');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`the server's host key is not in ${path.join(empty.path, 'known_hosts')}`);
    expect(unknown.stderr).toContain(`ssh-keyscan -p ${server.port} 127.0.0.1`);
  });
});
