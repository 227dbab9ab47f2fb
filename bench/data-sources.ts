/**
 * What `.dvc` data sources cost `reprod status`: a pipeline whose stage
 * reads `data/raw` (20,000 files of 1 KiB, tracked by `data/raw.dvc`), in a
 * workspace that also holds 20,000 untracked files the walk for `.dvc`
 * files goes through. Measured side by side in one run, in-process, warm
 * (state cache): the pipeline's status alone, the data sources' alone (the
 * walk, and the folder's hash from the state cache), and their sum, which is
 * what `reprod status` does; plus `reprod add data/raw` once, cold.
 *
 *   npx tsx bench/data-sources.ts [--repeat N]
 *
 * The data is made once under bench/.data/data-sources-ws.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { addData } from '../src/app/add.js';
import { changedSources } from '../src/app/data-sources.js';
import { commitStages, pipelineStatus } from '../src/app/oneshot.js';
import { loadLine, median } from './lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
const ws = resolve(here, '.data', 'data-sources-ws');
const log = pino({ level: 'silent' });
const repeat = Number(process.argv[process.argv.indexOf('--repeat') + 1] ?? 5) || 5;
const FILES = 20_000;

function makeData(): void {
  if (existsSync(join(ws, 'dvc.yaml'))) return;
  const chunk = Buffer.alloc(1024);
  for (const dir of ['data/raw', 'other']) {
    for (let i = 0; i < FILES; i++) {
      const folder = join(ws, dir, `d${Math.floor(i / 500)}`);
      if (i % 500 === 0) mkdirSync(folder, { recursive: true });
      chunk.writeUInt32LE(i, 0);
      chunk.write(dir, 8);
      writeFileSync(join(folder, `f${i}.bin`), chunk);
    }
  }
  writeFileSync(join(ws, 'dvc.yaml'), 'stages:\n  count:\n    cmd: "true"\n    deps: [data/raw]\n');
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

makeData();
rmSync(join(ws, 'data', 'raw.dvc'), { force: true });
rmSync(join(ws, '.dvc'), { recursive: true, force: true });
const addMs = await timed(() => addData(ws, ['data/raw'], { log }));
await commitStages({ root: ws, runtime: 'host', log }, []);

const pipeline: number[] = [];
const sources: number[] = [];
for (let i = 0; i < repeat; i++) {
  pipeline.push(
    await timed(async () => {
      const { stale } = await pipelineStatus({ root: ws, runtime: 'host', log }, []);
      if (stale.length) throw new Error('the bench pipeline should be up to date');
    }),
  );
  sources.push(
    await timed(async () => {
      const { changed } = await changedSources(ws, [], log);
      if (changed.length) throw new Error('data/raw.dvc should be up to date');
    }),
  );
}
const p = median(pipeline);
const s = median(sources);
console.log(`${loadLine()}; ${FILES} files tracked by data/raw.dvc, ${FILES} untracked; median of ${repeat}`);
console.log(`reprod add data/raw (cold: hash, cache, .dvc file): ${addMs.toFixed(0)} ms`);
console.log(`status, warm: pipeline ${p.toFixed(0)} ms, data sources ${s.toFixed(0)} ms; with data sources / pipeline alone = ${((p + s) / p).toFixed(2)}x`);
