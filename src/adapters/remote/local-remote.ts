import { randomUUID } from 'node:crypto';
import { constants as fsc, createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { ReprodError } from '../../core/errors.js';
import { mapLimit } from '../../remote/pool.js';
import type { Downloaded, RemoteStore, TransferOptions } from '../../remote/ports.js';
import { fileSizes } from './file-sizes.js';
import { errorMessage, isMissing } from '../../core/errno.js';
import { walkKeys } from './key-walk.js';
import { writeHashed } from './md5-file.js';

/**
 * A remote that is a folder (a mounted share, another disk), in DVC's
 * layout. Objects are written through a temporary file in the same folder
 * and renamed into place, read-only, so a reader (or a rerun after an
 * interruption) never sees half an object; leftover temporary files are not
 * objects and are ignored.
 */
export class LocalRemote implements RemoteStore {
  readonly display: string;

  constructor(readonly root: string) {
    this.display = root;
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...key.split('/'));
  }

  async existing(keys: readonly string[], opts: { jobs: number }): Promise<Map<string, number>> {
    await this.checkRoot();
    return fileSizes(keys, (k) => this.pathOf(k), Math.max(opts.jobs, 16));
  }

  /** A remote folder that exists but cannot be read is a fatal problem, not a per-object one. */
  private async checkRoot(): Promise<void> {
    try {
      await fs.readdir(this.root);
    } catch (e) {
      if (isMissing(e)) return;
      throw new ReprodError('REMOTE', `cannot read the remote folder ${this.root}: ${errorMessage(e)}`, { cause: e });
    }
  }

  list(prefix: string): AsyncIterable<string> {
    return walkKeys(this.root, this.pathOf(prefix));
  }

  async put(key: string, file: string, size: number, opts: TransferOptions = {}): Promise<void> {
    const dst = this.pathOf(key);
    await fs.mkdir(path.dirname(dst), { recursive: true });
    const temp = `${dst}.${randomUUID()}.tmp`;
    try {
      // a reflink where the filesystem has them, else a plain copy
      await fs.copyFile(file, temp, fsc.COPYFILE_FICLONE);
      opts.signal?.throwIfAborted();
      await fs.chmod(temp, 0o444);
      await fs.rename(temp, dst);
      opts.onBytes?.(size);
    } finally {
      await fs.rm(temp, { force: true });
    }
  }

  async get(key: string, dest: string, opts: TransferOptions = {}): Promise<Downloaded | null> {
    let handle;
    try {
      handle = await fs.open(this.pathOf(key), 'r');
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
    const stream = createReadStream('', { fd: handle.fd, autoClose: false });
    try {
      return await writeHashed(stream, dest, opts);
    } finally {
      await handle.close();
    }
  }

  async read(key: string): Promise<Uint8Array | null> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
  }

  async delete(keys: readonly string[], opts: { jobs?: number } = {}): Promise<void> {
    await mapLimit(keys, opts.jobs ?? 16, (k) => fs.rm(this.pathOf(k), { force: true }));
  }

  close(): void {}
}
