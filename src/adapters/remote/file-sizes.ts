import { promises as fs } from 'node:fs';
import { isMissing } from '../../core/errno.js';
import { mapLimit } from '../../remote/pool.js';

/** The size of each of `keys` that is a file at `pathOf(key)`; absent keys are left out. */
export async function fileSizes(keys: readonly string[], pathOf: (key: string) => string, jobs: number): Promise<Map<string, number>> {
  const sizes = await mapLimit(keys, jobs, async (k) => {
    try {
      const st = await fs.stat(pathOf(k));
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
