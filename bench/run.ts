/**
 * Runs every benchmark in bench/ (each `*.ts` file but this one), one after
 * the other, each in its own Node process so that none warms the JIT, the
 * heap or the worker threads of the next. Output passes straight through.
 *
 *   npm run bench          or          npx tsx bench/run.ts
 *
 * Exits non-zero when a benchmark does.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .sort();

let failed = 0;
for (const file of benches) {
  console.log(`\n=== bench/${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, file)], { stdio: 'inherit' });
  if (r.status !== 0) {
    failed++;
    console.log(`bench/${file} failed (${r.signal ?? `exit ${r.status}`})`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
