/**
 * Remote transfer benchmark: `reprod push` and `reprod fetch`/`pull` of
 * 1 GiB in 1,000 files against the S3 SDK's plain upload and download of the
 * same files, at the same concurrency, against the same S3 server on loopback
 * (the signature-checking server the tests use, in its own process).
 *
 *   npx tsx bench/remote.ts [--files 1000] [--size 1048576] [--jobs 8] [--repeat 1]
 *
 * The plain side is what an application would write with the SDK alone:
 * read each file, PutObject; GetObject, stream to a file. reprod's side does
 * its whole job: list what the remote has, upload in DVC's layout (files,
 * then the directory listing); on fetch, md5-verify every object before it
 * enters the cache; pull also checks the files out into the workspace.
 * Target: push and fetch within 1.2x of the plain SDK.
 *
 * Data lives in bench/.data/remote/ (gitignored) and is made once.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, promises as fs, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { fetchData, pullData, pushData } from '../src/app/remotes.js';
import { LocalCache } from '../src/adapters/cache/local-cache.js';
import { WorkspaceHasher } from '../src/hashing/workspace-hasher.js';
import { mapLimit } from '../src/remote/pool.js';
import { startS3Server } from '../test/helpers/s3-server.js';
import { configureS3Remote, plainS3Client } from './lib/s3-bench.js';
import { intArg } from './lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const base = resolve(here, '.data', 'remote');
const ws = join(base, 'ws');

const FILES = intArg('--files', 1000);
const SIZE = intArg('--size', 1 << 20);
const JOBS = intArg('--jobs', 8);
const REPEAT = intArg('--repeat', 1);

/** The workspace: data/ with FILES random files, tracked by data.dvc, in the cache. Made once. */
async function prepare(): Promise<string[]> {
  const marker = join(ws, `data-${FILES}x${SIZE}.dvc`);
  const dataDir = join(ws, 'data');
  if (!existsSync(marker)) {
    rmSync(ws, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    mkdirSync(join(ws, '.dvc'));
    const buf = Buffer.alloc(SIZE);
    for (let i = 0; i < FILES; i++) writeFileSync(join(dataDir, `f${String(i).padStart(5, '0')}`), randomFillSync(buf));
    const hasher = new WorkspaceHasher({ root: ws, statePath: null });
    const result = await hasher.hash('data');
    await hasher[Symbol.asyncDispose]();
    if (!result) throw new Error('no data');
    await new LocalCache({ root: ws }).save('data', result);
    const dvc = `outs:\n- md5: ${result.info.md5}\n  size: ${result.info.size}\n  nfiles: ${result.info.nfiles}\n  hash: md5\n  path: data\n`;
    writeFileSync(join(ws, 'data.dvc'), dvc);
    writeFileSync(marker, dvc);
  }
  return readdirSync(dataDir).sort();
}

/** Each phase starts with no dirty pages left by the one before (writeback would otherwise slow whichever comes next). */
async function timed(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  spawnSync('sync');
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  await fn();
  const c = process.cpuUsage(c0);
  return { wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: (c.user + c.system) / 1e6 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  console.log(`preparing ${FILES} files of ${SIZE} bytes in ${ws} …`);
  const names = await prepare();
  const s3dir = join(base, 's3');
  rmSync(s3dir, { recursive: true, force: true });
  await using server = await startS3Server({ dir: s3dir });
  const client = plainS3Client(server.endpoint);
  const down = join(base, 'plain-download');
  const t: Record<string, { wall: number; cpu: number }[]> = { plainUp: [], push: [], plainDown: [], fetch: [], pull: [] };
  const cacheFiles = join(ws, '.dvc', 'cache', 'files');

  for (let r = 0; r < REPEAT; r++) {
    // alternate which side goes first, so that neither always inherits the other's leftovers (server disk, page cache)
    const plainFirst = r % 2 === 0;
    const plainUp = async () =>
      t.plainUp!.push(
        await timed(() =>
          mapLimit(names, JOBS, async (n) => {
            const body = await fs.readFile(join(ws, 'data', n));
            await client.send(new PutObjectCommand({ Bucket: 'dvc', Key: `plain-${r}/${n}`, Body: body, ContentLength: body.length }));
          }),
        ),
      );
    const push = async () => {
      configureS3Remote(ws, server.endpoint, `dvc-${r}`);
      t.push!.push(
        await timed(async () => {
          const res = await pushData(ws, [], { jobs: JOBS });
          if (res.failed.length > 0 || res.moved !== FILES + 1) throw new Error(`push: moved ${res.moved}, ${res.failed.length} failed`);
        }),
      );
    };
    const plainDown = async () => {
      rmSync(down, { recursive: true, force: true });
      mkdirSync(down, { recursive: true });
      t.plainDown!.push(
        await timed(() =>
          mapLimit(names, JOBS, async (n) => {
            const res = await client.send(new GetObjectCommand({ Bucket: 'dvc', Key: `plain-${r}/${n}` }));
            if (!(res.Body instanceof Readable)) throw new Error('no body');
            await pipeline(res.Body, createWriteStream(join(down, n)));
          }),
        ),
      );
    };
    // fetch into an empty cache (the workspace keeps its files)
    const fetch = async () => {
      const saved = `${cacheFiles}.saved`;
      await fs.rename(cacheFiles, saved);
      t.fetch!.push(
        await timed(async () => {
          const res = await fetchData(ws, [], { jobs: JOBS });
          if (res.failed.length > 0 || res.moved !== FILES + 1) throw new Error(`fetch: moved ${res.moved}, ${res.failed.length} failed`);
        }),
      );
      rmSync(cacheFiles, { recursive: true, force: true });
      await fs.rename(saved, cacheFiles);
    };
    // pull into an empty cache and an empty workspace: fetch + checkout
    const pull = async () => {
      const saved = `${cacheFiles}.saved`;
      await fs.rename(cacheFiles, saved);
      await fs.rename(join(ws, 'data'), join(base, 'data.saved'));
      t.pull!.push(
        await timed(async () => {
          const res = await pullData(ws, [], { jobs: JOBS });
          if (res.failed.length > 0 || res.added.length !== 1) throw new Error(`pull: ${res.failed.length} failed`);
        }),
      );
      rmSync(cacheFiles, { recursive: true, force: true });
      rmSync(join(ws, 'data'), { recursive: true, force: true });
      await fs.rename(saved, cacheFiles);
      await fs.rename(join(base, 'data.saved'), join(ws, 'data'));
    };
    for (const step of plainFirst ? [plainUp, push, plainDown, fetch, pull] : [push, plainUp, pull, fetch, plainDown]) await step();
  }
  client.destroy();

  const gib = (FILES * SIZE) / 2 ** 30;
  const wall = (k: string) => median(t[k]!.map((x) => x.wall));
  const cpu = (k: string) => median(t[k]!.map((x) => x.cpu));
  const row = (label: string, k: string, vs?: string) => {
    const w = wall(k);
    const ratio = vs ? `   ${(w / wall(vs)).toFixed(2)}x plain (cpu ${(cpu(k) / cpu(vs)).toFixed(2)}x)` : '';
    const samples = t[k]!.map((x) => x.wall.toFixed(1)).join(' ');
    console.log(`${label.padEnd(32)} ${w.toFixed(2).padStart(6)} s ${((FILES * SIZE) / 2 ** 20 / w).toFixed(0).padStart(5)} MiB/s  cpu ${cpu(k).toFixed(2).padStart(5)} s${ratio}   [${samples}]`);
  };
  console.log(`\n${FILES} files, ${gib.toFixed(2)} GiB, ${JOBS} transfers at once, median of ${REPEAT} (wall; cpu = this process), S3 server on loopback:`);
  row('SDK plain upload (PutObject)', 'plainUp');
  row('reprod push', 'push', 'plainUp');
  row('SDK plain download (GetObject)', 'plainDown');
  row('reprod fetch (md5-verified)', 'fetch', 'plainDown');
  row('reprod pull (fetch + checkout)', 'pull', 'plainDown');
  const ok = wall('push') / wall('plainUp') <= 1.2 && wall('fetch') / wall('plainDown') <= 1.2;
  console.log(`target push and fetch <= 1.2x plain: ${ok ? 'met' : 'NOT met'}`);
}

await main();
