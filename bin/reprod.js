#!/usr/bin/env node
// reprod's command line; `npm run build` compiles src/ into dist/.
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// V8 moves an allocation site's objects straight to the old generation once
// many of them have outlived a young-generation collection. reprod makes a
// few short-lived objects per stage (plans, status documents, machine
// snapshots), so a site tenured early piles garbage into the old generation
// until a full collection: a no-op repro of 5,000 stages peaked ~40 MiB
// higher with it (see docs/LIMITS.md, bench/noop-rss.ts).
setFlagsFromString('--no-allocation-site-pretenuring');

// The bundle `npm run build` makes of dist/cli (scripts/bundle-cli.ts): a few
// files to load instead of some two hundred modules, which is most of what a
// short command costs. A build without it still runs, from dist/cli.
const bundled = new URL('../dist/cli-bundle/reprod.mjs', import.meta.url);
import(existsSync(bundled) ? bundled.href : '../dist/cli/run.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('reprod is not built: run `npm run build` in its folder first.\n');
    process.exit(2);
  }
  throw err;
});
