/**
 * What reading every dvc.yaml of a workspace costs: `loadSpec` (the walk
 * that finds them, then parsing) against parsing the same two files alone,
 * on a workspace whose input folder holds 2,000 folders of 10 files and
 * whose output folder holds as many (an output is not walked, as DVC does
 * not walk it); and the walk with the output left out against the walk
 * through it. Measured side by side in one run, in-process, interleaved.
 *
 *   npx tsx bench/pipeline-files.ts [--repeat N]
 *
 * The data is made once under bench/.data/pipeline-files-ws.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPipelineFiles } from '../src/app/pipeline-files.js';
import { loadSpec } from '../src/app/project.js';
import { parseDvcYaml } from '../src/pipeline/parse-dvc-yaml.js';
import { intArg, loadLine, median } from './lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const ws = resolve(here, '.data', 'pipeline-files-ws');
const repeat = intArg('--repeat', 15);
const FOLDERS = 2_000;
const FILES = 10;

function makeData(): void {
  if (existsSync(join(ws, 'sub', 'dvc.yaml'))) return;
  for (const tree of ['data/raw', 'out/made']) {
    for (let d = 0; d < FOLDERS; d++) {
      const dir = join(ws, tree, `d${String(d).padStart(4, '0')}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < FILES; f++) writeFileSync(join(dir, `f${f}.txt`), `${d}.${f}\n`);
    }
  }
  writeFileSync(join(ws, 'dvc.yaml'), 'stages:\n  make:\n    cmd: ./make.sh\n    deps: [data/raw]\n    outs: [out/made]\n');
  mkdirSync(join(ws, 'sub'), { recursive: true });
  writeFileSync(join(ws, 'sub', 'dvc.yaml'), 'stages:\n  use:\n    cmd: ./use.sh\n    deps: [../out/made]\n    outs: [used.txt]\n');
}

makeData();
const files = ['dvc.yaml', 'sub/dvc.yaml'];
const texts = files.map((f) => readFileSync(join(ws, f), 'utf8'));
const time = (fn: () => void): number => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};
const runs = { loadSpec: [] as number[], parseOnly: [] as number[], walkPruned: [] as number[], walkAll: [] as number[] };
for (let i = 0; i < repeat; i++) {
  runs.loadSpec.push(
    time(() => {
      if (loadSpec(ws).pipeline.stages.length !== 2) throw new Error('expected two stages');
    }),
  );
  runs.parseOnly.push(time(() => files.forEach((file, j) => parseDvcYaml(texts[j] as string, { file, readFile: () => undefined }))));
  runs.walkPruned.push(time(() => findPipelineFiles(ws, (f) => (f === 'dvc.yaml' ? ['out/made'] : []))));
  runs.walkAll.push(time(() => findPipelineFiles(ws)));
}
const m = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)])) as Record<keyof typeof runs, number>;
console.log(`pipeline files, ${FOLDERS} input folders and ${FOLDERS} output folders of ${FILES} files, median of ${repeat}; ${loadLine()}`);
console.log(`  loadSpec (walk + parse 2 files) ${m.loadSpec.toFixed(1)} ms; parsing the 2 files alone ${m.parseOnly.toFixed(1)} ms: ${(m.loadSpec / m.parseOnly).toFixed(1)}x`);
console.log(`  walk leaving the output out ${m.walkPruned.toFixed(1)} ms; walk through it ${m.walkAll.toFixed(1)} ms: ${(m.walkPruned / m.walkAll).toFixed(2)}x`);
