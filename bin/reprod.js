#!/usr/bin/env node
'use strict';
// reprod's command line. `npm run build` compiles src/ into dist/ and bundles
// the CLI into one file, dist/cli-bundle/reprod.cjs (scripts/bundle-cli.ts).
// This file is CommonJS (bin/package.json): Node starts a CommonJS entry
// without setting up its ES module loader, which a short command would
// otherwise spend a tenth of its time on.
const { existsSync, readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const vm = require('node:vm');

const bundle = path.join(__dirname, '..', 'dist', 'cli-bundle', 'reprod.cjs');
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  // scripts call it to see that reprod is there: answered from package.json (as src/app/version.ts), no code loaded
  process.stdout.write(`${JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).version}\n`);
} else if (existsSync(bundle)) {
  runBundle(bundle, `${bundle}.cache`);
} else {
  // a build without the bundle still runs, from dist/cli
  import('../dist/cli/run.js').catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
      process.stderr.write('reprod is not built: run `npm run build` in its folder first.\n');
      process.exit(2);
    }
    throw err;
  });
}

/**
 * Runs the bundle as Node runs a CommonJS module, with V8's code cache: the
 * cache holds the bytecode of every function the run that wrote it compiled,
 * so a command skips parsing and compiling most of the code it runs. V8
 * checks the cache against the source and its own version and flags, and
 * refuses one that does not fit; it is then written again when this process
 * exits (when the folder is writable: the cache is code, so it lives only
 * beside the code it was made from). `npm run build` writes the first one.
 */
function runBundle(file, cacheFile) {
  // the bundle is ASCII (scripts/bundle-cli.ts): latin1 reads it exactly, and fastest
  const source = readFileSync(file, 'latin1');
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new vm.Script(Module.wrap(source), {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  if (cachedData === undefined || script.cachedDataRejected) {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        writeFileSync(tmp, script.createCachedData());
        renameSync(tmp, cacheFile);
      } catch {
        // a read-only install: every run compiles, as without a cache
      }
    });
  }
  const wrapper = script.runInThisContext();
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  wrapper.call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
}
