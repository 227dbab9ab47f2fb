/**
 * Data remotes over the S3 protocol, against a real S3 server on loopback
 * that checks SigV4 signatures (test/helpers/s3-server.ts): the bucket's
 * objects compared with what DVC pushed for z-remote-push-pull, DVC's pushed
 * tree pulled back, and the faults: a server that dies mid-push, a corrupt
 * object, wrong credentials.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { copyTree, readLines, reprod, tempDir } from '../../helpers/workspace.js';
import { s3Client, s3RemoteConfig, startS3Server, type S3TestServer } from '../../helpers/s3-server.js';
import { conformance } from '../../helpers/conformance.js';

const CASE = conformance('dvc', 'z-remote-push-pull');
const EXPECTED = path.join(CASE, 'expected');

function md5(b: Buffer | string): string {
  return createHash('md5').update(b).digest('hex');
}

async function bucketListing(client: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  do {
    const res = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/`, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of res.Contents ?? []) out.push(`${(o.Key as string).slice(prefix.length + 1)}\t${o.Size}`);
    token = res.IsTruncated ? res.NextContinuationToken : undefined;
  } while (token);
  return out.sort();
}

async function objectBytes(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

function useRemote(ws: string, server: S3TestServer, prefix: string, secret?: string): void {
  const cfg = s3RemoteConfig(server, prefix);
  mkdirSync(path.join(ws, '.dvc'), { recursive: true });
  writeFileSync(path.join(ws, '.dvc', 'config'), cfg.config);
  writeFileSync(path.join(ws, '.dvc', 'config.local'), cfg.local(secret));
}

async function reproduced(ws: string, server: S3TestServer, prefix: string): Promise<void> {
  copyTree(path.join(CASE, 'input'), ws);
  writeFileSync(path.join(ws, 'raw.csv.dvc'), readFileSync(path.join(EXPECTED, 'raw.csv.dvc')));
  useRemote(ws, server, prefix);
  const res = await reprod(ws, '--runtime', 'host', 'repro');
  expect(res.code, res.stderr).toBe(0);
}

describe('S3 remote (loopback server checking signatures)', () => {
  it("pushes DVC's layout object by object, byte for byte; status -c as DVC printed it", async () => {
    await using server = await startS3Server();
    using ws = tempDir();
    await reproduced(ws.path, server, 'team/project');
    const client = s3Client(server);

    const before = await reprod(ws.path, 'status', '-c', '--json');
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout)).toEqual(JSON.parse(readFileSync(path.join(EXPECTED, 'status-cloud-before-push.json'), 'utf8')));

    const push = await reprod(ws.path, 'push', '-j', '3');
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toBe('4 files pushed\n');
    const listing = readLines(path.join(EXPECTED, 'remote-listing-after-push.txt'));
    expect(await bucketListing(client, server.bucket, 'team/project')).toEqual(listing);
    for (const line of listing) {
      const key = line.split('\t')[0] as string;
      expect(await objectBytes(client, server.bucket, `team/project/${key}`), key).toEqual(readFileSync(path.join(EXPECTED, 'remote', key)));
    }
    expect(JSON.parse((await reprod(ws.path, 'status', '-c', '--json')).stdout)).toEqual({});

    expect((await reprod(ws.path, 'push', '--run-cache')).stdout).toBe('1 file pushed\n');
    expect(await bucketListing(client, server.bucket, 'team/project')).toEqual(readLines(path.join(EXPECTED, 'remote-listing-after-push-run-cache.txt')));
    client.destroy();
  });

  it("pulls the tree DVC pushed into an empty workspace and checks out DVC's files", async () => {
    await using server = await startS3Server();
    const client = s3Client(server);
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    for (const file of walk(path.join(EXPECTED, 'remote'))) {
      const key = `dvcstore/${path.relative(path.join(EXPECTED, 'remote'), file)}`;
      await client.send(new PutObjectCommand({ Bucket: server.bucket, Key: key, Body: readFileSync(file) }));
    }
    using ws = tempDir();
    for (const f of ['dvc.yaml', '.dvcignore']) writeFileSync(path.join(ws.path, f), readFileSync(path.join(CASE, 'input', f)));
    mkdirSync(path.join(ws.path, 'src'));
    writeFileSync(path.join(ws.path, 'src', 'x.txt'), 'x\n');
    for (const f of ['dvc.lock', 'raw.csv.dvc']) writeFileSync(path.join(ws.path, f), readFileSync(path.join(EXPECTED, f)));
    useRemote(ws.path, server, 'dvcstore');

    const pull = await reprod(ws.path, 'pull', '--run-cache');
    expect(pull.code, pull.stderr).toBe(0);
    for (const line of readLines(path.join(EXPECTED, 'md5-after-pull.txt'))) {
      const [sum, file] = line.split(/\s+/) as [string, string];
      expect(md5(readFileSync(path.join(ws.path, file))), file).toBe(sum);
    }
    expect(JSON.parse((await reprod(ws.path, 'status', '--json')).stdout)).toEqual({});
    // with the run-cache pulled, a wiped output comes back without running the stage
    rmSync(path.join(ws.path, 'table.csv'));
    const repro = await reprod(ws.path, '--runtime', 'host', 'repro');
    expect(repro.stdout).toMatch(/Stage 'build' is cached: restored/);
    client.destroy();
  });

  it('a push cut off by the server dying fails listing what is missing; run again, it completes', async () => {
    using data = tempDir('reprod-s3-data-');
    let server = await startS3Server({ dir: data.path, crashAfterPuts: 25 });
    using ws = tempDir();
    writeFileSync(
      path.join(ws.path, 'dvc.yaml'),
      'stages:\n  gen:\n    cmd: mkdir -p data && for i in $(seq 1 80); do head -c 40000 /dev/urandom > data/f$i; done\n    outs:\n      - data\n',
    );
    useRemote(ws.path, server, 'p');
    expect((await reprod(ws.path, '--runtime', 'host', 'repro')).code).toBe(0);

    const cut = await reprod(ws.path, 'push', '-j', '4');
    expect(await server.exited).toBe(3);
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(/objects? failed to push:\n {2}data\/f\d+: /);
    expect(cut.stderr).toMatch(/data: not sent: \d+ of its files did not reach the remote/);
    expect(cut.stderr).toMatch(/: not attempted: the remote stopped answering\n/);

    server = await startS3Server({ dir: data.path, port: server.port });
    try {
      const client = s3Client(server);
      const partial = await bucketListing(client, server.bucket, 'p');
      expect(partial.length).toBeGreaterThan(0);
      expect(partial.some((l) => l.includes('.dir\t'))).toBe(false);

      // an object the dying server left cut short (its size differs from the cache's) is sent again
      const complete = partial.filter((l) => {
        const [key, size] = l.split('\t') as [string, string];
        return statSync(path.join(ws.path, '.dvc/cache', key)).size === Number(size);
      });
      const rerun = await reprod(ws.path, 'push', '-j', '4');
      expect(rerun.code, rerun.stderr).toBe(0);
      expect(rerun.stdout).toBe(`${81 - complete.length} files pushed\n`);
      expect(await bucketListing(client, server.bucket, 'p')).toHaveLength(81);
      expect((await reprod(ws.path, 'status', '-c', '--json')).stdout).toBe('{}\n');

      // every byte arrived: a fresh workspace pulls and verifies all of it
      using other = tempDir();
      for (const f of ['dvc.yaml', 'dvc.lock']) writeFileSync(path.join(other.path, f), readFileSync(path.join(ws.path, f)));
      useRemote(other.path, server, 'p');
      const pull = await reprod(other.path, 'pull');
      expect(pull.code, pull.stderr).toBe(0);
      for (const f of readdirSync(path.join(ws.path, 'data'))) {
        expect(readFileSync(path.join(other.path, 'data', f))).toEqual(readFileSync(path.join(ws.path, 'data', f)));
      }
      client.destroy();
    } finally {
      await server.stop();
    }
  });

  it('reports a corrupt object on the remote and never caches it', async () => {
    await using server = await startS3Server();
    using ws = tempDir();
    await reproduced(ws.path, server, 'p');
    expect((await reprod(ws.path, 'push')).code).toBe(0);
    const client = s3Client(server);
    await client.send(new PutObjectCommand({ Bucket: server.bucket, Key: 'p/files/md5/00/9520053b00386d1173f3988c55d192', Body: 'z\n' }));
    rmSync(path.join(ws.path, '.dvc', 'cache'), { recursive: true });
    rmSync(path.join(ws.path, 'dist'), { recursive: true });

    const fetch = await reprod(ws.path, 'fetch');
    expect(fetch.code).toBe(1);
    expect(fetch.stdout).toBe('3 files fetched\n');
    expect(fetch.stderr).toContain(`1 object failed to fetch:\n  dist/y.txt: corrupt on the remote: its md5 is ${md5('z\n')}`);
    // the hint says which object, where, and how to mend it: fetching again would get the same bytes
    expect(fetch.stderr).toMatch(
      /hint: The remote's copy of files\/md5\/00\/9520053b00386d1173f3988c55d192 on s3:\/\/dvc\/p at http:\/\/127\.0\.0\.1:\d+ \(dist\/y\.txt\) does not match its md5/,
    );
    expect(fetch.stderr).toContain('delete that object on the remote, then push it again');
    expect(fetch.stderr).not.toContain('Run the command again');
    const cached = readdirSync(path.join(ws.path, '.dvc/cache/files/md5'), { recursive: true }).map(String);
    expect(cached.some((p) => p.includes('9520053b00386d1173f3988c55d192'))).toBe(false);
    client.destroy();
  });

  it('wrong credentials: a clear error naming the remote, never the secret', async () => {
    await using server = await startS3Server();
    using ws = tempDir();
    await reproduced(ws.path, server, 'p');
    const secret = 'fake-secret-7Hq2ZpX9';
    useRemote(ws.path, server, 'p', secret);
    const outputs: string[] = [];
    for (const args of [['push'], ['fetch', '--run-cache'], ['status', '-c'], ['gc', '-c'], ['pull', 'wiped']]) {
      if (args[1] === 'wiped') {
        args.pop();
        rmSync(path.join(ws.path, '.dvc', 'cache'), { recursive: true, force: true });
      }
      const res = await reprod(ws.path, ...args);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr, args.join(' ')).toMatch(/remote 'storage' \(s3:\/\/dvc\/p at http:\/\/127\.0\.0\.1:\d+\) refused the credentials \(from \.dvc\/config\.local\)/);
      outputs.push(res.stdout, res.stderr);
    }
    expect(outputs.join('\n')).not.toContain(secret);
    // the same through the environment, when config.local has none
    rmSync(path.join(ws.path, '.dvc', 'config.local'));
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = secret;
    try {
      const res = await reprod(ws.path, 'push');
      expect(res.stderr).toMatch(/refused the credentials \(from environment\)/);
      expect(`${res.stdout}${res.stderr}`).not.toContain(secret);
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
    expect(statSync(path.join(ws.path, 'dvc.lock')).isFile()).toBe(true);
  });
});
