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
 * container, as the README runs the example. Workspaces live in bench/.data/.
 *
 *   npx tsx bench/exp-sweep.ts
 */
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import type { Io } from '../src/cli/commands.js';
import { applyAssignments } from '../src/experiments/params-edit.js';
import { parseOverride, sweepGrid } from '../src/experiments/sweep.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const DATA = path.join(here, '.data', 'exp-sweep');
const EXAMPLE = ['dvc.yaml', 'params.yaml', 'stages', 'manifests', '.dvc/config', '.dvcignore'];
const SETS = ['train.C=0.01,0.1,1', 'train.model=choice(logistic_regression,random_forest)'];

function workspace(name: string): string {
  const root = path.join(DATA, name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  for (const p of EXAMPLE) cpSync(path.join(REPO, p), path.join(root, p), { recursive: true });
  return root;
}

async function reprod(root: string, ...args: string[]): Promise<void> {
  let err = '';
  const io: Io = { out: () => undefined, err: (s) => void (err += s), exitCode: 0 };
  const code = await main(['-C', root, ...args], io);
  if (code !== 0) throw new Error(`reprod ${args.join(' ')} exited ${code}: ${err}`);
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const sweepRoot = workspace('sweep');
const sweepMs = await timed(() => reprod(sweepRoot, 'exp', 'run', ...SETS.flatMap((s) => ['-S', s]), '-j', '2'));

const seqRoot = workspace('sequential');
const original = readFileSync(path.join(seqRoot, 'params.yaml'), 'utf8');
const grid = sweepGrid(SETS.map((s) => parseOverride(s)));
const seqMs = await timed(async () => {
  for (const assignments of grid) {
    writeFileSync(path.join(seqRoot, 'params.yaml'), applyAssignments('params.yaml', original, assignments));
    await reprod(seqRoot, 'repro');
  }
});

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
console.log(`exp-sweep: ${grid.length} experiments of the example pipeline, every stage in a container`);
console.log(`  sweep (exp run -j 2)      ${s(sweepMs)}`);
console.log(`  sequential (6 × repro)    ${s(seqMs)}`);
console.log(`  ratio sweep/sequential    ${(sweepMs / seqMs).toFixed(2)}x   (target <= 0.6x)`);
rmSync(DATA, { recursive: true, force: true });
