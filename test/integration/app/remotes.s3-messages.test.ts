/**
 * What push, fetch and pull say against a real S3 server on loopback
 * (test/helpers/s3-server.ts): no credentials at all, a named profile,
 * failures counted in the progress, no "up to date" before an error, and an
 * interrupted multipart upload aborted by the next push.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CreateMultipartUploadCommand, DeleteObjectCommand, ListMultipartUploadsCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { reprod, tempDir } from '../../helpers/workspace.js';
import { S3_KEY, s3Client, s3RemoteConfig, startS3Server, type S3TestServer } from '../../helpers/s3-server.js';

function useRemote(ws: string, server: S3TestServer, prefix: string, opts: { local?: boolean; extra?: string } = {}): void {
  const cfg = s3RemoteConfig(server, prefix);
  mkdirSync(path.join(ws, '.dvc'), { recursive: true });
  writeFileSync(path.join(ws, '.dvc', 'config'), `${cfg.config}${opts.extra ?? ''}`);
  if (opts.local !== false) writeFileSync(path.join(ws, '.dvc', 'config.local'), cfg.local());
  else rmSync(path.join(ws, '.dvc', 'config.local'), { force: true });
}

async function generated(ws: string, cmd: string, out: string): Promise<void> {
  writeFileSync(path.join(ws, 'dvc.yaml'), `stages:\n  gen:\n    cmd: ${cmd}\n    outs:\n      - ${out}\n`);
  const res = await reprod(ws, '--runtime', 'host', 'repro');
  expect(res.code, res.stderr).toBe(0);
}

/** Runs `fn` with only these AWS settings in the environment (the SDK reads process.env itself). */
async function withAwsEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('AWS_') || k === 'HOME').map((k) => [k, process.env[k]]));
  for (const k of Object.keys(saved)) if (k.startsWith('AWS_')) delete process.env[k];
  Object.assign(process.env, { AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, vars);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

async function uploads(client: S3Client, bucket: string): Promise<string[]> {
  const res = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: 'p/' }));
  return (res.Uploads ?? []).map((u) => `${u.Key}#${u.UploadId}`).sort();
}

describe('S3 remote: messages that say what happened', () => {
  it('no credentials anywhere: says none were found, not that they were refused', async () => {
    await using server = await startS3Server();
    using ws = tempDir();
    using home = tempDir('reprod-home-');
    await generated(ws.path, 'echo a > a.txt', 'a.txt');
    useRemote(ws.path, server, 'p', { local: false });
    const res = await withAwsEnv(
      { HOME: home.path, AWS_SHARED_CREDENTIALS_FILE: path.join(home.path, 'none'), AWS_CONFIG_FILE: path.join(home.path, 'none-config') },
      () => reprod(ws.path, 'push'),
    );
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/remote 'storage' \(s3:\/\/dvc\/p at http:\/\/127\.0\.0\.1:\d+\): no credentials found: none in \.dvc\/config\.local, none in the environment/);
    expect(res.stderr).toContain('hint: Set them: `reprod remote modify --local storage access_key_id …`');
    expect(res.stderr).not.toContain('refused');
    expect(res.stdout).toBe('');
  });

  it('a profile is named: one that does not exist, and one whose keys are refused', async () => {
    await using server = await startS3Server();
    using ws = tempDir();
    using home = tempDir('reprod-home-');
    await generated(ws.path, 'echo a > a.txt', 'a.txt');
    const creds = path.join(home.path, 'credentials');
    writeFileSync(creds, `[team]\naws_access_key_id = ${S3_KEY}\naws_secret_access_key = wrong-secret-Zq81\n`);
    const env = { HOME: home.path, AWS_SHARED_CREDENTIALS_FILE: creds, AWS_CONFIG_FILE: path.join(home.path, 'none-config') };

    useRemote(ws.path, server, 'p', { local: false, extra: '    profile = nosuch\n' });
    const missing = await withAwsEnv(env, () => reprod(ws.path, 'push'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/remote 'storage' \(.*\): the AWS profile 'nosuch' \(\.dvc\/config\) gives no credentials/);
    expect(missing.stderr).toContain('hint: Add a [nosuch] section');
    expect(missing.stderr).not.toContain('default chain');

    const fromEnv = await withAwsEnv({ ...env, AWS_PROFILE: 'other' }, async () => {
      useRemote(ws.path, server, 'p', { local: false });
      return reprod(ws.path, 'push');
    });
    expect(fromEnv.stderr).toMatch(/the AWS profile 'other' \(AWS_PROFILE\) gives no credentials/);

    useRemote(ws.path, server, 'p', { local: false, extra: '    profile = team\n' });
    const refused = await withAwsEnv(env, () => reprod(ws.path, 'push'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/refused the credentials \(from profile 'team' \(\.dvc\/config\)\): (SignatureDoesNotMatch|HTTP 403)/);
    expect(refused.stderr).toContain("hint: Check the keys of profile 'team'");
    expect(`${missing.stderr}${fromEnv.stderr}${refused.stderr}`).not.toContain('wrong-secret-Zq81');
  });

  it('pull that moves nothing and fails does not say "Everything is up to date."; progress counts the failures', async () => {
    await using server = await startS3Server();
    using ws = tempDir();
    await generated(ws.path, 'mkdir -p data && for i in $(seq 1 12); do echo $i > data/f$i; done', 'data');
    useRemote(ws.path, server, 'p');
    expect((await reprod(ws.path, 'push')).code).toBe(0);
    // a remote with nothing on it: every object fails
    useRemote(ws.path, server, 'empty');
    rmSync(path.join(ws.path, '.dvc', 'cache'), { recursive: true });
    rmSync(path.join(ws.path, 'data'), { recursive: true });
    const none = await reprod(ws.path, 'pull');
    expect(none.code).toBe(1);
    expect(none.stdout).not.toContain('Everything is up to date.');
    expect(none.stderr).toContain('1 object failed to pull:\n  data: not on the remote');
    expect(none.stderr).toContain('fetch: 0/1 objects, 1 failed');

    // three of the twelve files gone from the remote: 10 of 13 objects (the listing and 9 files) arrive
    useRemote(ws.path, server, 'p');
    const client = s3Client(server);
    const objects = readdirSync(path.join(server.dir, server.bucket, 'p', 'files', 'md5'), { recursive: true })
      .map(String)
      .filter((f) => /^[0-9a-f]{2}\/[0-9a-f]{30}\._S3rver_object$/.test(f))
      .slice(0, 3);
    expect(objects).toHaveLength(3);
    for (const o of objects) await client.send(new DeleteObjectCommand({ Bucket: server.bucket, Key: `p/files/md5/${o.replace('._S3rver_object', '')}` }));
    const some = await reprod(ws.path, 'fetch', '-j', '1');
    expect(some.code).toBe(1);
    expect(some.stdout).toBe('10 files fetched\n');
    expect(some.stderr).toContain('3 objects failed to fetch:');
    const lines = some.stderr.split('\n').filter((l) => l.startsWith('fetch: '));
    expect(lines.at(-1)).toMatch(/^fetch: 10\/13 objects, 3 failed, /);
    client.destroy();
  });

  it('an interrupted multipart upload is aborted by the next push; an upload reprod did not start is left alone', async () => {
    using data = tempDir('reprod-s3-data-');
    let server = await startS3Server({ dir: data.path, crashAfterPuts: 1 });
    using ws = tempDir();
    await generated(ws.path, 'head -c 18000000 /dev/urandom > big.bin', 'big.bin');
    useRemote(ws.path, server, 'p');
    const cut = await reprod(ws.path, 'push');
    expect(await server.exited).toBe(3);
    expect(cut.code).toBe(1);
    const journal = path.join(ws.path, '.dvc', 'tmp', 'reprod', 'uploads');
    expect(readdirSync(journal)).toHaveLength(1);

    server = await startS3Server({ dir: data.path, port: server.port });
    try {
      const client = s3Client(server);
      const left = await uploads(client, server.bucket);
      expect(left).toHaveLength(1);
      const others = await client.send(new CreateMultipartUploadCommand({ Bucket: server.bucket, Key: 'p/files/md5/aa/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb' }));

      const rerun = await reprod(ws.path, 'push');
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stdout).toBe('1 file pushed\n');
      expect(rerun.stderr).toMatch(/aborted 1 unfinished multipart upload an interrupted push left on s3:\/\/dvc\/p at http:\/\/127\.0\.0\.1:\d+\n/);
      expect(await uploads(client, server.bucket)).toEqual([`p/files/md5/aa/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb#${others.UploadId}`]);
      expect(readdirSync(journal)).toEqual([]);
      expect(existsSync(path.join(ws.path, 'big.bin'))).toBe(true);
      const again = await reprod(ws.path, 'push');
      expect(again.stderr).not.toContain('aborted');
      expect(readFileSync(path.join(ws.path, 'big.bin')).length).toBe(18000000);
      client.destroy();
    } finally {
      await server.stop();
    }
  });
});
