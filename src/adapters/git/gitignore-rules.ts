import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { errorMessage, errnoCode, isMissing } from '../../core/errno.js';
import { ReprodError } from '../../core/errors.js';

/**
 * git's ignore rules for the folders of a workspace, read from the files
 * themselves (no git process): `.git/info/exclude`, then the `.gitignore` of
 * each folder from the repository's top down, a deeper file's patterns
 * overriding a shallower one's, as git applies them. Global excludes
 * (`core.excludesFile`) are not read. What DVC asks its SCM when it collects
 * dvc.yaml files (dvc/repo/index.py: a gitignored file or folder is left
 * out); paths are workspace-relative, `/`-separated.
 */
export class GitIgnoreRules {
  private readonly levels = new Map<string, Level[]>();

  private constructor(
    /** The repository's top folder (holding `.git`). */
    private readonly top: string,
    /** The workspace folder, relative to `top` (`''` when the same). */
    private readonly prefix: string,
  ) {}

  /** The rules for the workspace at `root`, or undefined when no `.git` is at or above it. */
  static find(root: string): GitIgnoreRules | undefined {
    const start = path.resolve(root);
    for (let at = start; ; at = path.dirname(at)) {
      if (exists(path.join(at, '.git'))) return new GitIgnoreRules(at, path.relative(at, start).split(path.sep).join('/'));
      if (path.dirname(at) === at) return undefined;
    }
  }

  /**
   * True when the entry `name` of workspace folder `dir` (`''` for the root)
   * is ignored by git. The folder itself is taken as not ignored (a walk
   * does not enter an ignored folder): a level's pattern that matches only
   * through the folder (`build` for `a/build/x`, re-included deeper by
   * `!build`) says nothing about the entry.
   */
  ignoresChild(dir: string, name: string, isDir: boolean): boolean {
    const inRepo = [this.prefix, dir].filter((p) => p !== '').join('/');
    const full = inRepo === '' ? name : `${inRepo}/${name}`;
    let ignored = false;
    for (const level of this.levelsOf(inRepo)) {
      const rel = level.base === '' ? full : full.slice(level.base.length + 1);
      const r = level.rules.test(isDir ? `${rel}/` : rel);
      if (r.ignored) {
        const cut = rel.lastIndexOf('/');
        const parent = cut < 0 ? undefined : level.rules.test(`${rel.slice(0, cut)}/`);
        if (parent?.ignored && parent.rule === r.rule) continue;
        ignored = true;
      } else if (r.unignored) ignored = false;
    }
    return ignored;
  }

  /** The levels in force for the entries of repository folder `dir`. */
  private levelsOf(dir: string): Level[] {
    const known = this.levels.get(dir);
    if (known) return known;
    let levels: Level[];
    if (dir === '') {
      const exclude = readPatterns(path.join(this.top, '.git', 'info', 'exclude'));
      const root = readPatterns(path.join(this.top, '.gitignore'));
      levels = [exclude, root].filter((p): p is string[] => p !== undefined && p.length > 0).map((p) => ({ base: '', rules: ignore().add(p) }));
    } else {
      const cut = dir.lastIndexOf('/');
      const above = this.levelsOf(cut < 0 ? '' : dir.slice(0, cut));
      const own = readPatterns(path.join(this.top, dir, '.gitignore'));
      levels = own && own.length > 0 ? [...above, { base: dir, rules: ignore().add(own) }] : above;
    }
    this.levels.set(dir, levels);
    return levels;
  }
}

interface Level {
  base: string;
  rules: Ignore;
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** A gitignore file's patterns (git's syntax, read by `ignore`), or undefined when there is none. */
function readPatterns(abs: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    if (isMissing(err) || errnoCode(err) === 'EISDIR' || errnoCode(err) === 'ENOTDIR') return undefined;
    throw new ReprodError('HASH_IO', `cannot read ${abs}: ${errorMessage(err)}`, { source: { file: abs }, cause: err });
  }
  return text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
}
