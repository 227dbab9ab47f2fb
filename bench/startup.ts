/**
 * What a short command costs, measured side by side in one run (interleaved
 * runs; median wall time, mean CPU time), as users run it (the built CLI):
 *
 *   version  `reprod --version`, CPU, against `node -e 0` (target ≤ 2×)
 *   status   warm `reprod status -q` on a stage whose dep is 20,000 files of
 *            1 KiB, against `find -printf '%s %T@'` over the same files plus
 *            `node -e 0` (target ≤ 2×, wall)
 *
 *   npx tsx bench/startup.ts [version|status ...] [--runs N]
 *
 * With REPROD_BENCH_DVC naming a dvc command, `dvc --version` and a warm
 * `dvc status -q` on the same workspace are measured alongside. The
 * workspace is made once under bench/.data/startup-20k (gitignored).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dvcCommand, fmtMs, loadLine, runOnce, sideBySide } from './lib/measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const REPROD = ['node', path.join(REPO, 'bin', 'reprod.js')];
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Number(args[runsAt + 1]) : 15;
const which = args.filter((a, i) => !a.startsWith('--') && (runsAt < 0 || i !== runsAt + 1));
const want = (s: string) => which.length === 0 || which.includes(s);
const dvc = dvcCommand();

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

function version(): void {
  const cmds: Parameters<typeof sideBySide>[0] = { node: { cmd: ['node', '-e', '0'] }, reprod: { cmd: [...REPROD, '--version'] } };
  if (dvc) cmds['dvc'] = { cmd: [...dvc, '--version'] };
  const r = sideBySide(cmds, RUNS);
  const node = r['node'] as { cpuMs: number; wallMs: number };
  const reprod = r['reprod'] as { cpuMs: number; wallMs: number };
  console.log(`--version, ${RUNS} runs each (${loadLine()})`);
  console.log(`  node -e 0:          CPU ${fmtMs(node.cpuMs)}, wall ${fmtMs(node.wallMs)}`);
  console.log(`  reprod --version:   CPU ${fmtMs(reprod.cpuMs)}, wall ${fmtMs(reprod.wallMs)}: CPU ${ratio(reprod.cpuMs, node.cpuMs)} node's  (target ≤ 2×)`);
  const d = r['dvc'];
  if (d) console.log(`  dvc --version:      CPU ${fmtMs(d.cpuMs)}, wall ${fmtMs(d.wallMs)}: CPU ${ratio(d.cpuMs, node.cpuMs)} node's`);
}

const FILES = 20_000;
const ws = path.join(here, '.data', 'startup-20k');

/** 20,000 files of 1 KiB, one stage that depends on them, committed: a status of it is warm from the second on. */
function statusWorkspace(): void {
  if (!existsSync(path.join(ws, 'dvc.lock'))) {
    mkdirSync(path.join(ws, 'files-20k'), { recursive: true });
    mkdirSync(path.join(ws, '.dvc'), { recursive: true });
    // a DVC project as `dvc init --no-scm` leaves it, so that dvc can read the same workspace
    if (!existsSync(path.join(ws, '.dvc', 'config'))) writeFileSync(path.join(ws, '.dvc', 'config'), '[core]\n    no_scm = True\n');
    const chunk = Buffer.alloc(1024);
    for (let i = 0; i < FILES; i++) {
      chunk.writeUInt32LE(i, 0);
      writeFileSync(path.join(ws, 'files-20k', `f${String(i).padStart(5, '0')}.bin`), chunk);
    }
    writeFileSync(path.join(ws, 'dvc.yaml'), 'stages:\n  small:\n    cmd: "true"\n    deps: [files-20k]\n');
    runOnce([...REPROD, '-C', ws, '--runtime', 'host', 'commit']);
  }
  // warm: the hash state holds every file (and DVC's, when it is measured)
  runOnce([...REPROD, '-C', ws, '--runtime', 'host', 'status', '-q']);
  if (dvc) runOnce([...dvc, 'status', '-q'], { cwd: ws });
}

function status(): void {
  statusWorkspace();
  const cmds: Parameters<typeof sideBySide>[0] = {
    find: { cmd: ['find', 'files-20k', '-printf', '%s %T@\\n'], cwd: ws },
    node: { cmd: ['node', '-e', '0'] },
    reprod: { cmd: [...REPROD, '-C', ws, '--runtime', 'host', 'status', '-q'] },
  };
  if (dvc) cmds['dvc'] = { cmd: [...dvc, 'status', '-q'], cwd: ws };
  const r = sideBySide(cmds, RUNS);
  const find = r['find'] as { cpuMs: number; wallMs: number };
  const node = r['node'] as { cpuMs: number; wallMs: number };
  const reprod = r['reprod'] as { cpuMs: number; wallMs: number };
  const floorWall = find.wallMs + node.wallMs;
  const floorCpu = find.cpuMs + node.cpuMs;
  console.log(`warm status on ${FILES.toLocaleString('en')} files, ${RUNS} runs each (${loadLine()})`);
  console.log(`  find -printf + node -e 0:  wall ${fmtMs(find.wallMs)} + ${fmtMs(node.wallMs)} = ${fmtMs(floorWall)}, CPU ${fmtMs(find.cpuMs)} + ${fmtMs(node.cpuMs)} = ${fmtMs(floorCpu)}`);
  console.log(`  reprod status -q:          wall ${fmtMs(reprod.wallMs)} (${ratio(reprod.wallMs, floorWall)}, target ≤ 2×), CPU ${fmtMs(reprod.cpuMs)} (${ratio(reprod.cpuMs, floorCpu)})`);
  const d = r['dvc'];
  if (d) console.log(`  dvc status -q:             wall ${fmtMs(d.wallMs)} (${ratio(d.wallMs, floorWall)}), CPU ${fmtMs(d.cpuMs)} (${ratio(d.cpuMs, floorCpu)}); reprod/dvc wall ${ratio(reprod.wallMs, d.wallMs)}`);
}

// the commands are measured as users run them: the built CLI
if (spawnSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'ignore' }).status !== 0) throw new Error('npm run build failed');
if (want('version')) version();
if (want('status')) status();
