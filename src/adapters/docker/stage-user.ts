import { ReprodError } from '../../core/errors.js';
import type { FileOwner } from '../../core/ports.js';
import { isRootUser } from '../../pipeline/manifests.js';

/**
 * Whom a stage container runs as. Never root:
 *
 *   manifest `user:`                       as given (root refused where the manifest is read, and here again)
 *   the workspace root belongs to a user   that user's uid:gid (files the stage writes are the user's)
 *   it belongs to root, reprod is root     65534:65534 ("nobody"): the outs are given back to root after the run
 *   it belongs to root, reprod is not      reprod's own uid:gid
 *
 * A group 0 is replaced the same way: a stage is not in root's group either.
 */

/** The unprivileged uid:gid of stages in a workspace that root owns ("nobody" on Debian). */
export const UNPRIVILEGED_USER: FileOwner = { uid: 65534, gid: 65534 };

export interface StageUser {
  /** Docker's `User`. */
  spec: string;
  /** The numeric uid:gid, when known (a name is looked up in the image by the engine). */
  ids: FileOwner | undefined;
}

function unprivileged(id: number, own: number | undefined, fallback: number): number {
  if (id !== 0) return id;
  return own !== undefined && own !== 0 ? own : fallback;
}

/**
 * The user of a stage: `manifestUser` when set, else from the workspace
 * root's owner. `self` is this process's uid:gid (undefined off POSIX).
 */
export function stageUser(manifestUser: string | undefined, workspaceOwner: FileOwner, self: Partial<FileOwner> = { uid: process.getuid?.(), gid: process.getgid?.() }): StageUser {
  const def: FileOwner = {
    uid: unprivileged(workspaceOwner.uid, self.uid, UNPRIVILEGED_USER.uid),
    gid: unprivileged(workspaceOwner.gid, self.gid, UNPRIVILEGED_USER.gid),
  };
  if (manifestUser === undefined) return { spec: `${def.uid}:${def.gid}`, ids: def };
  if (isRootUser(manifestUser)) {
    throw new ReprodError('SANDBOX', `a stage never runs as root, and its settings say \`user: ${manifestUser}\``, {
      remedy: 'Remove `user:` from the manifest (stages run as the workspace owner) or give a non-root uid:gid.',
    });
  }
  const [u, g] = manifestUser.split(':');
  const numeric = (s: string | undefined) => (s !== undefined && /^[0-9]+$/.test(s) ? Number(s) : undefined);
  const uid = numeric(u);
  // a uid alone would get the image's idea of its group, root's when the image has no such user
  if (uid !== undefined && g === undefined) return { spec: `${uid}:${def.gid}`, ids: { uid, gid: def.gid } };
  const gid = numeric(g);
  return { spec: manifestUser, ids: uid !== undefined && gid !== undefined ? { uid, gid } : undefined };
}
