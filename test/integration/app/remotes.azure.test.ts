/**
 * azure:// remotes end to end against Azurite on loopback
 * (test/helpers/azurite.ts): configured with reprod's `remote` commands,
 * pushed, pulled into a fresh clone with every file's md5 compared; the
 * container holds what DVC pushed to a folder remote; a wrong key fails
 * clearly without the secret, from config.local and from the environment.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { conformance } from '../../helpers/conformance.js';
import { startAzurite } from '../../helpers/azurite.js';
import { copyTree, readLines, reprod, reprodOk, tempDir } from '../../helpers/workspace.js';

const CASE = conformance('dvc', 'z-remote-push-pull');
const EXPECTED = path.join(CASE, 'expected');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const ok = reprodOk;

describe('azure remote (Azurite on loopback)', () => {
  it('push, a fresh clone, pull: every md5 equal; the container holds what a folder remote holds', async () => {
    await using server = await startAzurite();
    await server.createContainer('dvc');
    using ws = tempDir();
    copyTree(path.join(CASE, 'input'), ws.path);
    writeFileSync(path.join(ws.path, 'raw.csv.dvc'), readFileSync(path.join(EXPECTED, 'raw.csv.dvc')));
    await ok(ws.path, 'remote', 'add', '-d', '-f', 'az', 'azure://dvc/team/project');
    await ok(ws.path, 'remote', 'modify', '--local', 'az', 'connection_string', server.connectionString());
    await ok(ws.path, '--runtime', 'host', 'repro');
    expect(await ok(ws.path, 'push', '-j', '3')).toBe('4 files pushed\n');
    const listing: string[] = [];
    const container = BlobServiceClient.fromConnectionString(server.connectionString()).getContainerClient('dvc');
    for await (const b of container.listBlobsFlat({ prefix: 'team/project/' })) listing.push(`${b.name.slice('team/project/'.length)}\t${b.properties.contentLength}`);
    expect(listing.sort()).toEqual(readLines(path.join(EXPECTED, 'remote-listing-after-push.txt')));

    using clone = tempDir();
    for (const f of ['dvc.yaml', 'dvc.lock', 'raw.csv.dvc', '.dvcignore']) copyFileSync(path.join(ws.path, f), path.join(clone.path, f));
    mkdirSync(path.join(clone.path, 'src'));
    copyFileSync(path.join(ws.path, 'src', 'x.txt'), path.join(clone.path, 'src', 'x.txt'));
    mkdirSync(path.join(clone.path, '.dvc'));
    copyFileSync(path.join(ws.path, '.dvc', 'config'), path.join(clone.path, '.dvc', 'config'));
    // the clone has no config.local: the connection string comes from the environment, as in CI
    const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
    process.env.AZURE_STORAGE_CONNECTION_STRING = server.connectionString();
    try {
      await ok(clone.path, 'pull');
    } finally {
      if (saved === undefined) delete process.env.AZURE_STORAGE_CONNECTION_STRING;
      else process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
    }
    const sums = readLines(path.join(EXPECTED, 'md5-after-pull.txt'));
    expect(sums.length).toBeGreaterThan(2);
    for (const line of sums) {
      const [sum, file] = line.split(/\s+/) as [string, string];
      expect(md5(readFileSync(path.join(clone.path, file))), file).toBe(sum);
    }
    expect(JSON.parse(await ok(clone.path, 'status', '--json'))).toEqual({});
  });

  it('a wrong account key: exit 1 naming the remote and where the credentials came from, the key nowhere', async () => {
    await using server = await startAzurite();
    await server.createContainer('dvc');
    using ws = tempDir();
    copyTree(path.join(CASE, 'input'), ws.path);
    writeFileSync(path.join(ws.path, 'raw.csv.dvc'), readFileSync(path.join(EXPECTED, 'raw.csv.dvc')));
    const secret = Buffer.from('a-wrong-account-key-for-the-test-0123456789').toString('base64');
    await ok(ws.path, 'remote', 'add', '-d', 'az', 'azure://dvc/p');
    await ok(ws.path, 'remote', 'modify', '--local', 'az', 'connection_string', server.connectionString(secret));
    await ok(ws.path, '--runtime', 'host', 'repro');
    for (const args of [['push'], ['status', '-c']]) {
      const res = await reprod(ws.path, ...args);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr).toMatch(/remote 'az' \(azure:\/\/dvc\/p \(account devstoreaccount1\)\) refused the credentials \(from \.dvc\/config\.local\)/);
      expect(`${res.stdout}${res.stderr}`).not.toContain(secret);
    }
    rmSync(path.join(ws.path, '.dvc', 'config.local'));
    const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
    process.env.AZURE_STORAGE_CONNECTION_STRING = server.connectionString(secret);
    try {
      const res = await reprod(ws.path, 'push');
      expect(res.stderr).toMatch(/refused the credentials \(from environment\)/);
      expect(`${res.stdout}${res.stderr}`).not.toContain(secret);
    } finally {
      if (saved === undefined) delete process.env.AZURE_STORAGE_CONNECTION_STRING;
      else process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
    }
  });
});
