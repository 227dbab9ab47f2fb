import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { FileOwner } from '../../core/ports.js';
import { giveTo, mkdirOwned } from './file-owner.js';
import { tempId } from '../../core/temp-id.js';

/**
 * Files put in place whole: written under a temporary name in the same
 * folder (the same filesystem, so that the last step is one rename), then
 * renamed over the destination. A reader, or a rerun after a crash, sees the
 * old file or the new one, never part of one. Temporary names end in `.tmp`,
 * which no reader of a DVC layout takes for an object; one left by a crash
 * is just a stray file.
 */

export interface AtomicWriteOptions {
  /** The file's permissions once in place (cache and remote objects are read-only: 0o444). */
  mode?: number;
  /** A dot-name for the temporary file (`.name.<id>.tmp`), for folders that people look into (the workspace, mlruns). */
  hidden?: boolean;
  /** Whom the file, and the folders made for it, belong to (file-owner.ts); given before the rename, so that it appears so. */
  owner?: FileOwner | undefined;
}

/** A fresh temporary path beside `dst`. */
export function tempPathFor(dst: string, hidden = false): string {
  const id = tempId();
  return hidden ? path.join(path.dirname(dst), `.${path.basename(dst)}.${id}.tmp`) : `${dst}.${id}.tmp`;
}

/** Moves a complete temporary file over `dst`, with `mode` first when given. */
export async function renameIntoPlace(temp: string, dst: string, mode?: number): Promise<void> {
  if (mode !== undefined) await fs.chmod(temp, mode);
  await fs.rename(temp, dst);
}

/**
 * Creates `dst`'s folder, lets `fill` write the temporary file (copy, write,
 * fsync: as the caller needs), then renames it into place. Whatever fails,
 * the temporary file is removed and the error is thrown as it came.
 */
export async function writeFileAtomic(dst: string, fill: (temp: string) => Promise<void>, opts: AtomicWriteOptions = {}): Promise<void> {
  await mkdirOwned(path.dirname(dst), opts.owner);
  const temp = tempPathFor(dst, opts.hidden);
  try {
    await fill(temp);
    await giveTo(opts.owner, temp);
    await renameIntoPlace(temp, dst, opts.mode);
  } catch (e) {
    await fs.rm(temp, { force: true });
    throw e;
  }
}
