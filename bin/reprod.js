#!/usr/bin/env node
// reprod's command line; `npm run build` compiles src/ into dist/.
import('../dist/cli/run.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('reprod is not built: run `npm run build` in its folder first.\n');
    process.exit(2);
  }
  throw err;
});
