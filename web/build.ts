/**
 * Bundles the daemon's web page (web/src) into dist/web/app.js and
 * dist/web/app.css with esbuild: one file each, no CDN, nothing fetched at
 * run time (vega's own builds are served from node_modules beside it).
 * `npm run build` runs it after tsc; so does the image build.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

await build({
  entryPoints: { app: here('./src/main.ts') },
  outdir: here('../dist/web'),
  bundle: true,
  format: 'esm',
  target: ['es2022'],
  minify: true,
  // the shipped page has no map pointing into sources the image does not carry
  sourcemap: false,
  legalComments: 'eof',
  logLevel: 'warning',
});
