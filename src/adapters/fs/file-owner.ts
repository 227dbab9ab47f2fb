import { chownSync, lchownSync, mkdirSync, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import { isMissing } from '../../core/errno.js';
import type { FileOwner } from '../../core/ports.js';

/**
 * What reprod creates in a workspace belongs to the workspace's owner. When
 * reprod runs as an ordinary user that is so already; when it runs as root
 * (the compose services) for a workspace that someone else owns, every file
 * and folder it creates there (dvc.lock, status/, mlruns/, the cache, its
 * state) is given to the owner of the workspace root at creation time, so
 * that the user (and DVC run by the user) can go on reading, rewriting and
 * removing them. `undefined` means there is nothing to give: each helper is
 * then a plain mkdir, or nothing at all.
 */

/**
 * The owner to give new files under `root` to, or undefined when the
 * process's own files are right (and when there is no such folder: nothing
 * will be written there).
 */
export function workspaceOwner(root: string, uid: number | undefined = process.getuid?.()): FileOwner | undefined {
  if (uid !== 0) return undefined;
  let st;
  try {
    st = statSync(root);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
  if (st.uid === 0 && st.gid === 0) return undefined;
  return { uid: st.uid, gid: st.gid };
}

/** True when `p` is `root` or inside it (lexically). */
export function isInside(p: string, root: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(p));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Gives each path (not what a symlink points to) to `owner`. */
export async function giveTo(owner: FileOwner | undefined, ...paths: string[]): Promise<void> {
  if (!owner) return;
  for (const p of paths) await fs.lchown(p, owner.uid, owner.gid);
}

export function giveToSync(owner: FileOwner | undefined, ...paths: string[]): void {
  if (!owner) return;
  for (const p of paths) lchownSync(p, owner.uid, owner.gid);
}

/** Gives a file or a whole tree (symlinks themselves, never followed) to `owner`. */
export async function giveTreeTo(owner: FileOwner | undefined, p: string): Promise<void> {
  if (!owner) return;
  const st = await fs.lstat(p);
  await fs.lchown(p, owner.uid, owner.gid);
  if (!st.isDirectory()) return;
  for (const name of await fs.readdir(p)) await giveTreeTo(owner, path.join(p, name));
}

/** The folders `mkdir -p dir` created, given that it reports the first (`mkdir`'s recursive result). */
function created(dir: string, first: string | undefined): string[] {
  if (first === undefined) return [];
  const out: string[] = [];
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    out.push(d);
    if (d === path.resolve(first) || d === path.dirname(d)) break;
  }
  return out;
}

/** `mkdir -p` that gives every folder it creates (and only those) to `owner`. */
export async function mkdirOwned(dir: string, owner: FileOwner | undefined): Promise<void> {
  const first = await fs.mkdir(dir, { recursive: true });
  if (owner) for (const d of created(dir, first)) await fs.chown(d, owner.uid, owner.gid);
}

export function mkdirOwnedSync(dir: string, owner: FileOwner | undefined): void {
  const first = mkdirSync(dir, { recursive: true });
  if (owner) for (const d of created(dir, first)) chownSync(d, owner.uid, owner.gid);
}
