import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ReprodError } from '../../core/errors.js';
import type { PyValue } from '../../core/pyvalue.js';
import { parseJsonText } from '../../pipeline/params-file.js';
import { normalizeWsPath } from '../../pipeline/paths.js';
import type { PageScript } from '../../plots/output.js';
import { isMissing } from '../../core/errno.js';

/**
 * The files `plots show` reads and writes besides the data: the browser
 * builds of vega, vega-lite and vega-embed (inlined into the page, so that it
 * renders offline), custom templates, and the page and images it writes.
 */

/** The npm packages inlined into the page, in load order (vega-embed needs the other two). */
const PAGE_PACKAGES = ['vega', 'vega-lite', 'vega-embed'] as const;

/**
 * Each package's minified UMD build, `build/<name>.min.js`, read from the
 * installed package (the versions package.json pins exactly). Read at run
 * time: the published builds are already bundled for browsers, so reprod's
 * own build stays a plain tsc.
 */
export function vegaScripts(): PageScript[] {
  const require = createRequire(import.meta.url);
  return PAGE_PACKAGES.map((name) => {
    // the package's main file is in build/ for all three (vega-embed exports nothing else)
    const dir = path.dirname(require.resolve(name));
    const pkg = JSON.parse(readFileSync(path.join(dir, '..', 'package.json'), 'utf8')) as { version?: string };
    return { name: `${name}@${pkg.version ?? '?'}`, source: readFileSync(path.join(dir, `${name}.min.js`), 'utf8') };
  });
}

/**
 * dvc-render's `_find_template`: `.dvc/plots/NAME`, `.dvc/plots/NAME` with
 * its suffix made `.json`, then NAME as a path in the workspace; `undefined`
 * when none exists (a built-in template is used then).
 */
export function customTemplates(root: string): (name: string) => PyValue | undefined {
  const dir = path.join(root, '.dvc', 'plots');
  return (name) => {
    const stem = name.includes('.') && !name.startsWith('.') ? name.slice(0, name.lastIndexOf('.')) : name;
    const inWorkspace = normalizeWsPath(name);
    const candidates = [path.join(dir, name), path.join(dir, `${stem}.json`), ...(inWorkspace ? [path.join(root, inWorkspace)] : [])];
    for (const file of candidates) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (e) {
        if (isMissing(e) || (e as NodeJS.ErrnoException).code === 'EISDIR') continue;
        throw new ReprodError('PLOT', `cannot read the template ${file}`, { cause: e });
      }
      return parseJsonText(text, path.relative(root, file));
    }
    return undefined;
  };
}

/** The output folder, inside the workspace. */
export function outputDir(root: string, out: string): string {
  const rel = normalizeWsPath(out);
  if (rel === undefined) {
    throw new ReprodError('PATH_OUTSIDE', `'${out}' is outside the workspace`, { remedy: 'Give -o a folder inside the workspace, relative to its root.' });
  }
  return path.join(root, rel);
}

/** Writes an image of one revision as DVC names it (`<rev>_<path with / as _>`); returns its absolute path. */
export function imageWriter(dir: string): (rev: string, filename: string, bytes: Uint8Array) => string {
  return (rev, filename, bytes) => {
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${rev}_${filename}`.replace(/\//g, '_'));
    writeFileSync(file, bytes);
    return file;
  };
}

export function writePage(dir: string, html: string): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'index.html');
  writeFileSync(file, html);
  return file;
}
