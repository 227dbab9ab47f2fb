/**
 * Hashing benchmark: reprod's cold hash against md5sum, and a warm
 * status-like check (a fresh hasher loading the persisted state) against the
 * cold hash, on two shapes: one 1 GiB file, and 20,000 files of 1 KiB.
 *
 *   npx tsx bench/hashing.ts [--repeat N] [--shape big|small|both] [--cache warm|dropped|both]
 *
 * Data lives in bench/.data/ (gitignored) and is made once. md5sum and reprod
 * run alternately, each measurement repeated (3 times by default); medians
 * are reported, with `find -printf` (readdir + stat of every file, in C) as
 * the floor that any stat-based warm check has.
 *
 * `--cache warm` runs both sides on a warm page cache; `--cache dropped`
 * drops it before every cold run of either side (needs root and a writable
 * /proc/sys/vm/drop_caches); `both` (the default) does both where dropping
 * works and says so where it does not.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkspaceHasher } from '../src/hashing/workspace-hasher.js';

const here = dirname(fileURLToPath(import.meta.url));
const ws = resolve(here, '.data', 'hashing-ws');
const statePath = join(ws, '.dvc', 'tmp', 'reprod', 'state.tsv');

const BIG = { path: 'big-1GiB.bin', bytes: 1 << 30 };
const SMALL = { path: 'files-20k', count: 20_000, bytes: 1024 };

interface Args {
  repeat: number;
  shapes: ('big' | 'small')[];
  cache: ('warm' | 'dropped')[];
}

function parseArgs(argv: string[]): Args {
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const repeat = Number(get('--repeat') ?? 3);
  if (!Number.isInteger(repeat) || repeat < 1) throw new Error('--repeat takes a positive integer');
  const shape = get('--shape') ?? 'both';
  const cache = get('--cache') ?? 'both';
  return {
    repeat,
    shapes: shape === 'both' ? ['big', 'small'] : shape === 'big' || shape === 'small' ? [shape] : fail(`bad --shape ${shape}`),
    cache: cache === 'both' ? ['warm', 'dropped'] : cache === 'warm' || cache === 'dropped' ? [cache] : fail(`bad --cache ${cache}`),
  };
}

function fail(msg: string): never {
  throw new Error(msg);
}

function makeData(): void {
  mkdirSync(join(ws, '.dvc'), { recursive: true });
  const big = join(ws, BIG.path);
  if (!existsSync(big) || statSync(big).size !== BIG.bytes) {
    process.stdout.write(`making ${big} ...\n`);
    const fd = openSync(big, 'w');
    const buf = Buffer.allocUnsafe(16 << 20);
    for (let done = 0; done < BIG.bytes; done += buf.length) writeSync(fd, randomFillSync(buf));
    closeSync(fd);
  }
  const dir = join(ws, SMALL.path);
  if (!existsSync(dir) || readdirSync(dir).length !== SMALL.count) {
    process.stdout.write(`making ${dir} ...\n`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir);
    const buf = Buffer.allocUnsafe(SMALL.bytes);
    for (let i = 0; i < SMALL.count; i++) writeFileSync(join(dir, `f${String(i).padStart(5, '0')}.bin`), randomFillSync(buf));
  }
}

function dropCaches(): boolean {
  const r = spawnSync('sh', ['-c', 'sync && echo 3 > /proc/sys/vm/drop_caches'], { stdio: 'ignore' });
  return r.status === 0;
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function md5sumMs(shape: 'big' | 'small'): number {
  const cmd = shape === 'big' ? `md5sum ${BIG.path} > /dev/null` : `find ${SMALL.path} -type f -print0 | xargs -0 md5sum > /dev/null`;
  const t = process.hrtime.bigint();
  const r = spawnSync('sh', ['-c', cmd], { cwd: ws, stdio: ['ignore', 'ignore', 'inherit'] });
  const elapsed = ms(t);
  if (r.status !== 0) throw new Error(`${cmd} failed`);
  return elapsed;
}

/**
 * What a stat-based check costs in C: GNU find listing and stat'ing every
 * file (inode, size, mtime). No state cache can answer "unchanged?" for less
 * than this, so it is the floor of the warm check.
 */
function findStatMs(shape: 'big' | 'small'): number {
  const t = process.hrtime.bigint();
  const r = spawnSync('find', [shape === 'big' ? BIG.path : SMALL.path, '-type', 'f', '-printf', '%i %s %T@\n'], { cwd: ws, stdio: ['ignore', 'ignore', 'inherit'] });
  const elapsed = ms(t);
  if (r.status !== 0) throw new Error('find failed');
  return elapsed;
}

/**
 * A cold run: no state, a fresh hasher (its worker threads start inside the
 * timing). Writing the state afterwards (flush) is timed on its own: md5sum
 * has nothing like it, and a pass pays it once whatever it hashed.
 */
async function reprodColdMs(shape: 'big' | 'small'): Promise<{ ms: number; flushMs: number; md5: string }> {
  rmSync(statePath, { force: true });
  const t = process.hrtime.bigint();
  await using h = new WorkspaceHasher({ root: ws });
  const r = await h.hash(shape === 'big' ? BIG.path : SMALL.path);
  const elapsed = ms(t);
  const f = process.hrtime.bigint();
  await h.flush();
  const flushMs = ms(f);
  if (!r) throw new Error('bench data vanished');
  if (h.counters.filesHashed !== (shape === 'big' ? 1 : SMALL.count)) throw new Error('cold run did not read every file');
  return { ms: elapsed, flushMs, md5: r.info.md5 };
}

/** A status-like check: a fresh hasher loads the persisted state and hashes the same path. */
async function reprodWarmMs(shape: 'big' | 'small'): Promise<number> {
  const t = process.hrtime.bigint();
  await using h = new WorkspaceHasher({ root: ws });
  await h.hash(shape === 'big' ? BIG.path : SMALL.path);
  await h.flush();
  const elapsed = ms(t);
  if (h.counters.filesHashed !== 0) throw new Error('warm run read files');
  return elapsed;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  makeData();
  const canDrop = args.cache.includes('dropped') && dropCaches();
  const modes = args.cache.filter((c) => c === 'warm' || canDrop);
  console.log(`hashing bench: ${availableParallelism()} cores, node ${process.version}, repeat ${args.repeat}, median shown`);
  if (args.cache.includes('dropped') && !canDrop) console.log('page cache: cannot be dropped here, so both sides run with a warm page cache only');
  if (modes.includes('warm')) console.log("page cache 'warm': every file read once before measuring, for both sides");
  const rows: string[][] = [
    ['shape', 'page cache', 'md5sum ms', 'reprod cold ms', 'cold/md5sum', '+flush ms', 'warm check ms', 'warm/cold', 'find-stat ms', 'find-stat/cold'],
  ];
  for (const mode of modes) {
    for (const shape of args.shapes) {
      // Warm the page cache (and the JIT) once before measuring in warm mode.
      if (mode === 'warm') {
        md5sumMs(shape);
        await reprodColdMs(shape);
      }
      const sums: number[] = [];
      const colds: number[] = [];
      const warms: number[] = [];
      const flushes: number[] = [];
      const floors: number[] = [];
      let md5 = '';
      for (let i = 0; i < args.repeat; i++) {
        if (mode === 'dropped') dropCaches();
        sums.push(md5sumMs(shape));
        if (mode === 'dropped') dropCaches();
        const c = await reprodColdMs(shape);
        colds.push(c.ms);
        flushes.push(c.flushMs);
        md5 = c.md5;
        warms.push(await reprodWarmMs(shape));
        floors.push(findStatMs(shape));
      }
      const [s, c, w, f] = [median(sums), median(colds), median(warms), median(floors)];
      rows.push([shape === 'big' ? '1 GiB file' : '20k x 1 KiB', mode, fmt(s), fmt(c), `${(c / s).toFixed(2)}x`, fmt(median(flushes)), fmt(w), `${(w / c).toFixed(4)}x`, fmt(f), `${(f / c).toFixed(4)}x`]);
      console.log(`  ${shape} (${mode} cache): md5sum [${sums.map(fmt).join(', ')}]  cold [${colds.map(fmt).join(', ')}]  warm [${warms.map(fmt).join(', ')}]  ${md5}`);
    }
  }
  const widths = (rows[0] as string[]).map((_, k) => Math.max(...rows.map((r) => (r[k] as string).length)));
  for (const r of rows) console.log(r.map((cell, k) => cell.padStart(widths[k] as number)).join('  '));
  console.log('targets: cold/md5sum <= 1.1x on both shapes; warm/cold <= 0.05x');
  console.log("find-stat: GNU find stat'ing the same files, the C floor of any check that stats every file (as DVC's state does)");
}

await main();
