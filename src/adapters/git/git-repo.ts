import { realpathSync } from 'node:fs';
import path from 'node:path';
import { ReprodError } from '../../core/errors.js';
import type { RevTree } from '../../metrics/rev-tree.js';
import { normalizeWsPath } from '../../pipeline/paths.js';
import { runGit } from './git-exec.js';

/** Large metrics and plot files are read whole; this is the most one read may return. */
const MAX_BLOB_BYTES = 512 * 1024 * 1024;

interface GitFailure {
  status: number | null;
  stderr: string;
  code: string | undefined;
}

function failureOf(e: unknown): GitFailure {
  const o = (typeof e === 'object' && e !== null ? e : {}) as { status?: unknown; stderr?: unknown; code?: unknown };
  const stderr = Buffer.isBuffer(o.stderr) ? o.stderr.toString('utf8') : typeof o.stderr === 'string' ? o.stderr : '';
  return { status: typeof o.status === 'number' ? o.status : null, stderr, code: typeof o.code === 'string' ? o.code : undefined };
}

/**
 * The git repository a workspace lives in, read with the `git` command
 * (read-only: rev-parse, status, ls-tree, cat-file). The workspace may be a
 * folder inside the repository, as a DVC project may be (`dvc init --subdir`).
 */
export class GitRepo {
  private constructor(
    /** The repository's top folder (absolute, real path). */
    readonly top: string,
    /** The workspace relative to `top`, POSIX, `''` when they are the same. */
    readonly prefix: string,
  ) {}

  /** The repository holding `root`; `undefined` when `root` is in none. Throws when `git` cannot be run. */
  static discover(root: string): GitRepo | undefined {
    let top: string;
    try {
      top = run(root, ['rev-parse', '--show-toplevel']).toString('utf8').trim();
    } catch (e) {
      const f = failureOf(e);
      if (f.status === 128 && /not a git repository/i.test(f.stderr)) return undefined;
      throw gitError(root, ['rev-parse', '--show-toplevel'], e);
    }
    const rel = path.relative(top, realpathSync(root)).split(path.sep).join('/');
    return new GitRepo(top, rel);
  }

  /** False in a repository with no commit yet (DVC's `scm.no_commits`). */
  hasCommits(): boolean {
    try {
      run(this.top, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
      return true;
    } catch (e) {
      if (failureOf(e).status === 1) return false;
      throw gitError(this.top, ['rev-parse', 'HEAD'], e);
    }
  }

  /** The commit a revision names (a sha, branch, tag, `HEAD~1`...). */
  resolve(rev: string): string {
    try {
      return run(this.top, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]).toString('utf8').trim();
    } catch (e) {
      if (failureOf(e).status === 1 || failureOf(e).status === 128) {
        throw new ReprodError('REVISION', `unknown Git revision '${rev}'`, { cause: e });
      }
      throw gitError(this.top, ['rev-parse', rev], e);
    }
  }

  /** True when git's ignore rules (every .gitignore, .git/info/exclude, core.excludesFile) ignore `wsPath`, tracked or not. */
  isIgnored(wsPath: string): boolean {
    const rel = this.prefix === '' ? wsPath : `${this.prefix}/${wsPath}`;
    try {
      run(this.top, ['check-ignore', '--quiet', '--no-index', '--', rel]);
      return true;
    } catch (e) {
      if (failureOf(e).status === 1) return false;
      throw gitError(this.top, ['check-ignore', rel], e);
    }
  }

  /** True when git tracks `wsPath` (a file, or any file under a folder): DVC refuses to `add` it then. */
  isTracked(wsPath: string): boolean {
    const rel = this.prefix === '' ? wsPath : `${this.prefix}/${wsPath}`;
    return run(this.top, ['ls-files', '-z', '--', rel]).length > 0;
  }

  /** True when tracked files differ from HEAD (untracked files do not count), as DVC's `is_dirty(untracked_files=False)`. */
  isDirty(): boolean {
    return run(this.top, ['status', '--porcelain', '--untracked-files=no']).length > 0;
  }

  /** The workspace's files as committed in `sha`, shown under the name `rev`. */
  tree(sha: string, rev: string): RevTree {
    return new GitTree(this, sha, rev);
  }

  /** `git ls-tree -r` of the workspace's part of a commit: workspace path → blob id (regular files only). */
  listBlobs(sha: string): Map<string, string> {
    const out = new Map<string, string>();
    const args = ['ls-tree', '-r', '-z', '--full-tree', sha, ...(this.prefix ? ['--', this.prefix] : [])];
    for (const record of run(this.top, args).toString('utf8').split('\0')) {
      if (record === '') continue;
      const tab = record.indexOf('\t');
      const [mode, type, oid] = record.slice(0, tab).split(' ');
      const full = record.slice(tab + 1);
      // symlinks (120000) and submodules (160000) are not files DVC reads from git
      if (type !== 'blob' || (mode !== '100644' && mode !== '100755') || oid === undefined) continue;
      const rel = this.prefix ? full.slice(this.prefix.length + 1) : full;
      out.set(rel, oid);
    }
    return out;
  }

  readBlob(oid: string): Uint8Array {
    return run(this.top, ['cat-file', 'blob', oid]);
  }
}

function run(cwd: string, args: string[]): Buffer {
  return runGit(cwd, args, { maxBuffer: MAX_BLOB_BYTES });
}

function gitError(cwd: string, args: string[], e: unknown): ReprodError {
  const f = failureOf(e);
  if (f.code === 'ENOENT') return new ReprodError('GIT', 'the git command was not found', { cause: e });
  const why = f.stderr.trim().split('\n')[0] ?? '';
  return new ReprodError('GIT', `git ${args.join(' ')} failed in ${cwd}${why ? `: ${why}` : ''}`, { cause: e });
}

/** A commit's files, listed once, each read when asked for. */
class GitTree implements RevTree {
  private blobs: Map<string, string> | undefined;
  private dirs: Set<string> | undefined;

  constructor(
    private readonly repo: GitRepo,
    private readonly sha: string,
    readonly rev: string,
  ) {}

  private listing(): { blobs: Map<string, string>; dirs: Set<string> } {
    if (!this.blobs || !this.dirs) {
      this.blobs = this.repo.listBlobs(this.sha);
      this.dirs = new Set(['.']);
      for (const p of this.blobs.keys()) {
        for (let i = p.indexOf('/'); i >= 0; i = p.indexOf('/', i + 1)) this.dirs.add(p.slice(0, i));
      }
    }
    return { blobs: this.blobs, dirs: this.dirs };
  }

  read(p: string): Uint8Array | undefined {
    const key = normalizeWsPath(p);
    const oid = key === undefined ? undefined : this.listing().blobs.get(key);
    return oid === undefined ? undefined : this.repo.readBlob(oid);
  }

  isDir(p: string): boolean {
    const key = normalizeWsPath(p);
    return key !== undefined && this.listing().dirs.has(key);
  }

  find(dir: string): string[] {
    const key = normalizeWsPath(dir);
    if (key === undefined) return [];
    const prefix = key === '.' ? '' : `${key}/`;
    return [...this.listing().blobs.keys()].filter((p) => p.startsWith(prefix)).sort();
  }
}
