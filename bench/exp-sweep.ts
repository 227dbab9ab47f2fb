/**
 * A parameter sweep of the example pipeline, two ways, on the same machine in
 * one run, each from an empty cache:
 *
 *   sweep       `reprod exp run -S train.C=0.01,0.1,1
 *                -S 'train.model=choice(logistic_regression,random_forest)' -j 2`
 *   sequential  the same six settings written into params.yaml one after the
 *               other, each followed by `reprod repro` (ingest and preprocess
 *               run once, in the first; train and evaluate in each)
 *
 * and the ratio sweep / sequential (target ≤ 0.6). Every stage runs in its
 * container, as the README runs the example. Each command is its own process
 * of the built CLI (bin/reprod.js, as a user runs it: six repros start six
 * times, the sweep once); with `--rounds N` the two alternate N times, so
 * that a change of the machine's load falls on both, and the median ratio is
 * printed. CPU is reprod's own (the containers are the engine's children,
 * not reprod's): the wall ratio depends on spare cores for -j 2 to use, the
 * CPU figures show what reprod itself spends either way. Workspaces live in
 * bench/.data/.
 *
 *   npm run build && npx tsx bench/exp-sweep.ts [--rounds N]
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyAssignments } from '../src/experiments/params-edit.js';
import { parseOverride, sweepGrid } from '../src/experiments/sweep.js';
import { fmtMs, intArg, loadLine, median, runOnce, type Run } from './lib/measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const DATA = path.join(here, '.data', 'exp-sweep');
const EXAMPLE = ['dvc.yaml', 'params.yaml', 'stages', 'manifests', '.dvc/config', '.dvcignore'];
const SETS = ['train.C=0.01,0.1,1', 'train.model=choice(logistic_regression,random_forest)'];
const BIN = path.join(REPO, 'bin', 'reprod.js');
if (!existsSync(path.join(REPO, 'dist', 'cli', 'run.js'))) throw new Error('bin/reprod.js needs dist/: run `npm run build` first');
const rounds = intArg('--rounds', 1);

function workspace(name: string): string {
  const root = path.join(DATA, name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  for (const p of EXAMPLE) cpSync(path.join(REPO, p), path.join(root, p), { recursive: true });
  return root;
}

const reprod = (root: string, ...args: string[]): Run => runOnce([process.execPath, BIN, '-C', root, ...args]);
const sum = (rs: readonly Run[]): Run => ({ wallMs: rs.reduce((a, r) => a + r.wallMs, 0), cpuMs: rs.reduce((a, r) => a + r.cpuMs, 0) });

const grid = sweepGrid(SETS.map((s) => parseOverride(s)));
const runs: { sweep: Run; seq: Run; load: string }[] = [];
for (let i = 0; i < rounds; i++) {
  const load = loadLine();
  const sweep = reprod(workspace('sweep'), 'exp', 'run', ...SETS.flatMap((s) => ['-S', s]), '-j', '2');
  const seqRoot = workspace('sequential');
  const original = readFileSync(path.join(seqRoot, 'params.yaml'), 'utf8');
  const seq = sum(
    grid.map((assignments) => {
      writeFileSync(path.join(seqRoot, 'params.yaml'), applyAssignments('params.yaml', original, assignments));
      return reprod(seqRoot, 'repro');
    }),
  );
  runs.push({ sweep, seq, load });
}

const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
console.log(`exp-sweep: ${grid.length} experiments of the example pipeline, every stage in a container; ${rounds} round(s), at the start ${runs[0]?.load}, now ${loadLine()}`);
runs.forEach((r, i) =>
  console.log(`  round ${i + 1} (${r.load}): sweep ${fmtMs(r.sweep.wallMs)} (reprod CPU ${fmtMs(r.sweep.cpuMs)}), sequential ${fmtMs(r.seq.wallMs)} (reprod CPU ${fmtMs(r.seq.cpuMs)}), wall ${ratio(r.sweep.wallMs, r.seq.wallMs)}, CPU ${ratio(r.sweep.cpuMs, r.seq.cpuMs)}`),
);
console.log(`  sweep (exp run -j 2)      ${fmtMs(median(runs.map((r) => r.sweep.wallMs)))}`);
console.log(`  sequential (6 × repro)    ${fmtMs(median(runs.map((r) => r.seq.wallMs)))}`);
console.log(`  ratio sweep/sequential    ${(median(runs.map((r) => r.sweep.wallMs / r.seq.wallMs))).toFixed(2)}x   (target <= 0.6x; median of the rounds)`);
console.log(`  reprod CPU sweep/sequential ${(median(runs.map((r) => r.sweep.cpuMs / r.seq.cpuMs))).toFixed(2)}x`);
rmSync(DATA, { recursive: true, force: true });
