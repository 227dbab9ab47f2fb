/**
 * Memory of a no-op `reprod repro` on 5,000 stages (the built CLI, host
 * stages): every stage up to date, so the command only reads, hashes (from
 * its state) and decides. Its peak RSS (GNU time's maximum resident set
 * size) against the target of 200 MiB (issue 16), with `node -e 0`'s for
 * reference. The stages are a foreach of `cp`; their outputs are made by the
 * bench and recorded with `reprod commit`, so that setting up does not cost
 * a first repro of 5,000 stages.
 *
 *   npx tsx bench/noop-rss.ts [--stages 5000] [--runs 3]
 *
 * The workspace lives in bench/.data/noop-<N> (gitignored) and is made once.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtMs, intArg, loadLine, median } from './lib/measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const REPROD = ['node', path.join(REPO, 'bin', 'reprod.js')];
const STAGES = intArg('--stages', 5000);
const RUNS = intArg('--runs', 3);
const ws = path.join(here, '.data', `noop-${STAGES}`);

/** Peak RSS (MiB) and wall time of one run of `cmd`, which must succeed. */
function measured(cmd: readonly string[]): { rssMiB: number; wallMs: number } {
  const t = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss %M', ...cmd], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const wallMs = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  const kb = /maxrss (\d+)/.exec(r.stderr)?.[1];
  if (kb === undefined) throw new Error(`GNU time printed no maxrss: ${r.stderr.slice(-500)}`);
  return { rssMiB: Number(kb) / 1024, wallMs };
}

function prepare(): void {
  if (existsSync(path.join(ws, 'dvc.lock'))) return;
  rmSync(ws, { recursive: true, force: true });
  mkdirSync(path.join(ws, '.dvc'), { recursive: true });
  mkdirSync(path.join(ws, 'data'));
  mkdirSync(path.join(ws, 'out'));
  writeFileSync(path.join(ws, '.dvc', 'config'), '[core]\n    no_scm = True\n');
  const items = Array.from({ length: STAGES }, (_, i) => `s${String(i).padStart(5, '0')}`);
  for (const it of items) {
    writeFileSync(path.join(ws, 'data', `${it}.txt`), `${it}\n`);
    copyFileSync(path.join(ws, 'data', `${it}.txt`), path.join(ws, 'out', `${it}.txt`));
  }
  writeFileSync(
    path.join(ws, 'dvc.yaml'),
    `stages:\n  gen:\n    foreach: [${items.join(', ')}]\n    do:\n      cmd: cp data/\${item}.txt out/\${item}.txt\n      deps: ["data/\${item}.txt"]\n      outs: ["out/\${item}.txt"]\n`,
  );
  const r = spawnSync(REPROD[0] as string, [...REPROD.slice(1), '-C', ws, '--runtime', 'host', 'commit'], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('reprod commit failed');
}

if (spawnSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'ignore' }).status !== 0) throw new Error('npm run build failed');
console.log(`preparing ${STAGES} committed stages in ${ws} …`);
prepare();
const noop = [...REPROD, '-C', ws, '--runtime', 'host', 'repro', '--no-tracking'];
// the first run after the commit may still write status/: the runs measured are all no-ops
measured(noop);
const node: { rssMiB: number; wallMs: number }[] = [];
const runs: { rssMiB: number; wallMs: number }[] = [];
for (let i = 0; i < RUNS; i++) {
  node.push(measured(['node', '-e', '0']));
  runs.push(measured(noop));
}
const rss = median(runs.map((r) => r.rssMiB));
console.log(`no-op repro of ${STAGES.toLocaleString('en')} stages, ${RUNS} runs (${loadLine()})`);
console.log(`  node -e 0:          peak RSS ${median(node.map((r) => r.rssMiB)).toFixed(0)} MiB`);
console.log(
  `  reprod repro:       peak RSS ${rss.toFixed(0)} MiB [${runs.map((r) => r.rssMiB.toFixed(0)).join(' ')}], wall ${fmtMs(median(runs.map((r) => r.wallMs)))}  (target ≤ 200 MiB: ${rss <= 200 ? 'met' : 'NOT met'})`,
);
