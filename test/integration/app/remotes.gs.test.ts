/**
 * gs:// remotes end to end through the official SDK, against a fake of the
 * GCS JSON API on loopback (test/helpers/gcs-fake.ts; there is no real GCS
 * emulator here): configured with reprod's `remote` commands, pushed,
 * pulled into a fresh clone with every file's md5 compared; the bucket
 * holds what DVC pushed to a folder remote; a large object goes as a
 * resumable upload; credentials from `credentialpath` and from
 * GOOGLE_APPLICATION_CREDENTIALS; wrong and missing credentials fail
 * clearly, without the secret.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformance } from '../../helpers/conformance.js';
import { startGcsFake, type GcsFake } from '../../helpers/gcs-fake.js';
import { folderLayout } from '../../helpers/remote-layout.js';
import { copyTree, readLines, reprod, reprodOk, tempDir } from '../../helpers/workspace.js';

const CASE = conformance('dvc', 'z-remote-push-pull');
const EXPECTED = path.join(CASE, 'expected');
const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex');

const ok = reprodOk;

async function configure(ws: string, server: GcsFake, credentials?: string): Promise<void> {
  await ok(ws, 'remote', 'add', '-d', '-f', 'gcs', `gs://${server.bucket}/team/project`);
  await ok(ws, 'remote', 'modify', 'gcs', 'endpointurl', server.endpoint);
  await ok(ws, 'remote', 'modify', 'gcs', 'projectname', 'reprod-tests');
  if (credentials !== undefined) await ok(ws, 'remote', 'modify', '--local', 'gcs', 'credentialpath', credentials);
}

/** Runs `fn` with only these Google settings in the environment (the SDK reads process.env itself). */
async function withGoogleEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const names = ['GOOGLE_APPLICATION_CREDENTIALS', 'GOOGLE_CLOUD_PROJECT', 'GCLOUD_PROJECT', 'METADATA_SERVER_DETECTION', 'HOME', 'CLOUDSDK_CONFIG'];
  const saved = Object.fromEntries(names.map((k) => [k, process.env[k]]));
  for (const k of names) if (k !== 'HOME') delete process.env[k];
  Object.assign(process.env, { METADATA_SERVER_DETECTION: 'none' }, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

describe('gs remote (the Google SDK against a fake of the JSON API)', () => {
  it('push, a fresh clone, pull: every md5 equal; the bucket holds what a folder remote holds', async () => {
    await using server = await startGcsFake();
    using ws = tempDir();
    copyTree(path.join(CASE, 'input'), ws.path);
    writeFileSync(path.join(ws.path, 'raw.csv.dvc'), readFileSync(path.join(EXPECTED, 'raw.csv.dvc')));
    const creds = server.credentialsFile(path.join(ws.path, '..', `${path.basename(ws.path)}-gcs.json`));
    await configure(ws.path, server, creds);
    expect(readFileSync(path.join(ws.path, '.dvc', 'config'), 'utf8')).toContain(
      `['remote "gcs"']\n    url = gs://${server.bucket}/team/project\n    endpointurl = ${server.endpoint}\n    projectname = reprod-tests\n`,
    );
    await ok(ws.path, '--runtime', 'host', 'repro');
    expect(await ok(ws.path, 'push', '-j', '3')).toBe('4 files pushed\n');
    expect(await folderLayout(path.join(server.dir, server.bucket, 'team/project'))).toEqual(readLines(path.join(EXPECTED, 'remote-listing-after-push.txt')));
    expect(JSON.parse(await ok(ws.path, 'status', '-c', '--json'))).toEqual({});
    expect(server.seen).toContain(`POST /upload/storage/v1/b/${server.bucket}/o?uploadType=multipart`);

    using clone = tempDir();
    for (const f of ['dvc.yaml', 'dvc.lock', 'raw.csv.dvc', '.dvcignore']) copyFileSync(path.join(ws.path, f), path.join(clone.path, f));
    mkdirSync(path.join(clone.path, 'src'));
    copyFileSync(path.join(ws.path, 'src', 'x.txt'), path.join(clone.path, 'src', 'x.txt'));
    // this time from the environment, as in CI
    await configure(clone.path, server);
    await withGoogleEnv({ GOOGLE_APPLICATION_CREDENTIALS: creds }, () => ok(clone.path, 'pull'));
    for (const line of readLines(path.join(EXPECTED, 'md5-after-pull.txt'))) {
      const [sum, file] = line.split(/\s+/) as [string, string];
      expect(md5(readFileSync(path.join(clone.path, file))), file).toBe(sum);
    }
    expect(JSON.parse(await ok(clone.path, 'status', '--json'))).toEqual({});
  });

  it('a large object goes up as a resumable upload and comes back whole', async () => {
    await using server = await startGcsFake();
    using ws = tempDir();
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  gen:\n    cmd: head -c 9500000 /dev/urandom > big.bin\n    outs:\n      - big.bin\n');
    await configure(ws.path, server, server.credentialsFile(path.join(ws.path, '..', `${path.basename(ws.path)}-gcs.json`)));
    await ok(ws.path, '--runtime', 'host', 'repro');
    const before = md5(readFileSync(path.join(ws.path, 'big.bin')));
    const push = await reprod(ws.path, 'push');
    expect(push.code, `${push.stderr}\n${server.seen.join('\n')}`).toBe(0);
    expect(server.seen).toContain(`POST /upload/storage/v1/b/${server.bucket}/o?uploadType=resumable`);
    expect(server.seen).toContain(`PUT /upload/storage/v1/b/${server.bucket}/o?uploadType=resumable`);
    expect(md5(readFileSync(path.join(server.dir, server.bucket, 'team/project/files/md5', before.slice(0, 2), before.slice(2))))).toBe(before);
  });

  it('wrong credentials and none at all: clear errors naming the remote and where the credentials came from, the secret nowhere', async () => {
    await using server = await startGcsFake();
    using ws = tempDir();
    using home = tempDir('reprod-home-');
    copyTree(path.join(CASE, 'input'), ws.path);
    writeFileSync(path.join(ws.path, 'raw.csv.dvc'), readFileSync(path.join(EXPECTED, 'raw.csv.dvc')));
    const secret = 'not-the-subject-token-Ju55';
    const bad = server.credentialsFile(path.join(home.path, 'bad.json'), secret);
    await configure(ws.path, server, bad);
    await ok(ws.path, '--runtime', 'host', 'repro');
    for (const args of [['push'], ['status', '-c']]) {
      const res = await reprod(ws.path, ...args);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr).toMatch(new RegExp(`remote 'gcs' \\(gs://${server.bucket}/team/project at http://127\\.0\\.0\\.1:\\d+\\) refused the credentials \\(from credentialpath ${bad.replace(/[.]/g, '\\.')}\\)`));
      expect(`${res.stdout}${res.stderr}`).not.toContain(secret);
    }

    await ok(ws.path, 'remote', 'modify', '--local', '-u', 'gcs', 'credentialpath');
    const none = await withGoogleEnv({ HOME: home.path, CLOUDSDK_CONFIG: path.join(home.path, 'gcloud') }, () => reprod(ws.path, 'push'));
    expect(none.code).toBe(1);
    expect(none.stderr).toContain(`remote 'gcs' (gs://${server.bucket}/team/project at ${server.endpoint}): no credentials found: no credentialpath, no GOOGLE_APPLICATION_CREDENTIALS, and no application default credentials`);
    expect(none.stderr).toContain('hint: Point it at a credentials file: `reprod remote modify --local gcs credentialpath <key.json>`');
  });
});
