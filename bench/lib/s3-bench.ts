import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { withBareBucketPath } from '../../src/adapters/remote/s3-remote.js';
import { S3_KEY, S3_SECRET } from '../../test/helpers/s3-server.js';

/** `.dvc/config` and `config.local` of `ws` naming the loopback S3 server's bucket `dvc` under `prefix` as the default remote. */
export function configureS3Remote(ws: string, endpoint: string, prefix: string): void {
  writeFileSync(join(ws, '.dvc', 'config'), `[core]\n    remote = bench\n['remote "bench"']\n    url = s3://dvc/${prefix}\n    endpointurl = ${endpoint}\n`);
  writeFileSync(join(ws, '.dvc', 'config.local'), `['remote "bench"']\n    access_key_id = ${S3_KEY}\n    secret_access_key = ${S3_SECRET}\n`);
}

/** The plain client: the SDK as an application would set it up for an S3-compatible server (as reprod does). */
export function plainS3Client(endpoint: string): S3Client {
  const client = new S3Client({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: S3_KEY, secretAccessKey: S3_SECRET },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: 64 }) },
  });
  return withBareBucketPath(client, 'dvc');
}
