/**
 * `reprod repro` as a command (the built CLI, host stages), measured side
 * by side in one run:
 *
 *   first     a first repro of N independent stages (a foreach of `cp`), 100
 *             against 1,000: time per stage of the 1,000-stage run as a ratio
 *             of the 100-stage run's (target ≤ 1.3: linear)
 *   parallel  four independent 3 s stages with `-j 4`, against one such stage
 *             alone (target ≤ 1.2), and the four with `-j 1` for reference
 *
 *   npx tsx bench/repro.ts [first|parallel ...] [--stages N] [--no-tracking]
 *
 * `--stages N` replaces 1,000 (the 100-stage run stays); `--no-tracking`
 * passes it to every repro. With REPROD_BENCH_DVC naming a dvc command, the
 * same workspaces are reproduced by `dvc repro` alongside (DVC runs stages
 * one at a time: it has no -j). Workspaces live in bench/.data/repro-*
 * (gitignored) and are made afresh for each run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dvcCommand, fmtMs, loadLine, median, runOnce, type Run } from './lib/measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const REPROD = ['node', path.join(REPO, 'bin', 'reprod.js')];
const args = process.argv.slice(2);
const stagesAt = args.indexOf('--stages');
const BIG = stagesAt >= 0 ? Number(args[stagesAt + 1]) : 1000;
const SMALL = 100;
const noTracking = args.includes('--no-tracking') ? ['--no-tracking'] : [];
const which = args.filter((a, i) => !a.startsWith('--') && (stagesAt < 0 || i !== stagesAt + 1));
const want = (s: string) => which.length === 0 || which.includes(s);
const dvc = dvcCommand();

/** A fresh workspace: the files given, and `.dvc/config` as `dvc init --no-scm` leaves it, so that DVC can run it too. */
function workspace(name: string, files: Record<string, string>): string {
  const root = path.join(here, '.data', name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(path.join(root, '.dvc'), { recursive: true });
  writeFileSync(path.join(root, '.dvc', 'config'), '[core]\n    no_scm = True\n');
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
  return root;
}

function foreachWorkspace(name: string, n: number): string {
  const items = Array.from({ length: n }, (_, i) => `s${String(i).padStart(4, '0')}`);
  const files: Record<string, string> = {
    'dvc.yaml': `stages:\n  gen:\n    foreach: [${items.join(', ')}]\n    do:\n      cmd: cp data/\${item}.txt out/\${item}.txt\n      deps: ["data/\${item}.txt"]\n      outs: ["out/\${item}.txt"]\n`,
    'out/.keep': '',
  };
  for (const it of items) files[`data/${it}.txt`] = `${it}\n`;
  return workspace(name, files);
}

const reprod = (root: string, ...rest: string[]): Run => runOnce([...REPROD, '-C', root, '--runtime', 'host', 'repro', ...noTracking, ...rest]);
const perStage = (r: Run, n: number) => r.wallMs / n;

function first(): void {
  // small, big, small: the big run between two small ones, so that a change of load shows
  const smalls: Run[] = [];
  let big: Run | undefined;
  for (const n of [SMALL, BIG, SMALL]) {
    const r = reprod(foreachWorkspace(`repro-first-${n}`, n));
    if (n === BIG && big === undefined) big = r;
    else smalls.push(r);
  }
  const small = { wallMs: median(smalls.map((r) => r.wallMs)), cpuMs: median(smalls.map((r) => r.cpuMs)) };
  const b = big as Run;
  console.log(`first repro, host stages (${loadLine()})`);
  console.log(`  ${SMALL} stages: ${fmtMs(small.wallMs)} wall (${smalls.map((r) => fmtMs(r.wallMs)).join(', ')}), ${fmtMs(small.cpuMs)} CPU: ${perStage(small, SMALL).toFixed(1)} ms per stage`);
  console.log(`  ${BIG} stages: ${fmtMs(b.wallMs)} wall, ${fmtMs(b.cpuMs)} CPU: ${perStage(b, BIG).toFixed(1)} ms per stage`);
  console.log(
    `  per stage, ${BIG} vs ${SMALL}: wall ${(perStage(b, BIG) / perStage(small, SMALL)).toFixed(2)}×, CPU ${(b.cpuMs / BIG / (small.cpuMs / SMALL)).toFixed(2)}×  (target ≤ 1.3×)`,
  );
  if (dvc) {
    const d = [SMALL, BIG].map((n) => runOnce([...dvc, 'repro', '-q'], { cwd: foreachWorkspace(`repro-first-dvc-${n}`, n) }));
    const [ds, db] = d as [Run, Run];
    console.log(`  dvc repro: ${SMALL} stages ${fmtMs(ds.wallMs)} (${perStage(ds, SMALL).toFixed(1)} ms/stage), ${BIG} stages ${fmtMs(db.wallMs)} (${perStage(db, BIG).toFixed(1)} ms/stage): ${(perStage(db, BIG) / perStage(ds, SMALL)).toFixed(2)}×`);
    console.log(`  reprod/dvc per stage: ${SMALL} stages ${(perStage(small, SMALL) / perStage(ds, SMALL)).toFixed(2)}×, ${BIG} stages ${(perStage(b, BIG) / perStage(db, BIG)).toFixed(2)}×`);
  }
}

function sleepers(name: string, n: number): string {
  const stages = Array.from({ length: n }, (_, i) => `  s${i}:\n    cmd: sleep 3 && cp in${i}.txt out${i}.txt\n    deps: [in${i}.txt]\n    outs: [out${i}.txt]\n`);
  const files: Record<string, string> = { 'dvc.yaml': `stages:\n${stages.join('')}` };
  for (let i = 0; i < n; i++) files[`in${i}.txt`] = `${i}\n`;
  return workspace(name, files);
}

function parallel(): void {
  const one: Run[] = [];
  const four: Run[] = [];
  const serial: Run[] = [];
  for (let i = 0; i < 2; i++) {
    one.push(reprod(sleepers('repro-j-one', 1)));
    four.push(reprod(sleepers('repro-j-four', 4), '-j', '4'));
  }
  serial.push(reprod(sleepers('repro-j-serial', 4), '-j', '1'));
  const o = median(one.map((r) => r.wallMs));
  const f = median(four.map((r) => r.wallMs));
  const s = median(serial.map((r) => r.wallMs));
  console.log(`repro -j 4, four independent 3 s host stages (${loadLine()})`);
  console.log(`  one stage ${fmtMs(o)}, four with -j 4 ${fmtMs(f)}: ${(f / o).toFixed(2)}×  (target ≤ 1.2×); four with -j 1 ${fmtMs(s)}: ${(s / o).toFixed(2)}×`);
  if (dvc) {
    const d1 = runOnce([...dvc, 'repro', '-q'], { cwd: sleepers('repro-j-dvc-one', 1) });
    const d4 = runOnce([...dvc, 'repro', '-q'], { cwd: sleepers('repro-j-dvc-four', 4) });
    console.log(`  dvc repro (one at a time): one ${fmtMs(d1.wallMs)}, four ${fmtMs(d4.wallMs)}: ${(d4.wallMs / d1.wallMs).toFixed(2)}×`);
  }
}

// the commands are measured as users run them: the built CLI
if (spawnSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'ignore' }).status !== 0) throw new Error('npm run build failed');
if (want('parallel')) parallel();
if (want('first')) first();
