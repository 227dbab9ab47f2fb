import { readdirSync, type Dirent } from 'node:fs';

/** Reads a folder's entries with their types, as `readdirSync(abs, { withFileTypes: true })` (and throws as it does). */
export interface FolderLister {
  list(abs: string): readonly Dirent[];
}

/** Every listing read anew. */
export const freshListings: FolderLister = { list: (abs) => readdirSync(abs, { withFileTypes: true }) };

/**
 * Each folder listed once: a read-only command (`status`) walks the
 * workspace three times, for dvc.yaml files, for `.dvc` files and to hash a
 * dependency folder, and a folder of 20,000 files costs as much to list as
 * the rest of the walk. Only for a command that writes nothing between its
 * walks: a listing is what the folder held when it was first read. A folder
 * that cannot be read is not remembered (the next read fails again).
 */
export class FolderListings implements FolderLister {
  private readonly read = new Map<string, readonly Dirent[]>();

  list(abs: string): readonly Dirent[] {
    let entries = this.read.get(abs);
    if (entries === undefined) {
      entries = readdirSync(abs, { withFileTypes: true });
      this.read.set(abs, entries);
    }
    return entries;
  }
}
