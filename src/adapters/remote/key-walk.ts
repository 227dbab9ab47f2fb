import { promises as fs } from 'node:fs';
import path from 'node:path';

import { isMissing } from '../../core/errno.js';

/** Every file under `dir`, as `/`-separated paths relative to `base`; nothing when `dir` is absent. */
export async function* walkKeys(base: string, dir: string): AsyncIterable<string> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isMissing(e)) return;
    throw e;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walkKeys(base, p);
    else if (e.isFile()) yield path.relative(base, p).split(path.sep).join('/');
  }
}
