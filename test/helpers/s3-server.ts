/**
 * A real S3 protocol server on loopback for tests and the bench: the
 * maintained fork of s3rver (@20minutes/s3rver), which checks SigV4
 * signatures, run in a child process so that a test can kill it mid-transfer
 * and start it again on the same port and data folder. s3rver has neither
 * ListMultipartUploads nor AbortMultipartUpload; the child answers those
 * two from s3rver's own store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { S3Client } from '@aws-sdk/client-s3';
import { withBareBucketPath } from '../../src/adapters/remote/s3-remote.js';

/** s3rver's built-in account. */
export const S3_KEY = 'S3RVER';
export const S3_SECRET = 'S3RVER';

/**
 * The child: s3rver's Koa app behind a plain HTTP server, so that it can
 * count PUT requests and, with a crash limit, die abruptly on the one past
 * the limit (the connection is reset, as when a server goes away mid-push).
 */
const CHILD = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const [modPath, dir, port, crashAfter, bucket] = process.argv.slice(1);
const S3rver = require(modPath);
const srv = new S3rver({ directory: dir, silent: true, configureBuckets: [{ name: bucket }], vhostBuckets: false });
(async () => {
  await srv.configureBuckets();
  const handle = srv.callback();
  const limit = Number(crashAfter);
  let puts = 0;
  let inflight = 0;
  let dying = false;
  // multipart parts being received at once, and the most seen (GET /__parts answers them)
  let parts = 0;
  let maxParts = 0;
  // Dies like a server whose store is atomic (as S3 is): requests already being written finish,
  // everything after is cut off. s3rver itself is not atomic; a truncated object is covered elsewhere.
  // s3rver has no ListMultipartUploads nor AbortMultipartUpload: both are answered here from its own store
  // (<dir>/<bucket>/._S3rver_uploads/<id>/key), without a signature check
  const uploadsDir = path.join(dir, bucket, '._S3rver_uploads');
  const xml = (t) => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const uploadsCall = (req, res) => {
    const url = new URL(req.url, 'http://x');
    if (req.method === 'GET' && url.pathname === '/' + bucket && url.searchParams.has('uploads')) {
      const prefix = url.searchParams.get('prefix') || '';
      let ids = [];
      try { ids = fs.readdirSync(uploadsDir); } catch {}
      const rows = ids.flatMap((id) => {
        try {
          const file = path.join(uploadsDir, id, 'key');
          const key = fs.readFileSync(file, 'utf8');
          return key.startsWith(prefix) ? ['<Upload><Key>' + xml(key) + '</Key><UploadId>' + id + '</UploadId><Initiated>' + fs.statSync(file).mtime.toISOString() + '</Initiated><StorageClass>STANDARD</StorageClass></Upload>'] : [];
        } catch { return []; }
      });
      res.setHeader('content-type', 'application/xml');
      res.end('<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>' + bucket + '</Bucket><Prefix>' + xml(prefix) + '</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>' + rows.join('') + '</ListMultipartUploadsResult>');
      return true;
    }
    const id = url.searchParams.get('uploadId');
    if (req.method === 'DELETE' && id !== null && url.pathname.startsWith('/' + bucket + '/')) {
      const key = decodeURIComponent(url.pathname.slice(bucket.length + 2));
      let known = false;
      try { known = /^[0-9a-f]+$/.test(id) && fs.readFileSync(path.join(uploadsDir, id, 'key'), 'utf8') === key; } catch {}
      if (known) fs.rmSync(path.join(uploadsDir, id), { recursive: true, force: true });
      res.statusCode = known ? 204 : 404;
      if (!known) res.setHeader('content-type', 'application/xml');
      res.end(known ? '' : '<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>no such upload</Message></Error>');
      return true;
    }
    return false;
  };
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/__parts') return void res.end(JSON.stringify({ inFlight: parts, max: maxParts }));
    if (dying || (limit >= 0 && req.method === 'PUT' && ++puts > limit)) {
      dying = true;
      req.socket.destroy();
      if (inflight === 0) process.exit(3);
      return;
    }
    if (uploadsCall(req, res)) return;
    inflight++;
    const isPart = req.method === 'PUT' && /[?&]partNumber=/.test(req.url);
    if (isPart) maxParts = Math.max(maxParts, ++parts);
    res.on('close', () => {
      inflight--;
      if (isPart) parts--;
      if (dying && inflight === 0) process.exit(3);
    });
    handle(req, res);
  });
  server.listen(Number(port), '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\\n'));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(2); });
`;

export interface S3TestServer extends AsyncDisposable {
  pid: number;
  endpoint: string;
  port: number;
  /** The server's data folder (kept across restarts). */
  dir: string;
  bucket: string;
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number | null>;
  /** Kills the server (idempotent). */
  stop(): Promise<void>;
  /** Multipart parts being received now, and the most ever received at once. */
  parts(): Promise<{ inFlight: number; max: number }>;
}

export interface S3ServerOptions {
  /** Data folder; a new temporary one when absent (removed on dispose). */
  dir?: string;
  /** 0: any free port. */
  port?: number;
  bucket?: string;
  /** Die on the PUT after this many (fault tests). */
  crashAfterPuts?: number;
  /** Listen on the loopback of this process's network namespace instead of ours (joined with nsenter). */
  netnsOfPid?: number;
}

export async function startS3Server(opts: S3ServerOptions = {}): Promise<S3TestServer> {
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(path.join(os.tmpdir(), 'reprod-s3-'));
  const bucket = opts.bucket ?? 'dvc';
  const modPath = createRequire(import.meta.url).resolve('@20minutes/s3rver');
  const args = ['-e', CHILD, modPath, dir, String(opts.port ?? 0), String(opts.crashAfterPuts ?? -1), bucket];
  const child: ChildProcess =
    opts.netnsOfPid === undefined
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('nsenter', [`--net=/proc/${opts.netnsOfPid}/ns/net`, '--', process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    void exited.then((code) => reject(new Error(`the S3 server exited (${code}) before listening: ${stderr}`)));
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    pid: child.pid as number,
    endpoint: `http://127.0.0.1:${port}`,
    port,
    dir,
    bucket,
    exited,
    stop,
    parts: async () => (await (await fetch(`http://127.0.0.1:${port}/__parts`)).json()) as { inFlight: number; max: number },
    [Symbol.asyncDispose]: async () => {
      await stop();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A plain SDK client for the server (seeding, listing, corrupting objects), configured as reprod's is. */
export function s3Client(server: Pick<S3TestServer, 'endpoint' | 'bucket'>, secret = S3_SECRET): S3Client {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({
    endpoint: server.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: S3_KEY, secretAccessKey: secret },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return withBareBucketPath(client, server.bucket);
}

/** `.dvc/config` lines for a remote on this server (the credentials go to config.local). */
export function s3RemoteConfig(server: Pick<S3TestServer, 'endpoint' | 'bucket'>, prefix: string, name = 'storage'): { config: string; local: (secret?: string) => string } {
  return {
    config: `[core]\n    remote = ${name}\n['remote "${name}"']\n    url = s3://${server.bucket}/${prefix}\n    endpointurl = ${server.endpoint}\n`,
    local: (secret = S3_SECRET) => `['remote "${name}"']\n    access_key_id = ${S3_KEY}\n    secret_access_key = ${secret}\n`,
  };
}
