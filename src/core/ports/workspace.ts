/** The project folder and how its paths are hashed. */
import type { DirEntry, HashInfo } from '../types.js';

/** The result of hashing one workspace path. `entries` is set for directories. */
export interface HashResult {
  info: HashInfo;
  entries?: DirEntry[];
}

/**
 * Hashes workspace paths exactly as DVC 3 does. Paths are workspace-relative
 * with `/` separators. Implementations may keep a state cache (inode, size,
 * mtime → md5) so that an unchanged workspace is not re-read.
 */
/**
 * Hears what a hash has to read: only content whose recorded hash no longer
 * holds is read (the rest comes from the state), so a hash that reads
 * nothing says nothing.
 */
export interface HashProgress {
  /** About to read `bytes` in `files` files to hash `path` (a file, or a folder). */
  reading(path: string, files: number, bytes: number): void;
  /** `bytes` more were read. */
  read(bytes: number): void;
}

export interface Hasher {
  /** null when the path does not exist. `progress` hears what it reads (besides the hasher's own observer). */
  hash(path: string, progress?: HashProgress): Promise<HashResult | null>;
  /** Persists the state cache; call once per pass. */
  flush(): Promise<void>;
}

/**
 * A workspace path whose folders lead out of the workspace (or into `.git`,
 * `.dvc` or `.hg`) through a symlink: writing or deleting it would happen
 * elsewhere.
 */
export interface PathEscape {
  /** The workspace path asked about. */
  path: string;
  /** The folder of it that is the symlink (workspace-relative). */
  link: string;
  /** Where the symlink leads (absolute). */
  target: string;
  /** 'outside the workspace', or 'into .git' (.dvc, .hg). */
  reason: string;
}

/** The project folder, addressed by workspace-relative paths. */
export interface Workspace {
  /** Absolute path of the workspace root. */
  readonly root: string;
  /** undefined when the file does not exist (any other error throws). */
  readText(path: string): Promise<string | undefined>;
  /** Writes through a temporary file and a rename: readers see the old or the new file, never half. */
  writeTextAtomic(path: string, text: string): Promise<void>;
  /**
   * Removes a file or a directory tree; a missing path is not an error.
   * Throws PATH_OUTSIDE, removing nothing, when a folder above it is a
   * symlink that leads out of the workspace (see {@link escapeOf}).
   */
  remove(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /**
   * Where writing or deleting `path` would land outside the workspace (or in
   * `.git`/`.dvc`) because a folder above it is a symlink; undefined when it
   * stays inside. The path itself may be a symlink: replacing a link never
   * touches its target.
   */
  escapeOf(path: string): Promise<PathEscape | undefined>;
}

/**
 * Whom what reprod creates in a workspace belongs to: the workspace's owner,
 * when reprod runs as root for a workspace that root does not own (its
 * compose container). See adapters/fs/file-owner.ts.
 */
export interface FileOwner {
  uid: number;
  gid: number;
}
