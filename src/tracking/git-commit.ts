import type { Workspace } from '../core/ports.js';
import { hasErrno } from '../core/errno.js';

/**
 * HEAD's commit of the git checkout at the workspace root, read from the
 * files (no git binary): `.git/HEAD` is a commit id or `ref: refs/…`, a ref
 * is a loose file or a line of `packed-refs`. A `.git` file (`gitdir: …`,
 * worktrees and submodules) is followed when it points inside the workspace,
 * with `commondir` for the shared refs. undefined when there is no checkout,
 * or HEAD names a branch without commits.
 */
export async function readGitCommit(ws: Workspace): Promise<string | undefined> {
  const gitDir = await findGitDir(ws);
  if (gitDir === undefined) return undefined;
  const head = (await readDirOrFileText(ws, `${gitDir}/HEAD`))?.trim();
  if (!head) return undefined;
  if (isCommit(head)) return head.toLowerCase();
  const m = /^ref:\s*(\S+)$/.exec(head);
  if (!m?.[1]) return undefined;
  const ref = m[1];
  const common = await commonDir(ws, gitDir);
  for (const dir of [...new Set([gitDir, common])]) {
    const loose = (await readDirOrFileText(ws, `${dir}/${ref}`))?.trim();
    if (loose && isCommit(loose)) return loose.toLowerCase();
  }
  const packed = await readDirOrFileText(ws, `${common}/packed-refs`);
  for (const line of packed?.split('\n') ?? []) {
    const [sha, name] = line.trim().split(/\s+/);
    if (name === ref && sha && isCommit(sha)) return sha.toLowerCase();
  }
  return undefined;
}

function isCommit(s: string): boolean {
  return /^[0-9a-fA-F]{40}$/.test(s) || /^[0-9a-fA-F]{64}$/.test(s);
}

/** A read that treats "is a directory" as absent (`.git` is a folder or a file). */
async function readDirOrFileText(ws: Workspace, path: string): Promise<string | undefined> {
  try {
    return await ws.readText(path);
  } catch (e) {
    if (hasErrno(e, 'EISDIR', 'ENOTDIR')) return undefined;
    throw e;
  }
}

function joinRel(base: string, rel: string): string | undefined {
  if (rel.startsWith('/')) return undefined;
  const parts = base === '.' ? [] : base.split('/');
  for (const seg of rel.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else {
      parts.push(seg);
    }
  }
  return parts.length ? parts.join('/') : '.';
}

async function findGitDir(ws: Workspace): Promise<string | undefined> {
  const asFile = await readDirOrFileText(ws, '.git');
  if (asFile === undefined) return (await ws.exists('.git/HEAD')) ? '.git' : undefined;
  const m = /^gitdir:\s*(.+)$/m.exec(asFile);
  return m?.[1] ? joinRel('.', m[1].trim()) : undefined;
}

async function commonDir(ws: Workspace, gitDir: string): Promise<string> {
  const rel = (await readDirOrFileText(ws, `${gitDir}/commondir`))?.trim();
  return (rel && joinRel(gitDir, rel)) || gitDir;
}
