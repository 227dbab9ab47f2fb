/**
 * Bundles the compiled CLI (dist/cli/run.js, what tsc wrote) into a few
 * files under dist/cli-bundle/, which bin/reprod.js loads: Node then reads a
 * handful of files instead of ~150 of reprod's modules and yaml's 72, which
 * is most of what a short command such as `reprod status -q` costs.
 *
 *   node --import tsx scripts/bundle-cli.ts
 *
 * `npm run build` runs it after tsc. Each command's modules stay a chunk of
 * their own, loaded when the command runs (the dynamic imports of
 * src/cli/main.ts). Only small pure-JavaScript packages are bundled; the
 * rest (native parts, worker files found by path, cloud SDKs) are loaded
 * from node_modules as before.
 *
 * A module that finds a file beside it (`new URL('../../package.json',
 * import.meta.url)`) still finds it: in each compiled module, import.meta.url
 * is rewritten to that module's own place in dist/, relative to the chunk
 * it lands in, so the bundle works wherever the package is copied.
 */
import { build, type Plugin } from 'esbuild';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** A `require` for esbuild's shim of it, which the bundled CommonJS packages call; dropped below from chunks that do not use it. */
const BANNER = "import { createRequire as __reprodRequire } from 'node:module'; const require = __reprodRequire(import.meta.url);";

/** Gives each compiled module its own import.meta.url back (see above). */
const ownUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.js$/ }, (args) => {
      if (!args.path.startsWith(`${DIST}${path.sep}`) || args.path.startsWith(`${OUT}${path.sep}`)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return { contents: text, loader: 'js' };
      const rel = path.relative(OUT, args.path).split(path.sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`), loader: 'js' };
    });
  },
};

// chunks are named by their content: those of an earlier build would pile up
rmSync(OUT, { recursive: true, force: true });

await build({
  entryPoints: { reprod: path.join(DIST, 'cli', 'run.js') },
  outdir: OUT,
  // every output sits in OUT itself: the relative URLs above are counted from there
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: ['node20'],
  outExtension: { '.js': '.mjs' },
  external,
  // the bundled CommonJS packages (yaml, commander) require Node's own modules
  banner: { js: BANNER },
  plugins: [ownUrl],
  sourcemap: false,
  legalComments: 'eof',
  logLevel: 'warning',
});

for (const f of readdirSync(OUT)) {
  const file = path.join(OUT, f);
  const text = readFileSync(file, 'utf8');
  const body = text.startsWith(BANNER) ? text.slice(BANNER.length) : undefined;
  if (body !== undefined && !/\brequire\b/.test(body)) writeFileSync(file, body.replace(/^\n/, ''));
}
