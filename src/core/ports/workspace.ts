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
export interface Hasher {
  /** null when the path does not exist. */
  hash(path: string): Promise<HashResult | null>;
  /** Persists the state cache; call once per pass. */
  flush(): Promise<void>;
}

/** The project folder, addressed by workspace-relative paths. */
export interface Workspace {
  /** Absolute path of the workspace root. */
  readonly root: string;
  /** undefined when the file does not exist (any other error throws). */
  readText(path: string): Promise<string | undefined>;
  /** Writes through a temporary file and a rename: readers see the old or the new file, never half. */
  writeTextAtomic(path: string, text: string): Promise<void>;
  /** Removes a file or a directory tree; a missing path is not an error. */
  remove(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
}
