import type { Lockfile, LockStage } from '../types.js';

/**
 * dvc.lock as a store. `commit` is serialized and re-reads the file each time
 * (level-triggered): concurrent stages never lose each other's entries, and a
 * stage keeps its position in the file as DVC keeps it.
 */
export interface LockStore {
  read(): Promise<Lockfile>;
  commit(stage: string, entry: LockStage): Promise<void>;
  /** The workspace paths of the files the store reads (default: `dvc.lock`), to tell whether they changed. */
  lockFiles?(): readonly string[];
}
