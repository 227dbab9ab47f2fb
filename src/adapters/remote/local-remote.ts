import { constants as fsc, createReadStream, promises as fs } from 'node:fs';
import { errorMessage, isMissing } from '../../core/errno.js';
import { ReprodError } from '../../core/errors.js';
import type { Downloaded, RemoteStore, TransferOptions } from '../../core/ports.js';
import { writeFileAtomic } from '../fs/atomic-file.js';
import { LayoutFolder } from '../fs/layout-folder.js';
import { writeBytesHashed, writeHashed } from './md5-file.js';

/** Objects are read-only once in place, as DVC keeps them. */
const READ_ONLY = 0o444;
/** Objects up to this size are read whole rather than streamed: most of a pull of many small files is per-call overhead. */
const READ_WHOLE = 8 << 20;

/**
 * A remote that is a folder (a mounted share, another disk), in DVC's
 * layout. Objects are written through a temporary file in the same folder
 * and renamed into place, read-only, so a reader (or a rerun after an
 * interruption) never sees half an object; leftover temporary files are not
 * objects and are ignored.
 */
export class LocalRemote implements RemoteStore {
  readonly display: string;
  private readonly folder: LayoutFolder;

  constructor(readonly root: string) {
    this.display = root;
    this.folder = new LayoutFolder(root);
  }

  async existing(keys: readonly string[], opts: { jobs: number }): Promise<Map<string, number>> {
    await this.checkRoot();
    return this.folder.sizes(keys, Math.max(opts.jobs, 16));
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
    return this.folder.list(prefix);
  }

  async put(key: string, file: string, size: number, opts: TransferOptions = {}): Promise<void> {
    const fill = async (temp: string): Promise<void> => {
      // a reflink where the filesystem has them, else a plain copy
      await fs.copyFile(file, temp, fsc.COPYFILE_FICLONE);
      opts.signal?.throwIfAborted();
    };
    await writeFileAtomic(this.folder.pathOf(key), fill, { mode: READ_ONLY });
    opts.onBytes?.(size);
  }

  async get(key: string, dest: string, opts: TransferOptions = {}): Promise<Downloaded | null> {
    let handle;
    try {
      handle = await fs.open(this.folder.pathOf(key), 'r');
    } catch (e) {
      if (isMissing(e)) return null;
      throw e;
    }
    try {
      if ((await handle.stat()).size <= READ_WHOLE) return await writeBytesHashed(await handle.readFile(), dest, opts);
      return await writeHashed(createReadStream('', { fd: handle.fd, autoClose: false }), dest, opts);
    } finally {
      await handle.close();
    }
  }

  read(key: string): Promise<Uint8Array | null> {
    return this.folder.read(key);
  }

  delete(keys: readonly string[], opts: { jobs?: number } = {}): Promise<void> {
    return this.folder.delete(keys, opts.jobs ?? 16);
  }

  close(): void {}
}
