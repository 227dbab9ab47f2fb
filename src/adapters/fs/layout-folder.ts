import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isMissing } from '../../core/errno.js';
import { mapLimit } from '../../remote/pool.js';

/**
 * A folder in DVC's layout (the local cache, a local remote): files
 * addressed by the `/`-separated keys of remote/layout.ts.
 */
export class LayoutFolder {
  constructor(
    /** Absolute path of the folder. */
    readonly root: string,
  ) {}

  pathOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  /** The size of each of `keys` that is a file; absent keys are left out. */
  async sizes(keys: readonly string[], jobs: number): Promise<Map<string, number>> {
    const sizes = await mapLimit(keys, jobs, async (k) => {
      try {
        const st = await fs.stat(this.pathOf(k));
        return st.isFile() ? st.size : undefined;
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    });
    const out = new Map<string, number>();
    keys.forEach((k, i) => {
      const s = sizes[i];
      if (s !== undefined) out.set(k, s);
    });
    return out;
  }

  /** Every file under `prefix` (a folder of the layout), sorted by name folder by folder; nothing when absent. */
  list(prefix: string): AsyncIterable<string> {
    return walkKeys(this.root, this.pathOf(prefix));
  }

  /** A file's bytes; null when absent. */
  async read(key: string): Promise<Uint8Array | null> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  /** Removes the files of `keys`; absent ones are no error. */
  async delete(keys: readonly string[], jobs: number): Promise<void> {
    await mapLimit(keys, jobs, (k) => fs.rm(this.pathOf(k), { force: true }));
  }
}

async function* walkKeys(base: string, dir: string): AsyncIterable<string> {
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
