/**
 * Bundles the compiled CLI (dist/cli/run.js, what tsc wrote) into one
 * CommonJS file, dist/cli-bundle/reprod.cjs, which bin/reprod.js runs with
 * V8's code cache: Node then reads one file instead of ~150 of reprod's
 * modules and yaml's 72, resolves and links no ES modules, and a command
 * skips compiling the functions the cache holds. That was most of what a
 * short command such as `reprod status -q` cost.
 *
 *   node --import tsx scripts/bundle-cli.ts
 *
 * `npm run build` runs it after tsc. A command's modules are initialised
 * when it runs (esbuild turns the dynamic imports of src/cli/main.ts into
 * lazy initialisers), so each command still pays only for what it uses.
 * Only small pure-JavaScript packages are bundled; the rest (native parts,
 * worker files found by path, cloud SDKs) are required from node_modules as
 * before.
 *
 * A module that finds a file beside it (`new URL('../../package.json',
 * import.meta.url)`) still finds it: in each compiled module, import.meta.url
 * is rewritten to that module's own place in dist/, relative to the bundle,
 * so the bundle works wherever the package is copied.
 *
 * Last, it runs a warm `status` in a scratch workspace once, so that the
 * code cache (reprod.cjs.cache) holds what a short command compiles.
 */
import { build, type Plugin } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DIST = path.join(REPO, 'dist');
const OUT = path.join(DIST, 'cli-bundle');

/** Packages copied into the bundle: plain JavaScript, no native part, nothing they load by path. */
const BUNDLED = new Set(['commander', 'yaml', 'ignore', 'smol-toml', 'xstate']);

const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
const external = Object.keys({ ...pkg.dependencies, ...pkg.devDependencies })
  .filter((name) => !BUNDLED.has(name))
  .flatMap((name) => [name, `${name}/*`]);

/** What each rewritten import.meta.url calls: the file URL of a path relative to the bundle's folder. */
const BANNER =
  "var __reprodModuleUrl = (rel) => require('node:url').pathToFileURL(require('node:path').join(__dirname, rel)).href;";

/**
 * In dist/pipeline/schemas.js, the function that requires the compiled
 * validators beside it (dist/pipeline/schema-validators.cjs), as tsc wrote
 * it, and what the bundle has instead: a require esbuild follows, so the
 * validators are part of the bundle and of its code cache.
 */
const SCHEMAS_MODULE = path.join(DIST, 'pipeline', 'schemas.js');
const REQUIRE_COMPILED = /function requireCompiled\(\) \{\n[^}]*\n\}/;
const BUNDLED_COMPILED = "function requireCompiled() {\n    return require('./schema-validators.cjs');\n}";

/** Gives each compiled module its own import.meta.url back (see above), and the schemas module its bundled validators. */
const ownUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(`${DIST}${path.sep}`) || args.path.startsWith(`${OUT}${path.sep}`)) return undefined;
      let text = readFileSync(args.path, 'utf8');
      if (args.path === SCHEMAS_MODULE) {
        if (!REQUIRE_COMPILED.test(text)) throw new Error(`${args.path}: requireCompiled() not found; scripts/bundle-cli.ts must follow src/pipeline/schemas.ts`);
        text = text.replace(REQUIRE_COMPILED, BUNDLED_COMPILED);
      }
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'js' };
      const rel = path.relative(OUT, args.path).split(path.sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `__reprodModuleUrl(${JSON.stringify(rel)})`), loader: 'js' };
    });
  },
};

/**
 * commander requires node:child_process when it loads, for subcommands run
 * as separate executables, which reprod has none of; compiling Node's
 * child_process modules was a twentieth of a short command. Here commander
 * gets it on first use instead.
 */
const lazyChildProcess: Plugin = {
  name: 'lazy-child-process-for-commander',
  setup(b) {
    b.onResolve({ filter: /^node:child_process$/ }, (args) =>
      args.importer.includes(`${path.sep}node_modules${path.sep}commander${path.sep}`) ? { path: 'commander-child-process', namespace: 'lazy' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: "module.exports = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });",
      loader: 'js',
    }));
  },
};

rmSync(OUT, { recursive: true, force: true });

await build({
  entryPoints: [path.join(DIST, 'cli', 'run.js')],
  outfile: path.join(OUT, 'reprod.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: ['node20'],
  external,
  banner: { js: BANNER },
  plugins: [ownUrl, lazyChildProcess],
  sourcemap: false,
  legalComments: 'eof',
  logLevel: 'warning',
});

// Read by bin/reprod.js as latin1, the fastest decoding, which is exact for ASCII: esbuild escapes
// every other character in the code (charset: ascii), and the few left in comments are escaped here.
const bundleFile = path.join(OUT, 'reprod.cjs');
writeFileSync(bundleFile, readFileSync(bundleFile, 'utf8').replace(/[^\0-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));

// The first code cache: a status of a stale one-stage pipeline compiles what most short commands run (spec, hashing, status).
const scratch = mkdtempSync(path.join(os.tmpdir(), 'reprod-cache-'));
try {
  mkdirSync(path.join(scratch, '.dvc'));
  writeFileSync(path.join(scratch, '.dvc', 'config'), '[core]\n    no_scm = True\n');
  writeFileSync(path.join(scratch, 'dvc.yaml'), 'stages:\n  s:\n    cmd: "true"\n    deps: [data]\n');
  mkdirSync(path.join(scratch, 'data'));
  writeFileSync(path.join(scratch, 'data', 'a.txt'), 'a\n');
  const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'reprod.js'), '-C', scratch, '--runtime', 'host', 'status'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the bundle did not run: ${r.stderr}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
