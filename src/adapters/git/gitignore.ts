import { promises as fs } from 'node:fs';
import path from 'node:path';
import { hasErrno, isMissing } from '../../core/errno.js';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { workspaceOwner } from '../fs/file-owner.js';
import { GitRepo } from './git-repo.js';

/*
 * `.gitignore` entries for cached outputs, as DVC writes them in a git
 * repository: `/<name>` in the `.gitignore` of the output's own folder,
 * added only when git's rules do not ignore the path already, appended on a
 * line of its own; taken out again when the output stops being tracked, and
 * the file deleted once no line is left.
 */

/** The `.gitignore` (workspace-relative) and the entry for `out`. */
export function gitignoreEntry(out: string): { file: string; entry: string } {
  const dir = path.posix.dirname(out);
  return { file: dir === '.' ? '.gitignore' : `${dir}/.gitignore`, entry: `/${path.posix.basename(out)}` };
}

/** The text with `entry` appended as DVC appends it (on its own line), or undefined when a line already is `entry`. */
export function withEntry(text: string | undefined, entry: string): string | undefined {
  const current = text ?? '';
  if (current.split('\n').some((l) => l === entry)) return undefined;
  const prefix = current === '' || current.endsWith('\n') ? '' : '\n';
  return `${current}${prefix}${entry}\n`;
}

/** The text without the lines that are `entry` (trimmed, as DVC compares them): null when nothing is left, undefined when nothing changed. */
export function withoutEntry(text: string, entry: string): string | null | undefined {
  const lines = text.split(/(?<=\n)/);
  const kept = lines.filter((l) => l.trim() !== entry.trim());
  if (kept.length === lines.length) return undefined;
  return kept.length === 0 ? null : kept.join('');
}

/** The workspace's `.gitignore` files, kept as DVC keeps them; absent outside a git repository. */
export class GitIgnores {
  private constructor(
    private readonly root: string,
    private readonly repo: GitRepo,
    /** Whom the files belong to: the workspace's owner, when reprod runs as root in another user's workspace. */
    private readonly owner = workspaceOwner(root),
  ) {}

  /** For the workspace at `root`: undefined when it is in no git repository, or git cannot be run. */
  static open(root: string): GitIgnores | undefined {
    let repo: GitRepo | undefined;
    try {
      repo = GitRepo.discover(root);
    } catch (e) {
      // no git on PATH (a container without it): no repository to keep .gitignore for
      if (hasErrno((e as { cause?: unknown }).cause, 'ENOENT')) return undefined;
      throw e;
    }
    return repo ? new GitIgnores(path.resolve(root), repo) : undefined;
  }

  /** Adds `out`'s entry unless git ignores it already; returns the .gitignore written, if any. */
  async ignore(out: string): Promise<string | undefined> {
    if (this.repo.isIgnored(out)) return undefined;
    const { file, entry } = gitignoreEntry(out);
    const next = withEntry(await this.read(file), entry);
    if (next === undefined) return undefined;
    await writeFileAtomic(path.join(this.root, file), (temp) => fs.writeFile(temp, next, { mode: 0o644 }), { owner: this.owner });
    return file;
  }

  /**
   * `.dvc/.gitignore` as `dvc init` writes it in a git repository (the local
   * config, tmp and the cache kept out of git), for a `.dvc` that reprod
   * made itself; entries git ignores already are left out.
   */
  async ignoreDvcDir(): Promise<void> {
    for (const p of ['.dvc/config.local', '.dvc/tmp', '.dvc/cache']) await this.ignore(p);
  }

  /** Takes `out`'s entry out; returns the .gitignore changed or deleted, if any. */
  async unignore(out: string): Promise<string | undefined> {
    const { file, entry } = gitignoreEntry(out);
    const text = await this.read(file);
    if (text === undefined) return undefined;
    const next = withoutEntry(text, entry);
    if (next === undefined) return undefined;
    if (next === null) await fs.rm(path.join(this.root, file), { force: true });
    else await writeFileAtomic(path.join(this.root, file), (temp) => fs.writeFile(temp, next, { mode: 0o644 }), { owner: this.owner });
    return file;
  }

  private async read(file: string): Promise<string | undefined> {
    try {
      return await fs.readFile(path.join(this.root, file), 'utf8');
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }
}
