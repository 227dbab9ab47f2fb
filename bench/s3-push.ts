/**
 * S3 push of one big file: `reprod push` of a 1 GiB file against the SDK's
 * own multipart `Upload` (@aws-sdk/lib-storage) with the same part size
 * (16 MiB) and the same part concurrency (4), against the same S3 server on
 * loopback (the signature-checking server the tests use, in its own process).
 * Target: push ≤ 1.1× the SDK's Upload (issue 16).
 *
 *   npx tsx bench/s3-push.ts [--mib 1024] [--repeat 3]
 *
 * The two sides alternate which goes first, each into its own key prefix;
 * medians are reported. Data lives in bench/.data/s3-push/ (gitignored) and
 * is made once.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Upload } from '@aws-sdk/lib-storage';
import { LocalCache } from '../src/adapters/cache/local-cache.js';
import { pushData } from '../src/app/remotes.js';
import { WorkspaceHasher } from '../src/hashing/workspace-hasher.js';
import { startS3Server } from '../test/helpers/s3-server.js';
import { configureS3Remote, plainS3Client } from './lib/s3-bench.js';
import { intArg, loadLine, median } from './lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const base = resolve(here, '.data', 's3-push');
const ws = join(base, 'ws');

const MIB = intArg('--mib', 1024);
const REPEAT = intArg('--repeat', 3);
const PART = 16 << 20;
const QUEUE = 4;

/** The workspace: big.bin (MIB MiB of random bytes), tracked by big.bin.dvc, in the cache. Made once. */
async function prepare(): Promise<string> {
  const file = join(ws, 'big.bin');
  const marker = join(ws, `big-${MIB}.dvc`);
  if (!existsSync(marker)) {
    rmSync(ws, { recursive: true, force: true });
    mkdirSync(join(ws, '.dvc'), { recursive: true });
    const fd = openSync(file, 'w');
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < MIB; i++) writeSync(fd, randomFillSync(chunk));
    closeSync(fd);
    const hasher = new WorkspaceHasher({ root: ws, statePath: null });
    const result = await hasher.hash('big.bin');
    await hasher[Symbol.asyncDispose]();
    if (!result) throw new Error('no data');
    await new LocalCache({ root: ws }).save('big.bin', result);
    const dvc = `outs:\n- md5: ${result.info.md5}\n  size: ${result.info.size}\n  hash: md5\n  path: big.bin\n`;
    writeFileSync(join(ws, 'big.bin.dvc'), dvc);
    writeFileSync(marker, dvc);
  }
  return file;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  // no dirty pages left by the side before
  spawnSync('sync');
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  console.log(`preparing a ${MIB} MiB file in ${ws} …`);
  const file = await prepare();
  const s3dir = join(base, 's3');
  rmSync(s3dir, { recursive: true, force: true });
  await using server = await startS3Server({ dir: s3dir });
  const client = plainS3Client(server.endpoint);
  const t = { sdk: [] as number[], push: [] as number[] };
  for (let r = 0; r < REPEAT; r++) {
    const sdk = async () =>
      t.sdk.push(
        await timed(() =>
          new Upload({ client, params: { Bucket: 'dvc', Key: `sdk-${r}/big.bin`, Body: createReadStream(file) }, partSize: PART, queueSize: QUEUE }).done(),
        ),
      );
    const push = async () => {
      configureS3Remote(ws, server.endpoint, `push-${r}`);
      t.push.push(
        await timed(async () => {
          const res = await pushData(ws, [], { jobs: 1 });
          if (res.failed.length > 0 || res.moved !== 1) throw new Error(`push: moved ${res.moved}, ${res.failed.length} failed`);
        }),
      );
    };
    for (const step of r % 2 === 0 ? [sdk, push] : [push, sdk]) await step();
    // the server's disk is not what is measured: drop what was stored
    rmSync(s3dir, { recursive: true, force: true });
    mkdirSync(join(s3dir, 'dvc'), { recursive: true });
  }
  client.destroy();
  const sdk = median(t.sdk);
  const push = median(t.push);
  const mibs = (s: number) => (MIB / s).toFixed(0);
  console.log(`\none ${MIB} MiB file, parts of 16 MiB, 4 at once, median of ${REPEAT} (wall), S3 server on loopback (${loadLine()}):`);
  console.log(`  SDK Upload (lib-storage):  ${sdk.toFixed(2)} s  ${mibs(sdk)} MiB/s   [${t.sdk.map((x) => x.toFixed(2)).join(' ')}]`);
  console.log(`  reprod push:               ${push.toFixed(2)} s  ${mibs(push)} MiB/s   [${t.push.map((x) => x.toFixed(2)).join(' ')}]  ${(push / sdk).toFixed(2)}x the SDK (target ≤ 1.1x: ${push / sdk <= 1.1 ? 'met' : 'NOT met'})`);
}

await main();
