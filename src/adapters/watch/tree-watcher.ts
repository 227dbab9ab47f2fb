import { watch, statSync, type FSWatcher, type Stats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { isMissing } from '../../core/errno.js';

export interface TreeWatcherOptions {
  /** Absolute path of the folder at the top of the tree (workspace-relative ''). */
  root: string;
  /**
   * Whether the folder at `rel` (workspace-relative, '/'-separated; '' is the
   * root) is watched. Asked again for every folder on {@link TreeWatcher.refresh}.
   */
  descend(rel: string): boolean;
  /**
   * Something at `rel` was created, written, removed or replaced; `isDir`
   * when it is a folder, or was a watched one (the folder's contents may all
   * have changed). A removed entry that was never watched is reported as a
   * file: nothing `descend` admits lies inside it.
   */
  onChange(rel: string, isDir: boolean): void;
  /** A folder that cannot be watched (its changes go unseen), or a watch that failed. */
  onError(err: unknown, rel: string): void;
  /** Poll every `pollMs` instead of using the kernel's events (file systems that send none). */
  pollMs?: number;
}

/** Poll mode: what an entry was when last seen. */
interface Seen {
  readonly dir: boolean;
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

interface Folder {
  readonly rel: string;
  readonly dev: number;
  readonly ino: number;
  watcher?: FSWatcher;
  /** Poll mode only: its entries by name, as last seen. */
  entries?: Map<string, Seen>;
}

const join = (rel: string, name: string) => (rel === '' ? name : `${rel}/${name}`);
const parentOf = (rel: string) => (rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '');

function statOrUndefined(abs: string): Stats | undefined {
  try {
    return statSync(abs);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

/**
 * Watches a tree of folders with one `fs.watch` per folder, never one per
 * file: on Linux a folder's inotify watch reports every entry created,
 * written, removed or renamed in it, so 200,000 files in 1,000 folders cost
 * 1,000 watches (chokidar 4 takes one per file, and runs out of the
 * per-user limit). A folder that appears is watched before it is listed, and
 * reported once watched, so a file written into it at once is seen either
 * by its watch or by whoever reads the folder after the report. A folder
 * that vanishes or is replaced drops its watches (and its sub-folders').
 *
 * Symbolic links to folders are followed, except into one of their own
 * ancestors. With `pollMs`, each folder is listed and its entries stat'ed
 * every `pollMs` instead, and differences are reported the same way.
 */
export class TreeWatcher implements AsyncDisposable {
  private readonly folders = new Map<string, Folder>();
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(private readonly opts: TreeWatcherOptions) {}

  /** The folders being watched (workspace-relative), sorted. */
  watched(): string[] {
    return [...this.folders.keys()].sort();
  }

  /**
   * Brings the watches in line with `descend`: folders it no longer admits
   * are dropped, every admitted folder is watched. Resolves once the whole
   * tree has been listed. Reports nothing: the caller re-reads what it needs.
   */
  async refresh(): Promise<void> {
    if (this.closed) return;
    for (const rel of this.watched()) if (rel !== '' && this.folders.has(rel) && !this.opts.descend(rel)) this.drop(rel);
    await this.walk('', false);
    if (this.opts.pollMs !== undefined && this.timer === undefined && !this.closed) this.schedulePoll();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    for (const f of this.folders.values()) f.watcher?.close();
    this.folders.clear();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  private abs(rel: string): string {
    return rel === '' ? this.opts.root : path.join(this.opts.root, rel);
  }

  /**
   * Watches the folder at `rel` if it is one and is admitted (a known
   * folder still of the same inode keeps its watch), then does the same for
   * its sub-folders. With `report`, each newly watched folder is reported.
   */
  private async walk(rel: string, report: boolean): Promise<void> {
    const stack = [rel];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      if (this.closed) return;
      if (next !== '' && !this.opts.descend(next)) continue;
      let st: Stats | undefined;
      try {
        st = statOrUndefined(this.abs(next));
      } catch (err) {
        this.opts.onError(err, next);
        continue;
      }
      const known = this.folders.get(next);
      if (!st?.isDirectory()) {
        if (known) this.drop(next);
        continue;
      }
      const fresh = !known || known.ino !== st.ino || known.dev !== st.dev;
      if (fresh) {
        if (known) this.drop(next);
        if (this.isLoop(next, st)) continue;
        const folder: Folder = { rel: next, dev: st.dev, ino: st.ino };
        if (!this.start(folder)) continue;
        this.folders.set(next, folder);
      }
      let names: string[];
      try {
        // listed after the watch started: nothing created in between is missed
        const entries = await readdir(this.abs(next), { withFileTypes: true });
        names = entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name);
        const folder = this.folders.get(next);
        if (fresh && folder?.entries) folder.entries = this.snapshot(next, entries.map((e) => e.name));
      } catch (err) {
        if (!isMissing(err)) this.opts.onError(err, next);
        continue;
      }
      if (report && fresh) this.opts.onChange(next, true);
      for (const name of names) stack.push(join(next, name));
    }
  }

  /** True when the folder at `rel` is one of its own ancestors (a symbolic link back up the tree). */
  private isLoop(rel: string, st: Stats): boolean {
    for (let p = rel; p !== ''; ) {
      p = parentOf(p);
      const f = this.folders.get(p);
      if (f && f.dev === st.dev && f.ino === st.ino) return true;
    }
    return false;
  }

  /** Starts watching one folder; false (reported) when it cannot be watched. */
  private start(folder: Folder): boolean {
    if (this.opts.pollMs !== undefined) {
      folder.entries = new Map();
      return true;
    }
    try {
      const w = watch(this.abs(folder.rel), { persistent: true }, (event, name) => {
        if (this.folders.get(folder.rel) !== folder) return;
        const entry = name === null ? null : String(name);
        this.entry(folder, entry, event === 'change').catch((err: unknown) => this.opts.onError(err, entry === null ? folder.rel : join(folder.rel, entry)));
      });
      w.on('error', (err) => {
        if (this.folders.get(folder.rel) === folder) this.drop(folder.rel);
        if (!isMissing(err)) this.opts.onError(err, folder.rel);
      });
      folder.watcher = w;
      return true;
    } catch (err) {
      // a folder gone since it was seen is reported by its parent's watch
      if (!isMissing(err)) this.opts.onError(err, folder.rel);
      return false;
    }
  }

  /** Stops watching the folder at `rel` and every folder below it. */
  private drop(rel: string): void {
    const prefix = `${rel}/`;
    for (const [r, f] of this.folders) {
      if (r === rel || rel === '' || r.startsWith(prefix)) {
        f.watcher?.close();
        this.folders.delete(r);
      }
    }
  }

  /**
   * One event for the entry `name` of `folder` (null: the kernel lost
   * track, all of it may have changed). A change of contents is a file's; a
   * rename (Linux reports every event on a folder entry as one) may be
   * anything, so the entry is looked at.
   */
  private async entry(folder: Folder, name: string | null, contents: boolean): Promise<void> {
    if (name === null) {
      this.opts.onChange(folder.rel, true);
      return;
    }
    const rel = join(folder.rel, name);
    const child = this.folders.get(rel);
    if (contents) {
      if (!child) this.opts.onChange(rel, false);
      return;
    }
    let st: Stats | undefined;
    try {
      st = statOrUndefined(this.abs(rel));
    } catch (err) {
      this.opts.onError(err, rel);
      return;
    }
    if (st?.isDirectory()) {
      // the same folder (its attributes changed) keeps its watch and says nothing
      if (child && child.ino === st.ino && child.dev === st.dev) return;
      if (!this.opts.descend(rel)) {
        this.opts.onChange(rel, true);
        return;
      }
      await this.walk(rel, true);
      if (!this.folders.has(rel)) this.opts.onChange(rel, true);
      return;
    }
    if (child) {
      this.drop(rel);
      this.opts.onChange(rel, true);
      if (st) this.opts.onChange(rel, false);
      return;
    }
    this.opts.onChange(rel, false);
  }

  // ---------------------------------------------------------------- polling

  /** The entries `names` of the folder at `rel` as they are now (an entry gone meanwhile is left out). */
  private snapshot(rel: string, names: string[]): Map<string, Seen> {
    const out = new Map<string, Seen>();
    for (const name of names) {
      const st = statOrUndefined(this.abs(join(rel, name)));
      if (st) out.set(name, { dir: st.isDirectory(), ino: st.ino, size: st.size, mtimeMs: st.mtimeMs });
    }
    return out;
  }

  private schedulePoll(): void {
    this.timer = setTimeout(() => {
      void this.poll().finally(() => {
        if (!this.closed) this.schedulePoll();
      });
    }, this.opts.pollMs);
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      for (const folder of [...this.folders.values()]) {
        if (this.closed) return;
        if (this.folders.get(folder.rel) !== folder || !folder.entries) continue;
        let now: Map<string, Seen>;
        try {
          now = this.snapshot(folder.rel, await readdir(this.abs(folder.rel)));
        } catch (err) {
          if (!isMissing(err)) this.opts.onError(err, folder.rel);
          continue;
        }
        const before = folder.entries;
        folder.entries = now;
        for (const [name, is] of now) {
          const was = before.get(name);
          if (was && was.dir === is.dir && was.ino === is.ino && was.size === is.size && was.mtimeMs === is.mtimeMs) continue;
          // the same file, written in place, is a change of contents; anything else is looked at
          const inPlace = was !== undefined && !was.dir && !is.dir && was.ino === is.ino;
          await this.entry(folder, name, inPlace);
        }
        for (const name of before.keys()) if (!now.has(name)) await this.entry(folder, name, false);
      }
    } finally {
      this.polling = false;
    }
  }
}
