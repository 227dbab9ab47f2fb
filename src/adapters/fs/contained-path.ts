import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isMissing } from '../../core/errno.js';
import type { PathEscape } from '../../core/ports.js';
import { dvcInternalPart } from '../../pipeline/paths.js';

/**
 * Where writing or deleting a workspace path would really happen. A path
 * is checked folder by folder from the root: a folder that is a symlink is
 * followed, and must lead back inside the workspace, and not into `.git`,
 * `.dvc` or `.hg`. The path itself may be a symlink (DVC's `symlink` cache
 * type makes outputs links into the cache): removing or replacing a link
 * never touches what it points to, so only the folders above it count.
 * Folders that do not exist yet are created as plain folders, so the check
 * stops at the first missing one.
 *
 * Returns undefined when every existing folder stays inside.
 */
export async function symlinkEscape(root: string, wsPath: string): Promise<PathEscape | undefined> {
  const realRoot = await fs.realpath(root);
  const segments = wsPath.split('/');
  for (let i = 1; i < segments.length; i++) {
    const rel = segments.slice(0, i).join('/');
    const abs = path.join(root, ...segments.slice(0, i));
    let st;
    try {
      st = await fs.lstat(abs);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    if (!st.isSymbolicLink()) {
      if (!st.isDirectory()) return undefined;
      continue;
    }
    const target = await linkTarget(abs);
    const inside = path.relative(realRoot, target);
    if (inside === '') continue;
    if (inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) {
      return { path: wsPath, link: rel, target, reason: 'outside the workspace' };
    }
    const internal = dvcInternalPart(inside.split(path.sep).join('/'));
    if (internal !== undefined) return { path: wsPath, link: rel, target, reason: `into ${internal}` };
  }
  return undefined;
}

/**
 * Where a symlink leads: its real path; for a dangling one, where a mkdir
 * through it would go (the real path of its target's deepest existing folder,
 * and the rest of the target below it).
 */
async function linkTarget(abs: string): Promise<string> {
  try {
    return await fs.realpath(abs);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
  let existing = path.resolve(path.dirname(abs), await fs.readlink(abs));
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(await fs.realpath(existing), ...rest.reverse());
    } catch (e) {
      if (!isMissing(e) || path.dirname(existing) === existing) throw e;
      rest.push(path.basename(existing));
      existing = path.dirname(existing);
    }
  }
}
