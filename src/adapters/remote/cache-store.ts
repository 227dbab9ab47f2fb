import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { mapLimit } from '../../remote/pool.js';
import type { CacheStore } from '../../remote/ports.js';
import { fileSizes } from './file-sizes.js';
import { isMissing } from '../../core/errno.js';
import { walkKeys } from './key-walk.js';

/** Stats in flight at once when sizing many keys. */
const STAT_JOBS = 64;

/**
 * The local cache folder (`.dvc/cache`) as one end of a transfer. Objects
 * are read-only once in place, as DVC keeps them; everything lands through a
 * temporary file renamed into place.
 */
export class LocalCacheStore implements CacheStore {
  constructor(
    /** Absolute cache folder. */
    readonly dir: string,
    /** Absolute workspace root (for {@link copyOut}). */
    readonly root: string,
  ) {}

  pathOf(key: string): string {
    return path.join(this.dir, ...key.split('/'));
  }

  sizes(keys: readonly string[]): Promise<Map<string, number>> {
    return fileSizes(keys, (k) => this.pathOf(k), STAT_JOBS);
  }

  list(prefix: string): AsyncIterable<string> {
    return walkKeys(this.dir, this.pathOf(prefix));
  }

  tempFor(key: string): string {
    return `${this.pathOf(key)}.${randomUUID()}.tmp`;
  }

  async adopt(temp: string, key: string): Promise<void> {
    await fs.chmod(temp, 0o444);
    await fs.rename(temp, this.pathOf(key));
  }

  async discard(temp: string): Promise<void> {
    await fs.rm(temp, { force: true });
  }

  async read(key: string): Promise<Uint8Array | null> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  async write(key: string, bytes: Uint8Array): Promise<void> {
    const dst = this.pathOf(key);
    await fs.mkdir(path.dirname(dst), { recursive: true });
    const temp = this.tempFor(key);
    try {
      await fs.writeFile(temp, bytes, { mode: 0o444 });
      await fs.rename(temp, dst);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    await mapLimit(keys, STAT_JOBS, (k) => fs.rm(this.pathOf(k), { force: true }));
  }

  async copyOut(key: string, wsPath: string): Promise<void> {
    const dst = path.join(this.root, ...wsPath.split('/'));
    await fs.mkdir(path.dirname(dst), { recursive: true });
    await fs.rm(dst, { force: true });
    await fs.copyFile(this.pathOf(key), dst);
    await fs.chmod(dst, 0o666 & ~process.umask());
  }
}
