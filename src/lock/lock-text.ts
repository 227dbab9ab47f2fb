import type { Lockfile, LockStage } from '../core/types.js';
import { serializeLockfile } from './lockfile.js';

/** What every dvc.lock with stages starts with, up to the first stage's key. */
const HEAD = "schema: '2.0'\nstages:";

/**
 * {@link serializeLockfile}, a stage at a time, for a writer that commits
 * one stage after another: the text of each entry is kept by entry object
 * (upsertStage leaves every other stage's object in place), so a commit
 * emits only the stage it changed, and committing n stages one by one emits
 * n entries, not n²/2. Entries must not be mutated once written.
 *
 * Why the pieces add up to the whole: the emitter (like ruamel's) writes the
 * line break that ends a line when the next node starts or the document
 * ends, and at the start of each key of `stages` it is in the same state
 * whatever came before (a line to end, or a line just ended). So the file is
 * HEAD, then each entry as a one-stage file writes it, without the file's
 * final line break, then one line break. Tests hold it to serializeLockfile
 * on every lock file of the conformance data.
 */
export class LockTextCache {
  private readonly pieces = new WeakMap<LockStage, { name: string; text: string }>();

  text(lock: Lockfile): string {
    if (lock.stages.size === 0) return serializeLockfile(lock);
    const parts = [HEAD];
    for (const [name, entry] of lock.stages) {
      const piece = this.piece(name, entry);
      // a layout this does not know: the whole file is emitted at once instead
      if (piece === undefined) return serializeLockfile(lock);
      parts.push(piece);
    }
    parts.push('\n');
    return parts.join('');
  }

  private piece(name: string, entry: LockStage): string | undefined {
    const hit = this.pieces.get(entry);
    if (hit && hit.name === name) return hit.text;
    const whole = serializeLockfile({ stages: new Map([[name, entry]]) });
    if (!whole.startsWith(HEAD) || !whole.endsWith('\n')) return undefined;
    const text = whole.slice(HEAD.length, -1);
    this.pieces.set(entry, { name, text });
    return text;
  }
}
