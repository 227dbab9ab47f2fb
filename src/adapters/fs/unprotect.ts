import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isMissing } from '../../core/errno.js';
import { writeFileAtomic } from './atomic-file.js';

/**
 * Makes the files under `abs` the workspace's own again, as DVC's
 * `unprotect`: a file that is a hardlink (more than one link) or a symlink
 * into `cacheDir` becomes a plain copy, so that editing it can no longer
 * change the cache object it shares. Symlinks that point anywhere else are
 * left as they are and never followed. Returns how many files were copied.
 */
export async function unprotectTree(abs: string, cacheDir: string): Promise<number> {
  let st;
  try {
    st = await fs.lstat(abs);
  } catch (e) {
    if (isMissing(e)) return 0;
    throw e;
  }
  if (st.isDirectory()) {
    let n = 0;
    for (const name of (await fs.readdir(abs)).sort()) n += await unprotectTree(path.join(abs, name), cacheDir);
    return n;
  }
  let source: string | undefined;
  if (st.isSymbolicLink()) {
    const target = path.resolve(path.dirname(abs), await fs.readlink(abs));
    const rel = path.relative(cacheDir, target);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return 0;
    source = target;
  } else if (st.isFile() && st.nlink > 1) {
    source = abs;
  }
  if (source === undefined) return 0;
  const from = source;
  const mode = (await fs.stat(from)).mode & 0o777;
  // a cache object is read-only; the workspace's copy is writable again
  await writeFileAtomic(abs, (temp) => fs.copyFile(from, temp), { mode: mode | 0o200 });
  return 1;
}
