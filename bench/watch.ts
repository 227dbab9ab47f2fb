/**
 * The daemon on a large workspace: 200,000 files in 1,000 leaf folders
 * (tree/aX/bY/cZ, 200 files each) plus one chain of folders 24 deep with a
 * file at its end, all one stage's dep. The daemon runs as users run it (the
 * built CLI, host runtime, its own process); once idle it is measured:
 *
 *   watches   inotify watches it holds (the `inotify wd:` lines of the fdinfo
 *             of its inotify fds), against the folders of the workspace
 *             (target ≤ 1 per folder), and ENOSPC warnings it logged (target 0)
 *   rss       its resident memory, idle (target ≤ 300 MiB)
 *   edit      the deepest file edited: time until the daemon reports the
 *             change, and until the pass that reran the stage ended
 *
 *   npx tsx bench/watch.ts [--files N]
 *
 * The workspace is made once under bench/.data/watch-<N> (gitignored); its
 * first pass hashes every file, later runs start from the hash state. DVC has
 * no daemon: REPROD_BENCH_DVC changes nothing here.
 */
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inotifyWatches, rssMiB } from '../test/helpers/proc.js';
import { loadLine } from './lib/measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const FILES = arg('--files', 200_000);
const LEAVES = 1000;
const DEPTH = 24;
const ws = path.join(here, '.data', `watch-${FILES}`);
const deepest = `tree/${Array.from({ length: DEPTH }, (_, i) => `deep${i}`).join('/')}/leaf.txt`;

function makeWorkspace(): void {
  const marker = path.join(ws, '.made');
  if (existsSync(marker)) return;
  rmSync(ws, { recursive: true, force: true });
  const perLeaf = Math.ceil(FILES / LEAVES);
  let n = 0;
  for (let leaf = 0; leaf < LEAVES && n < FILES; leaf++) {
    const dir = path.join(ws, 'tree', `a${Math.floor(leaf / 100)}`, `b${Math.floor(leaf / 10) % 10}`, `c${leaf % 10}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < perLeaf && n < FILES; f++, n++) writeFileSync(path.join(dir, `f${f}.txt`), `${leaf} ${f}\n`);
  }
  mkdirSync(path.dirname(path.join(ws, deepest)), { recursive: true });
  writeFileSync(path.join(ws, deepest), 'leaf 0\n');
  writeFileSync(path.join(ws, 'dvc.yaml'), 'stages:\n  count:\n    cmd: find tree -type f | wc -l > count.txt\n    deps: [tree]\n    outs: [count.txt]\n');
  writeFileSync(marker, '');
}

/** Folders of the workspace outside reprod's and DVC's own (which the daemon never watches). */
function folders(dir: string, rel = ''): number {
  let n = 1;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory() && !['.dvc/cache', '.dvc/tmp', 'status', 'mlruns', '.git'].includes(r)) n += folders(path.join(dir, e.name), r);
  }
  return n;
}

interface LogLine {
  time: number;
  msg: string;
  level: number;
  path?: string;
  ran?: number;
  folders?: number;
}

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

makeWorkspace();
if (spawnSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'ignore' }).status !== 0) throw new Error('npm run build failed');
const child = spawn(process.execPath, [path.join(REPO, 'bin/reprod.js'), '-C', ws, '--runtime', 'host', '-v', 'daemon', '--port', '-1'], { stdio: ['ignore', 'ignore', 'pipe'] });
const lines: LogLine[] = [];
let partial = '';
child.stderr.on('data', (d: Buffer) => {
  partial += d.toString();
  for (let i = partial.indexOf('\n'); i >= 0; i = partial.indexOf('\n')) {
    const line = partial.slice(0, i);
    partial = partial.slice(i + 1);
    if (line.startsWith('{')) lines.push(JSON.parse(line) as LogLine);
  }
});
const pid = child.pid as number;
const t0 = Date.now();
try {
  // the pipeline's folders are watched once its spec is loaded; then that asks for a pass of its own
  const watching = () => lines.findIndex((l) => l.msg === 'watching' && (l.folders ?? 0) > 2);
  await until('the first pass', () => lines.some((l) => l.msg === 'pass finished'), 30 * 60_000);
  const firstPass = Date.now() - t0;
  await until('the pass after the watches', () => watching() >= 0 && lines.slice(watching()).some((l) => l.msg === 'pass finished'), 10 * 60_000);
  // idle: nothing logged for 5 s, then 10 s more for V8 to shrink its heap after start-up
  for (let seen = -1; seen !== lines.length; ) {
    seen = lines.length;
    await new Promise((r) => setTimeout(r, 5000));
  }
  await new Promise((r) => setTimeout(r, 10_000));
  const dirs = folders(ws);
  const watches = inotifyWatches(pid);
  const rss = rssMiB(pid);
  const enospc = lines.filter((l) => JSON.stringify(l).includes('ENOSPC')).length;

  const from = lines.length;
  const tEdit = Date.now();
  appendFileSync(path.join(ws, deepest), `edited ${tEdit}\n`);
  await until('the change reported', () => lines.slice(from).some((l) => l.msg === 'change' && l.path === deepest), 60_000);
  const seenMs = (lines.slice(from).find((l) => l.msg === 'change')?.time ?? NaN) - tEdit;
  await until('the pass that reran the stage', () => lines.slice(from).some((l) => l.msg === 'pass finished' && (l.ran ?? 0) >= 1), 10 * 60_000);
  const passMs = (lines.slice(from).find((l) => l.msg === 'pass finished' && (l.ran ?? 0) >= 1)?.time ?? NaN) - tEdit;

  console.log(`daemon on ${FILES.toLocaleString('en')} files in ${dirs.toLocaleString('en')} folders (${loadLine()}; ${firstPass} ms to the first pass)`);
  console.log(`  inotify watches ${watches} for ${dirs} folders: ${(watches / dirs).toFixed(3)} per folder  (target ≤ 1), ENOSPC warnings ${enospc}  (target 0)`);
  console.log(`  idle RSS ${rss.toFixed(0)} MiB  (target ≤ 300 MiB)`);
  console.log(`  edit of the deepest file (${DEPTH + 1} folders down): seen after ${seenMs} ms, the pass that reran its stage ended after ${passMs} ms`);
  if (process.env.REPROD_BENCH_DVC) console.log('  (DVC has no daemon: nothing to compare)');
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
}
