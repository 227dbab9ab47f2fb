import { statSync, type Dirent } from 'node:fs';
import { ReprodError } from '../core/errors.js';
import type { DvcIgnore } from './dvc-ignore.js';
import { freshListings, type FolderLister } from './folder-listings.js';
import { errorMessage, errnoCode } from '../core/errno.js';

/** A file DVC would list inside a tracked directory. */
export interface WalkedFile {
  /** Relative to the walked directory, `/`-separated: the listing's `relpath`. */
  relpath: string;
  abs: string;
}

/**
 * The files DVC 3 puts in a directory's listing, in no particular order.
 *
 * Mirrors DVC's walk (`os.walk` without following links, filtered by
 * `.dvcignore`):
 * - ignored files and folders are left out, and so are folders holding a
 *   `.dvc` folder (DVC treats them as separate repositories);
 * - a symlink to a file is a file (its target's bytes are hashed);
 * - a symlink to a folder is neither walked nor listed;
 * - folders with nothing to list add nothing (empty folders vanish);
 * - a `.dvcignore` inside the directory is an error, as in DVC;
 * - a broken symlink or a special file (fifo, socket, device) is an error
 *   (DVC fails on it too; reading a fifo would hang).
 *
 * `dir` is workspace-relative (`''` is the workspace root); `abs` is its
 * absolute path. `listings` reads each folder (see folder-listings.ts).
 */
export function walkFiles(ignore: DvcIgnore, dir: string, abs: string, listings: FolderLister = freshListings): WalkedFile[] {
  const matches = ignore.matcherFor(dir);
  const out: WalkedFile[] = [];
  // [path relative to the walked dir ('' for itself), absolute path]
  const stack: [string, string][] = [['', abs]];
  while (stack.length > 0) {
    const [rel, absDir] = stack.pop() as [string, string];
    const wsDir = rel === '' ? dir : dir === '' ? rel : `${dir}/${rel}`;
    const entries = readDir(listings, absDir, wsDir);
    if (rel !== '' && entries.some((e) => e.name === '.dvc' && e.isDirectory())) continue;
    for (const e of entries) {
      const name = e.name;
      const childAbs = `${absDir}/${name}`;
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (e.isDirectory()) {
        if (!matches(wsDir, name, true)) stack.push([childRel, childAbs]);
        continue;
      }
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const target = followLink(childAbs);
        // os.walk(followlinks=False) lists a link to a folder with the folders and never enters it.
        if (target === 'dir') continue;
        if (matches(wsDir, name, false)) continue;
        if (target instanceof Error) {
          const what = errnoCode(target) === 'ENOENT' ? 'is a broken symlink' : `cannot be followed: ${errorMessage(target)}`;
          throw new ReprodError('HASH_IO', `${wsPath(wsDir, name)} ${what}`, { source: { file: wsPath(wsDir, name) }, cause: target });
        }
        isFile = target === 'file';
      } else if (matches(wsDir, name, false)) {
        continue;
      }
      if (!isFile) {
        throw new ReprodError('HASH_IO', `${wsPath(wsDir, name)} is not a regular file (fifo, socket or device); DVC cannot track it`, {
          source: { file: wsPath(wsDir, name) },
        });
      }
      if (name === '.dvcignore') {
        throw new ReprodError('DVCIGNORE_IN_DIR', `.dvcignore file should not be in collected dir path: '${wsDir}'`, {
          source: { file: wsPath(wsDir, name) },
        });
      }
      out.push({ relpath: childRel, abs: childAbs });
    }
  }
  return out;
}

function wsPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

function readDir(listings: FolderLister, abs: string, wsDir: string): readonly Dirent[] {
  try {
    return listings.list(abs);
  } catch (err) {
    throw new ReprodError('HASH_IO', `cannot list ${wsDir || '.'}: ${errorMessage(err)}`, { source: { file: wsDir || '.' }, cause: err });
  }
}

/** What a symlink points to, or why it cannot be followed. */
function followLink(abs: string): 'file' | 'dir' | 'other' | Error {
  try {
    const st = statSync(abs);
    return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
