/**
 * The port through which metrics, params and plots read a workspace's files
 * as they are (`workspace`) or as they were at a git revision, with outputs
 * DVC tracks read from the cache, as DVC's own file system does.
 *
 * Paths are workspace-relative POSIX paths (see pipeline/paths.ts). Reads are
 * synchronous: dvc.yaml templating reads its params files while it parses.
 */
export interface RevTree {
  /** `workspace`, or the revision as the user named it (`HEAD`, `main`, `v1`). */
  readonly rev: string;
  /** The file's bytes; `undefined` when no file is at that path (a directory is not a file). */
  read(path: string): Uint8Array | undefined;
  /** True when the path is a directory (in git, on disk, or a tracked directory output). */
  isDir(path: string): boolean;
  /** Every file under a directory, recursively, sorted by path; `[]` when there is none. */
  find(dir: string): string[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A file's text, as Python reads it with `encoding="utf-8"` in text mode:
 * universal newlines (`\r\n` and `\r` become `\n`), the BOM kept.
 * `undefined` when the file is absent; throws a TypeError on bytes that are not UTF-8.
 */
export function readText(tree: RevTree, path: string): string | undefined {
  const bytes = tree.read(path);
  if (bytes === undefined) return undefined;
  return utf8.decode(bytes).replace(/\r\n?/g, '\n');
}
