import { constants, promises as fs, unlinkSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { isMissing } from '../../core/errno.js';
import { Flock } from './flock.js';
import { writerId } from '../../core/temp-id.js';
import { openWorkspaceTmpFile } from './workspace-lock.js';

/*
 * Whose temporary file is this, and is that process still alive?
 *
 * Every temporary name reprod writes carries an id (a uuid) whose first eight
 * hex digits are the writing process's mark, {@link writerId}. A process
 * that writes into a workspace first holds a flock on
 * `.dvc/tmp/reprod/writers/<mark>` for the rest of its life, so a later
 * process can tell for certain that the writer of a temporary file is gone:
 * the flock is free (the kernel drops it when its holder dies, kill -9
 * included, and flocks are seen across containers on one host). Such a file
 * is removed at once, however young; a file whose writer is alive, or whose
 * writer left no mark (DVC's own, or one written before the mark was taken),
 * is judged by its age alone (app/leftovers.ts).
 */

/** Where the marks live, workspace-relative. */
export const WRITERS_DIR = '.dvc/tmp/reprod/writers';

const marked = new Map<string, Promise<boolean>>();
const markFiles: string[] = [];

/**
 * Takes this process's mark in the workspace at `root` (once per root); false
 * when it cannot (no flock helper, a read-only workspace), and then its
 * temporary files are judged by age alone. The mark file is removed when the
 * process exits normally; one left by a killed process is removed by the
 * next clean-up that finds its flock free.
 */
export function markWriter(root: string): Promise<boolean> {
  const abs = path.resolve(root);
  let p = marked.get(abs);
  if (!p) {
    p = take(abs).catch(() => false);
    marked.set(abs, p);
  }
  return p;
}

async function take(root: string): Promise<boolean> {
  const rel = `${WRITERS_DIR}/${writerId()}`;
  const fh = await openWorkspaceTmpFile(root, rel);
  try {
    if ((await new Flock().tryLock(fh.fd)) !== 'held') {
      await fh.close();
      return false;
    }
  } catch (e) {
    await fh.close();
    throw e;
  }
  // held for the life of the process: the descriptor is never closed (nor inherited: Node opens it close-on-exec)
  held.push(fh);
  if (markFiles.length === 0) process.once('exit', removeOwnMarks);
  markFiles.push(path.join(root, rel));
  return true;
}

const held: FileHandle[] = [];

function removeOwnMarks(): void {
  for (const f of markFiles) {
    try {
      unlinkSync(f);
    } catch {
      // gone already: the next clean-up has nothing to do for it
    }
  }
}

export interface WriterLiveness {
  /** Marks whose process is gone: their temporary files can go, whatever their age. */
  dead: ReadonlySet<string>;
  /** Lets go of the dead writers' marks, removing them first when `remove` (after their files went). */
  release(remove: boolean): Promise<void>;
}

/**
 * The writers of the workspace at `root` known to be gone. This process's
 * own mark is never among them, and a mark that cannot be asked (no flock
 * helper) counts as alive.
 */
export async function deadWriters(root: string): Promise<WriterLiveness> {
  const dir = path.join(root, WRITERS_DIR);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if (isMissing(e)) return { dead: new Set(), release: async () => undefined };
    throw e;
  }
  const flock = new Flock();
  const dead = new Set<string>();
  const handles: FileHandle[] = [];
  for (const name of names) {
    if (name === writerId() || !/^[0-9a-f]{8}$/.test(name)) continue;
    let fh: FileHandle;
    try {
      fh = await fs.open(path.join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      if (isMissing(e)) continue;
      throw e;
    }
    try {
      // taking it proves its holder gone; it stays taken (so no new holder can appear) until release()
      if ((await flock.tryLock(fh.fd)) === 'held') {
        dead.add(name);
        handles.push(fh);
        continue;
      }
    } catch {
      // cannot be asked: alive, for all this process knows
    }
    await fh.close();
  }
  return {
    dead,
    release: async (remove) => {
      try {
        if (remove) for (const name of dead) await fs.rm(path.join(dir, name), { force: true });
      } finally {
        await Promise.all(handles.map((h) => h.close()));
      }
    },
  };
}
