/**
 * A file above the part size goes up in parts, several at once (as the
 * SDK's Upload sends them), against the real S3 server on loopback: the
 * object is the file, byte for byte; the server saw parts in flight
 * together, never more than the upload's limit; a server that dies mid-way
 * fails the put, and a put again (the server back) completes.
 */
import { createHash, randomFillSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { S3Remote } from '../../../../src/adapters/remote/s3-remote.js';
import type { S3RemoteSpec } from '../../../../src/remote/remote-config.js';
import { S3_KEY, S3_SECRET, s3Client, startS3Server, type S3TestServer } from '../../../helpers/s3-server.js';
import { tempDir } from '../../../helpers/workspace.js';

const MiB = 1 << 20;
/** Five parts: four of 16 MiB, one of 6. */
const SIZE = 70 * MiB;

function spec(server: S3TestServer): S3RemoteSpec {
  return {
    kind: 's3',
    name: 'bench',
    url: `s3://${server.bucket}/parts`,
    bucket: server.bucket,
    prefix: 'parts',
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
    credentialSource: '.dvc/config.local',
    sslVerify: true,
  };
}

function bigFile(dir: string): { file: string; md5: string } {
  const buf = randomFillSync(Buffer.alloc(SIZE));
  const file = path.join(dir, 'big.bin');
  writeFileSync(file, buf);
  return { file, md5: createHash('md5').update(buf).digest('hex') };
}

describe('S3 multipart upload', () => {
  it('sends parts at once, at most four, and stores the file byte for byte', async () => {
    await using server = await startS3Server();
    using dir = tempDir();
    const { file, md5 } = bigFile(dir.path);
    const remote = new S3Remote(spec(server));
    let reported = 0;
    await remote.put('files/md5/ab/cdef', file, SIZE, { onBytes: (n) => void (reported += n) });
    remote.close();
    expect(reported).toBe(SIZE);
    const parts = await server.parts();
    expect(parts.max).toBeGreaterThan(1);
    expect(parts.max).toBeLessThanOrEqual(4);
    expect(parts.inFlight).toBe(0);
    const client = s3Client(server);
    const res = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: 'parts/files/md5/ab/cdef' }));
    const got = Buffer.from(await res.Body!.transformToByteArray());
    client.destroy();
    expect(got.length).toBe(SIZE);
    expect(createHash('md5').update(got).digest('hex')).toBe(md5);
  });

  it('fails when the server dies mid-upload, and completes when put again', async () => {
    using dir = tempDir();
    const { file, md5 } = bigFile(dir.path);
    const data = path.join(dir.path, 's3');
    let port: number;
    {
      // the create is a POST: the third part's PUT is the one the server dies on
      await using server = await startS3Server({ dir: data, crashAfterPuts: 2 });
      port = server.port;
      const remote = new S3Remote(spec(server));
      await expect(remote.put('files/md5/ab/cdef', file, SIZE)).rejects.toMatchObject({ message: expect.stringMatching(/uploading/) });
      remote.close();
      expect(await server.exited).toBe(3);
    }
    await using server = await startS3Server({ dir: data, port });
    const remote = new S3Remote(spec(server));
    await remote.put('files/md5/ab/cdef', file, SIZE);
    remote.close();
    const client = s3Client(server);
    const res = await client.send(new GetObjectCommand({ Bucket: server.bucket, Key: 'parts/files/md5/ab/cdef' }));
    const got = Buffer.from(await res.Body!.transformToByteArray());
    client.destroy();
    expect(createHash('md5').update(got).digest('hex')).toBe(md5);
  });
});
