/**
 * `reprod status` cold (no state cache: every file read and hashed) against
 * warm (state cache: stats only), on one pipeline whose stages depend on one
 * 1 GiB file and on a folder of 20,000 files of 1 KiB, measured side by side
 * in one run, in-process (what reprod does) and as a whole command (with
 * Node's start-up).
 *
 *   npx tsx bench/status.ts [--repeat N]
 *
 * The data is made once under bench/.data/status-ws (hard links to the
 * hashing benchmark's files when they exist). Target: warm ≤ 0.05× cold.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { commitStages, pipelineStatus } from '../src/app/oneshot.js';

const here = dirname(fileURLToPath(import.meta.url));
const ws = resolve(here, '.data', 'status-ws');
const hashingWs = resolve(here, '.data', 'hashing-ws');
const log = pino({ level: 'silent' });
const repeat = Number(process.argv[process.argv.indexOf('--repeat') + 1] ?? 3) || 3;

function makeData(): void {
  if (existsSync(join(ws, 'dvc.yaml'))) return;
  mkdirSync(join(ws, 'files-20k'), { recursive: true });
  const big = join(hashingWs, 'big-1GiB.bin');
  if (existsSync(big)) {
    linkSync(big, join(ws, 'big-1GiB.bin'));
    for (const f of readdirSync(join(hashingWs, 'files-20k'))) linkSync(join(hashingWs, 'files-20k', f), join(ws, 'files-20k', f));
  } else {
    const r = spawnSync('head', ['-c', String(1 << 30), '/dev/urandom'], { maxBuffer: 2 << 30 });
    writeFileSync(join(ws, 'big-1GiB.bin'), r.stdout);
    const chunk = Buffer.alloc(1024);
    for (let i = 0; i < 20_000; i++) {
      chunk.writeUInt32LE(i, 0);
      writeFileSync(join(ws, 'files-20k', `f${String(i).padStart(5, '0')}.bin`), chunk);
    }
  }
  writeFileSync(
    join(ws, 'dvc.yaml'),
    'stages:\n  big:\n    cmd: "true"\n    deps: [big-1GiB.bin]\n  small:\n    cmd: "true"\n    deps: [files-20k]\n',
  );
}

const statePath = join(ws, '.dvc', 'tmp', 'reprod', 'state.tsv');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function inProcess(): Promise<number> {
  const t = performance.now();
  const { stale } = await pipelineStatus({ root: ws, runtime: 'host', log }, []);
  if (stale.length) throw new Error('the bench pipeline should be up to date');
  return performance.now() - t;
}

function asCommand(): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [resolve(here, '../bin/reprod.js'), '-C', ws, 'status', '-q'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`reprod status failed: ${r.stderr}`);
  return performance.now() - t;
}

makeData();
// the command is measured as users run it: the built CLI
if (spawnSync('npm', ['run', 'build'], { cwd: resolve(here, '..'), stdio: 'ignore' }).status !== 0) throw new Error('npm run build failed');
if (!existsSync(join(ws, 'dvc.lock'))) await commitStages({ root: ws, runtime: 'host', log }, []);
const colds: number[] = [];
const warms: number[] = [];
const coldCmd: number[] = [];
const warmCmd: number[] = [];
for (let i = 0; i < repeat; i++) {
  rmSync(statePath, { force: true });
  colds.push(await inProcess());
  warms.push(await inProcess());
  rmSync(statePath, { force: true });
  coldCmd.push(asCommand());
  warmCmd.push(asCommand());
}
const fmt = (x: number) => `${x.toFixed(0)} ms`;
console.log('reprod status on 1 GiB + 20,000 × 1 KiB (page cache warm on both sides)');
console.log(`  in-process: cold ${fmt(median(colds))}  warm ${fmt(median(warms))}  warm/cold ${(median(warms) / median(colds)).toFixed(3)}×`);
console.log(`  command:    cold ${fmt(median(coldCmd))}  warm ${fmt(median(warmCmd))}  warm/cold ${(median(warmCmd) / median(coldCmd)).toFixed(3)}×`);
console.log('target: warm/cold <= 0.05x');
