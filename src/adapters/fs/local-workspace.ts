import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Workspace } from '../../core/ports.js';
import { writeFileAtomic } from './atomic-file.js';
import { decodeUtf8 } from './utf8-text.js';
import { isMissing } from '../../core/errno.js';

/** The workspace on the local filesystem. */
export class LocalWorkspace implements Workspace {
  constructor(readonly root: string) {}

  private abs(p: string): string {
    return path.join(this.root, p);
  }

  /** UTF-8 text, or an ENCODING error naming `p`: a byte that is not UTF-8 is never silently replaced. */
  async readText(p: string): Promise<string | undefined> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.abs(p));
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    return decodeUtf8(bytes, p);
  }

  async writeTextAtomic(p: string, text: string): Promise<void> {
    const fill = async (temp: string): Promise<void> => {
      const fh = await fs.open(temp, 'w', 0o644);
      try {
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
    };
    await writeFileAtomic(this.abs(p), fill, { hidden: true });
  }

  async remove(p: string): Promise<void> {
    await fs.rm(this.abs(p), { recursive: true, force: true });
  }

  async exists(p: string): Promise<boolean> {
    try {
      await fs.lstat(this.abs(p));
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
  }
}
