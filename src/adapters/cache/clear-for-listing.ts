import { promises as fs } from 'node:fs';
import path from 'node:path';
import { hasErrno, isMissing } from '../../core/errno.js';
import type { ChildMatcher } from '../../hashing/dvc-ignore.js';

/**
 * Readies a directory output for being checked out from its listing: what
 * checkout would replace or delete goes, what DVC never tracked stays.
 *
 * DVC's checkout (dvc_data's index diff) deletes only the files of the
 * workspace's own index that the new listing lacks, so the entries its walk
 * never sees are left alone: `.dvcignore`d files and folders, symlinks to
 * folders, folders that hold a `.dvc` folder (another repository). Those
 * are kept here too (unless one stands where a listed file or folder must
 * go), as are folders left holding them; every other file the listing
 * lacks is removed, and so is anything that is not a folder where the
 * listing needs one. The caller has made sure that nothing removed here is
 * lost (its content is in the cache, or `--force`). Never follows a
 * symlink: a link is removed, not what it points to.
 *
 * `wsDir` is the output's workspace-relative path, `abs` its absolute
 * path; `matches` the ignore rules in force for it.
 */
export async function clearForListing(wsDir: string, abs: string, relpaths: readonly string[], matches: ChildMatcher): Promise<void> {
  const files = new Set(relpaths);
  const dirs = new Set<string>();
  for (const f of relpaths) for (let i = f.indexOf('/'); i >= 0; i = f.indexOf('/', i + 1)) dirs.add(f.slice(0, i));
  await clearDir({ wsDir, files, dirs, matches }, '', abs);
}

interface Wanted {
  wsDir: string;
  files: ReadonlySet<string>;
  dirs: ReadonlySet<string>;
  matches: ChildMatcher;
}

async function clearDir(w: Wanted, rel: string, absDir: string): Promise<void> {
  const here = rel === '' ? w.wsDir : `${w.wsDir}/${rel}`;
  for (const e of await fs.readdir(absDir, { withFileTypes: true })) {
    const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
    const childAbs = path.join(absDir, e.name);
    const needed = w.files.has(childRel) || w.dirs.has(childRel);
    if (e.isDirectory()) {
      const unseen = w.matches(here, e.name, true) || (await holdsDvcFolder(childAbs));
      if (unseen && !needed) continue;
      if (w.files.has(childRel)) {
        await fs.rm(childAbs, { recursive: true, force: true });
        continue;
      }
      await clearDir(w, childRel, childAbs);
      if (!w.dirs.has(childRel)) await removeIfEmpty(childAbs);
      continue;
    }
    const unseen = (e.isSymbolicLink() && (await pointsToFolder(childAbs))) || w.matches(here, e.name, false);
    if (unseen && !needed) continue;
    // a listed file is replaced when it is linked; anything else here goes (a link is unlinked, never followed)
    if (!w.files.has(childRel)) await fs.rm(childAbs, { force: true });
  }
}

async function holdsDvcFolder(absDir: string): Promise<boolean> {
  try {
    return (await fs.lstat(path.join(absDir, '.dvc'))).isDirectory();
  } catch (e) {
    if (isMissing(e)) return false;
    throw e;
  }
}

async function pointsToFolder(abs: string): Promise<boolean> {
  try {
    return (await fs.stat(abs)).isDirectory();
  } catch (e) {
    // a dangling link is a file the walk would refuse: it is removed like one
    if (isMissing(e) || hasErrno(e, 'ELOOP')) return false;
    throw e;
  }
}

async function removeIfEmpty(absDir: string): Promise<void> {
  try {
    await fs.rmdir(absDir);
  } catch (e) {
    // still holding what DVC never tracked: it stays, as DVC leaves it
    if (!hasErrno(e, 'ENOTEMPTY', 'EEXIST')) throw e;
  }
}
