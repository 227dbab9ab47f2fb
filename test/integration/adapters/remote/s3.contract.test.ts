import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import { S3Remote } from '../../../../src/adapters/remote/s3-remote.js';
import type { S3RemoteSpec } from '../../../../src/remote/remote-config.js';
import { remoteContract } from '../../../helpers/remote-contract.js';
import { S3_KEY, S3_SECRET, s3Client, startS3Server, type S3TestServer } from '../../../helpers/s3-server.js';

let server: S3TestServer;
let n = 0;
beforeAll(async () => {
  server = await startS3Server();
});
afterAll(async () => server[Symbol.asyncDispose]());

function spec(prefix: string, secret = S3_SECRET): S3RemoteSpec {
  return {
    kind: 's3',
    name: 'storage',
    url: `s3://${server.bucket}/${prefix}`,
    bucket: server.bucket,
    prefix,
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: S3_KEY, secretAccessKey: secret },
    credentialSource: '.dvc/config.local',
    sslVerify: true,
  };
}

const prefixes = new WeakMap<object, string>();

remoteContract('S3 (s3rver on loopback, checking signatures)', {
  open: async () => {
    const prefix = `contract/${++n}`;
    const remote = new S3Remote(spec(prefix));
    prefixes.set(remote, prefix);
    return remote;
  },
  layout: async (remote) => {
    const prefix = `${prefixes.get(remote)}/`;
    const client = s3Client(server);
    try {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const res = await client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }));
        for (const o of res.Contents ?? []) out.push(`${(o.Key as string).slice(prefix.length)}\t${o.Size}`);
        token = res.IsTruncated ? res.NextContinuationToken : undefined;
      } while (token);
      return out.sort();
    } finally {
      client.destroy();
    }
  },
  badCredentials: async () => {
    const secret = 'wrong-secret-Zq81xV';
    return { remote: new S3Remote(spec('contract/bad', secret)), secret, name: 'storage', source: '.dvc/config.local' };
  },
});
