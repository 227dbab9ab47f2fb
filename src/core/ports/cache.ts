/** DVC's content-addressed cache (`.dvc/cache`), as the stage steps and the transfers see it. */
import type { HashResult } from './workspace.js';

export type CheckoutResult = 'unchanged' | 'restored';

/** DVC's content-addressed cache (`.dvc/cache/files/md5/xx/…`) and its run-cache (`runs/`). */
export interface ObjectCache {
  /** True when the object is present; for a `.dir` hash, the listing and every file in it. */
  has(md5: string): Promise<boolean>;
  /** Copies (or links, per `cache.type`) a hashed workspace path into the cache. */
  save(path: string, result: HashResult): Promise<void>;
  /** Makes the workspace path hold the cached object `md5` (files, or a directory from its listing). */
  checkout(path: string, md5: string): Promise<CheckoutResult>;
  /** The entries stored under a run-cache key (file contents), newest first. */
  runCacheEntries(key: string): Promise<string[]>;
  writeRunCacheEntry(key: string, value: string, text: string): Promise<void>;
}

/** The local cache (`.dvc/cache`) as the other end of a transfer. */
export interface CacheStore {
  /** Absolute path of the object at `key`, for uploading it. */
  pathOf(key: string): string;
  /** Size of each of `keys` that is present. */
  sizes(keys: readonly string[]): Promise<Map<string, number>>;
  /** Every key under `prefix`. */
  list(prefix: string): AsyncIterable<string>;
  /** A fresh temporary path beside where `key` goes (same filesystem, so adopting is a rename). */
  tempFor(key: string): string;
  /** Moves a verified download into place, read-only, atomically. */
  adopt(temp: string, key: string): Promise<void>;
  /** Removes a temporary file (a failed or corrupt download). */
  discard(temp: string): Promise<void>;
  read(key: string): Promise<Uint8Array | null>;
  /** Stores verified bytes under `key` (small objects), read-only, atomically. */
  write(key: string, bytes: Uint8Array): Promise<void>;
  delete(keys: readonly string[]): Promise<void>;
  /** Copies one cached file to a workspace path (granular checkout of a file inside a directory). */
  copyOut(key: string, wsPath: string): Promise<void>;
}
