import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ReprodError } from '../../core/errors.js';
import { EXPS_NAMESPACE, expRefName, parseExpRef, type ExpRef } from '../../experiments/exp-refs.js';
import type { GitRepo } from './git-repo.js';
import { runGit } from './git-exec.js';

/**
 * Experiments as DVC keeps them in git: one commit per experiment whose parent
 * is the baseline, named by `refs/exps/<sha[:2]>/<sha[2:]>/<name>`. The commit
 * is built in a private index (GIT_INDEX_FILE) from the baseline's tree with
 * the experiment's files laid over it: the user's index, HEAD and work tree
 * are never touched.
 */
export class GitExperiments {
  constructor(private readonly repo: GitRepo) {}

  private git(args: string[], opts: { input?: Buffer | string; env?: NodeJS.ProcessEnv } = {}): string {
    try {
      return runGit(this.repo.top, args, { input: opts.input ?? '', ...(opts.env ? { env: opts.env } : {}) }).toString('utf8');
    } catch (e) {
      const stderr = (e as { stderr?: Buffer }).stderr?.toString('utf8').trim().split('\n')[0] ?? '';
      throw new ReprodError('GIT', `git ${args.slice(0, 2).join(' ')} failed in ${this.repo.top}${stderr ? `: ${stderr}` : ''}`, { cause: e });
    }
  }

  /** The baseline: HEAD's commit. */
  head(): string {
    return this.git(['rev-parse', '--verify', 'HEAD^{commit}']).trim();
  }

  /** True when git ignores the path (a workspace in an ignored folder of a repository is not the repository's). */
  ignores(rel: string): boolean {
    return exitsZero(this.repo.top, ['check-ignore', '-q', '--', this.repo.prefix ? `${this.repo.prefix}/${rel}` : rel]);
  }

  /** A commit's committer time (seconds since the epoch). */
  commitTime(sha: string): number {
    return Number(this.git(['show', '-s', '--format=%ct', sha]).trim());
  }

  /** The branch HEAD is on (`main`), or null when detached. */
  headBranch(): string | null {
    if (!exitsZero(this.repo.top, ['symbolic-ref', '--quiet', 'HEAD'])) return null;
    return this.git(['symbolic-ref', '--quiet', '--short', 'HEAD']).trim();
  }

  /** Workspace paths whose tracked content differs from HEAD (staged or not). */
  modifiedFiles(): string[] {
    const out = this.git(['diff', '--name-only', '-z', 'HEAD', '--', this.repo.prefix || '.']);
    return out
      .split('\0')
      .filter((p) => p !== '')
      .map((p) => (this.repo.prefix ? p.slice(this.repo.prefix.length + 1) : p));
  }

  /** Files git would commit from the workspace: tracked, and untracked but not ignored. */
  listWorkspaceFiles(root: string): string[] {
    const out = runGit(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']);
    return [...new Set(out.toString('utf8').split('\0').filter((p) => p !== ''))].sort();
  }

  /**
   * Saves an experiment: `files` (workspace path → bytes) over the baseline's
   * tree, committed with the baseline as parent, and the ref pointed at it.
   * An existing experiment of that name is an error unless `force`.
   */
  save(ref: ExpRef, files: ReadonlyMap<string, Uint8Array>, message: string, timestamp: Date, force: boolean): string {
    const refName = expRefName(ref);
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'reprod-exp-index-'));
    try {
      const env = { GIT_INDEX_FILE: path.join(tmp, 'index'), ...identityEnv(this.repo.top), ...dateEnv(timestamp) };
      this.git(['read-tree', ref.baseline], { env });
      for (const [p, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const oid = this.git(['hash-object', '-w', '--stdin'], { input: Buffer.from(bytes) }).trim();
        const full = this.repo.prefix ? `${this.repo.prefix}/${p}` : p;
        this.git(['update-index', '--add', '--cacheinfo', `100644,${oid},${full}`], { env });
      }
      const tree = this.git(['write-tree'], { env }).trim();
      const commit = this.git(['commit-tree', tree, '-p', ref.baseline, '-m', message], { env }).trim();
      // the old value '' makes update-ref refuse to replace an existing experiment
      this.git(['update-ref', '-m', `reprod: exp ${ref.name}`, refName, commit, ...(force ? [] : [''])]);
      return commit;
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  /** Every experiment ref: name, baseline and commit. */
  list(): { ref: ExpRef; commit: string; time: number }[] {
    const out = this.git(['for-each-ref', '--format=%(refname)%00%(objectname)%00%(committerdate:unix)', EXPS_NAMESPACE]);
    const found: { ref: ExpRef; commit: string; time: number }[] = [];
    for (const line of out.split('\n')) {
      const [name, commit, time] = line.split('\0');
      if (!name || !commit) continue;
      const ref = parseExpRef(name);
      if (ref) found.push({ ref, commit, time: Number(time) });
    }
    return found;
  }

  /** Workspace paths that differ between two commits. */
  changedFiles(from: string, to: string): string[] {
    const out = this.git(['diff-tree', '-r', '--name-only', '-z', '--no-commit-id', from, to, '--', this.repo.prefix || '.']);
    return out
      .split('\0')
      .filter((p) => p !== '')
      .map((p) => (this.repo.prefix ? p.slice(this.repo.prefix.length + 1) : p))
      .sort();
  }

  remove(ref: ExpRef): void {
    this.git(['update-ref', '-d', expRefName(ref)]);
  }
}

/** The committer: git's own configuration, else reprod (git refuses to commit with no identity). */
function identityEnv(top: string): NodeJS.ProcessEnv {
  const has = (key: string): boolean => exitsZero(top, ['config', '--get', key]);
  const env: NodeJS.ProcessEnv = {};
  if (!process.env['GIT_AUTHOR_NAME'] && !has('user.name')) Object.assign(env, { GIT_AUTHOR_NAME: 'reprod', GIT_COMMITTER_NAME: 'reprod' });
  if (!process.env['GIT_AUTHOR_EMAIL'] && !has('user.email')) Object.assign(env, { GIT_AUTHOR_EMAIL: 'reprod@localhost', GIT_COMMITTER_EMAIL: 'reprod@localhost' });
  return env;
}

function dateEnv(d: Date): NodeJS.ProcessEnv {
  const s = `${Math.floor(d.getTime() / 1000)} +0000`;
  return { GIT_AUTHOR_DATE: s, GIT_COMMITTER_DATE: s };
}

/** True when git exits 0; false when it exits 1 (an unset key, a detached HEAD: answers, not failures). */
export function exitsZero(top: string, args: string[]): boolean {
  try {
    runGit(top, args, { stderr: 'ignore' });
    return true;
  } catch (e) {
    if ((e as { status?: unknown }).status === 1) return false;
    throw new ReprodError('GIT', `git ${args.join(' ')} failed in ${top}`, { cause: e });
  }
}
