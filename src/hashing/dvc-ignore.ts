import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { ReprodError } from '../core/errors.js';
import { errorMessage, errnoCode, isMissing } from '../core/errno.js';

/**
 * DVC's ignore rules for one workspace: `.git` (file or folder), `.hg/` and
 * `.dvc/` folders at any depth, then the patterns of the root `.dvcignore`
 * and of `.dvcignore` files in sub-folders, each relative to its own folder
 * (gitignore syntax; a deeper file's patterns come after, so they win, and
 * a `.dvcignore` that is itself ignored is not read).
 *
 * Lines are read as DVC reads them: stripped on both sides, blank lines and
 * lines starting with `#` dropped.
 *
 * All paths are workspace-relative with `/` separators; `''` is the root.
 * `.dvcignore` files are read once per instance: make a new instance to see
 * edits (one per reconcile pass).
 */
export class DvcIgnore {
  private readonly levels = new Map<string, Level[]>();

  constructor(readonly root: string) {}

  /** True when the entry `name` of folder `dir` is ignored by the rules in force for `dir`. */
  ignoresChild(dir: string, name: string, isDir: boolean): boolean {
    return this.matcherFor(dir)(dir, name, isDir);
  }

  /**
   * A test for the children of `dir` and of every folder below it, for a walk
   * that will not read new `.dvcignore` files under `dir` (DVC refuses them
   * inside a tracked directory, see walk-files.ts).
   */
  matcherFor(dir: string): ChildMatcher {
    return matcherOf(this.levelsOf(dir));
  }

  /**
   * Whether `path` (or a folder above it) is ignored: DVC refuses such paths
   * as outputs. `isDir` says what the last component is.
   */
  isIgnored(path: string, isDir: boolean): boolean {
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    let dir = '';
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i] as string;
      if (this.ignoresChild(dir, name, isDir || i < parts.length - 1)) return true;
      dir = dir === '' ? name : `${dir}/${name}`;
    }
    return false;
  }

  private levelsOf(dir: string): Level[] {
    const known = this.levels.get(dir);
    if (known) return known;
    let levels: Level[];
    if (dir === '') {
      const user = readPatterns(join(this.root, '.dvcignore'), '.dvcignore');
      levels = [{ base: '', rules: ignore().add(DEFAULT_PATTERNS).add(user ?? []), hasUserRules: (user?.length ?? 0) > 0 }];
    } else {
      const cut = dir.lastIndexOf('/');
      const parent = cut < 0 ? '' : dir.slice(0, cut);
      const name = cut < 0 ? dir : dir.slice(cut + 1);
      const above = this.levelsOf(parent);
      const aboveMatches = matcherOf(above);
      levels = above;
      // An ignored folder contributes no rules (it is never walked), nor does an ignored .dvcignore.
      if (!aboveMatches(parent, name, true) && !aboveMatches(dir, '.dvcignore', false)) {
        const file = `${dir}/.dvcignore`;
        const user = readPatterns(join(this.root, file), file);
        if (user && user.length > 0) levels = [...above, { base: dir, rules: ignore().add(user), hasUserRules: true }];
      }
    }
    this.levels.set(dir, levels);
    return levels;
  }
}

/** Tests entry `name` of folder `parent` (workspace-relative). */
export type ChildMatcher = (parent: string, name: string, isDir: boolean) => boolean;

interface Level {
  /** The folder whose .dvcignore this is ('' for the root). */
  base: string;
  rules: Ignore;
  hasUserRules: boolean;
}

/** DVC's built-in patterns (dvc/ignore.py), in effect before any .dvcignore. */
const DEFAULT_PATTERNS = ['.hg/', '.git/', '.git', '.dvc/'];

/**
 * Applies every level in order; a level's last matching pattern decides for
 * that level and deeper levels override shallower ones (gitignore's rule).
 */
function matcherOf(levels: readonly Level[]): ChildMatcher {
  const first = levels[0] as Level;
  if (levels.length === 1 && !first.hasUserRules) return defaultsOnly;
  return (parent, name, isDir) => {
    const path = parent === '' ? name : `${parent}/${name}`;
    let ignored = false;
    for (const level of levels) {
      const rel = level.base === '' ? path : path.slice(level.base.length + 1);
      const r = level.rules.test(isDir ? `${rel}/` : rel);
      if (r.ignored) ignored = true;
      else if (r.unignored) ignored = false;
    }
    return ignored;
  };
}

const defaultsOnly: ChildMatcher = (_parent, name, isDir) => name === '.git' || (isDir && (name === '.hg' || name === '.dvc'));

/** The patterns of one .dvcignore, or undefined when there is none. */
function readPatterns(abs: string, rel: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    if (isMissing(err) || errnoCode(err) === 'EISDIR') return undefined;
    throw new ReprodError('HASH_IO', `cannot read ${rel}: ${errorMessage(err)}`, { source: { file: rel }, cause: err });
  }
  return parsePatterns(text);
}

/** A .dvcignore's lines as DVC keeps them (universal newlines, stripped, no blanks or comments). */
export function parsePatterns(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
