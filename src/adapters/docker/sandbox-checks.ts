import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isMissing } from '../../core/errno.js';
import { ReprodError } from '../../core/errors.js';
import type { FileOwner } from '../../core/ports.js';

/** What a stage sandbox (stage-sandbox.ts) refuses, before and after a run. */

/**
 * A stage that does not run as the workspace's owner (65534 in a workspace
 * root owns, or a manifest's user) reads it through the group or the others
 * bits: a root it cannot enter is said plainly, before the run, not left to a
 * "Permission denied" in the middle of its log.
 */
export async function checkStageCanRead(stage: string, workspace: string, user: FileOwner | undefined): Promise<void> {
  const st = await fs.stat(workspace);
  if (!user || user.uid === st.uid) return;
  const bits = user.gid === st.gid ? (st.mode >> 3) & 0o5 : st.mode & 0o5;
  if (bits === 0o5) return;
  const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
  throw new ReprodError('SANDBOX', `stage ${stage} runs as ${user.uid}:${user.gid}, which cannot read the workspace (owned by ${st.uid}:${st.gid}, mode ${mode})`, {
    remedy: `Let others read it (\`chmod o+rx ${workspace}\`, as a clone is), give the workspace to the user who works in it (\`chown\`), or set \`user:\` in the stage's manifest.`,
  });
}

export interface OutOfRun {
  stage: string;
  /** The workspace root as reprod sees it, and its real path. */
  workspace: string;
  realRoot: string;
  /** The out, workspace-relative. */
  out: string;
}

const outside = (rel: string) => rel.startsWith('..') || path.isAbsolute(rel);

/**
 * An out may hold symlinks, as under DVC, but none that leads out of the
 * workspace: reprod (root, maybe) would read what it points to, hash it and
 * copy it into the cache, for a stage that could not read it itself. `src`
 * is the out as the stage left it, `dst` where it goes in the workspace
 * (links are read as they will be there).
 */
export async function refuseEscapingLinks(o: OutOfRun, src: string, dst: string): Promise<void> {
  const st = await fs.lstat(src);
  if (st.isDirectory()) {
    for (const name of await fs.readdir(src)) await refuseEscapingLinks(o, path.join(src, name), path.join(dst, name));
    return;
  }
  if (!st.isSymbolicLink()) return;
  const target = path.resolve(path.dirname(dst), await fs.readlink(src));
  let real = target;
  try {
    real = await fs.realpath(target);
  } catch (e) {
    // a link to nothing (yet): judged by where it points
    if (!isMissing(e)) throw e;
  }
  if (outside(path.relative(o.workspace, target)) || outside(path.relative(o.realRoot, real))) {
    const at = path.relative(o.workspace, dst).split(path.sep).join('/');
    throw new ReprodError('SANDBOX', `stage ${o.stage}: out ${o.out} holds a symlink ${at} to ${target}, outside the workspace`, {
      remedy: 'Write the data itself into the out, or link only to files inside the workspace.',
    });
  }
}
