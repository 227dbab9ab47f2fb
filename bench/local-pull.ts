/**
 * Local pull: `reprod pull` of 1,000 files of 1 MiB from a local (folder)
 * remote into an empty cache and an empty workspace, against `cp -r` of the
 * remote's objects into the cache plus `cp -r` of the files into the
 * workspace (cache.type copy: what DVC's default `reflink,copy` comes to on a
 * filesystem without reflinks; `cp --reflink=auto` where it has them).
 * Target: pull ≤ 1.5× the copies (issue 16).
 *
 *   npx tsx bench/local-pull.ts [--files 1000] [--size 1048576] [--jobs 8] [--repeat 3]
 *
 * The copies are made in DVC's layout with the same data, so both sides
 * write the same bytes into the same number of files, twice. The sides
 * alternate which goes first; medians are reported. Data lives in
 * bench/.data/local-pull/ (gitignored) and is made once.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalCache } from '../src/adapters/cache/local-cache.js';
import { pullData, pushData } from '../src/app/remotes.js';
import { WorkspaceHasher } from '../src/hashing/workspace-hasher.js';
import { intArg, loadLine } from './lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const base = resolve(here, '.data', 'local-pull');
const ws = join(base, 'ws');
const remoteDir = join(base, 'remote');

const FILES = intArg('--files', 1000);
const SIZE = intArg('--size', 1 << 20);
const JOBS = intArg('--jobs', 8);
const REPEAT = intArg('--repeat', 3);

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
}

/** data/ with FILES random files, tracked by data.dvc, pushed to the local remote. Made once. */
async function prepare(): Promise<void> {
  const marker = join(base, `pushed-${FILES}x${SIZE}`);
  if (existsSync(marker)) return;
  rmSync(base, { recursive: true, force: true });
  mkdirSync(join(ws, 'data'), { recursive: true });
  mkdirSync(join(ws, '.dvc'));
  writeFileSync(join(ws, '.dvc', 'config'), `[core]\n    remote = bench\n['remote "bench"']\n    url = ${remoteDir}\n`);
  const buf = Buffer.alloc(SIZE);
  for (let i = 0; i < FILES; i++) writeFileSync(join(ws, 'data', `f${String(i).padStart(5, '0')}`), randomFillSync(buf));
  const hasher = new WorkspaceHasher({ root: ws, statePath: null });
  const result = await hasher.hash('data');
  await hasher[Symbol.asyncDispose]();
  if (!result) throw new Error('no data');
  await new LocalCache({ root: ws }).save('data', result);
  writeFileSync(join(ws, 'data.dvc'), `outs:\n- md5: ${result.info.md5}\n  size: ${result.info.size}\n  nfiles: ${result.info.nfiles}\n  hash: md5\n  path: data\n`);
  const pushed = await pushData(ws, [], { jobs: JOBS });
  if (pushed.failed.length > 0) throw new Error('push failed');
  // the copies' source for the workspace side: the same files, kept aside
  renameSync(join(ws, 'data'), join(base, 'data-ref'));
  rmSync(join(ws, '.dvc', 'cache'), { recursive: true, force: true });
  rmSync(join(ws, '.dvc', 'tmp'), { recursive: true, force: true });
  writeFileSync(marker, '');
}

function empty(): void {
  rmSync(join(ws, '.dvc', 'cache'), { recursive: true, force: true });
  rmSync(join(ws, '.dvc', 'tmp'), { recursive: true, force: true });
  rmSync(join(ws, 'data'), { recursive: true, force: true });
  rmSync(join(base, 'cp'), { recursive: true, force: true });
  // no dirty pages left by the side before
  spawnSync('sync');
}

async function timed(fn: () => Promise<unknown> | void): Promise<number> {
  empty();
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function main(): Promise<void> {
  console.log(`preparing ${FILES} files of ${SIZE} bytes, pushed to ${remoteDir} …`);
  await prepare();
  const t = { cp: [] as number[], pull: [] as number[] };
  for (let r = 0; r < REPEAT; r++) {
    const cp = async () =>
      t.cp.push(
        await timed(() => {
          mkdirSync(join(base, 'cp'), { recursive: true });
          run('cp', ['-r', '--reflink=auto', join(remoteDir, 'files'), join(base, 'cp', 'cache')]);
          run('cp', ['-r', '--reflink=auto', join(base, 'data-ref'), join(base, 'cp', 'data')]);
        }),
      );
    const pull = async () =>
      t.pull.push(
        await timed(async () => {
          const res = await pullData(ws, [], { jobs: JOBS });
          if (res.failed.length > 0 || res.added.length !== 1) throw new Error(`pull: ${res.failed.length} failed`);
        }),
      );
    for (const step of r % 2 === 0 ? [cp, pull] : [pull, cp]) await step();
  }
  empty();
  const cp = median(t.cp);
  const pull = median(t.pull);
  console.log(`\n${FILES} files of ${SIZE} bytes, ${JOBS} transfers at once, median of ${REPEAT} (wall; ${loadLine()}):`);
  console.log(`  cp -r remote→cache + cp -r → workspace:  ${cp.toFixed(2)} s   [${t.cp.map((x) => x.toFixed(2)).join(' ')}]`);
  console.log(`  reprod pull:                              ${pull.toFixed(2)} s   [${t.pull.map((x) => x.toFixed(2)).join(' ')}]  ${(pull / cp).toFixed(2)}x the copies (target ≤ 1.5x: ${pull / cp <= 1.5 ? 'met' : 'NOT met'})`);
}

await main();
