import { chownSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FileOwner } from '../core/ports.js';
import type { DirEntry, HashInfo } from '../core/types.js';
import { errorMessage, isMissing } from '../core/errno.js';
import { tempId } from '../core/temp-id.js';

/**
 * What reprod remembers between runs so that an unchanged workspace is not
 * read again: DVC's "state" idea, in reprod's own file.
 *
 * A file's md5 is trusted while its stamp — size, inode and modification time
 * in nanoseconds, as one string `size:ino:mtimeNs` — is unchanged. Like DVC,
 * this trusts mtime: a write that keeps the size and puts the old mtime back
 * (`touch -d`, some copy tools, clocks set back) goes unseen. ctime is not
 * used, because DVC does not use it either and a chmod or a hardlink would
 * then force a reread.
 *
 * A directory's result (listing hash and rows) is kept with the stamp of
 * every listed file, so a directory whose files all carry their recorded
 * stamps, with no file added or removed, is answered without reading a byte
 * or rebuilding its listing.
 *
 * File format (UTF-8 text, one record per line, fields separated by tabs,
 * `\\`, tab, LF and CR in paths escaped as `\\\\`, `\\t`, `\\n`, `\\r`):
 *
 *     reprod-state	1
 *     F	<path>	<md5>	<stamp>
 *     D	<path>	<md5>.dir	<nfiles>
 *     E	<relpath>	<md5>	<stamp>	<0|1 isexec>      (nfiles lines after their D)
 *
 * Paths are workspace-relative. Records are written in insertion order: the
 * file is a cache whose content depends on inodes and clocks anyway, so
 * sorting it would buy nothing.
 */

export interface FileRecord {
  md5: string;
  stamp: string;
}

export interface DirRecord {
  info: HashInfo;
  /** In listing order. */
  entries: DirEntry[];
  /** The stamp of each entry, same index. */
  stamps: string[];
}

/** The stamp the state compares: `size:ino:mtimeNs`, all exact decimal integers. */
export function stampOf(st: { size: number | bigint; ino: string | bigint; mtimeNs: string | bigint }): string {
  return `${st.size}:${st.ino}:${st.mtimeNs}`;
}

const HEADER = 'reprod-state\t1';

export type StateLoad = { state: StateCache; problem?: undefined } | { state: StateCache; problem: string };

export class StateCache {
  private readonly files = new Map<string, FileRecord>();
  private readonly dirs = new Map<string, DirRecord>();
  private readonly indexes = new WeakMap<DirRecord, Map<string, number>>();
  private changed = false;

  /**
   * Reads a state file. A missing file gives an empty state; an unreadable or
   * malformed one also gives an empty state (it is only a cache, and DVC too
   * drops entries it cannot parse) but says why in `problem`, for the log.
   */
  static load(file: string): StateLoad {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if (isMissing(err)) return { state: new StateCache() };
      return { state: new StateCache(), problem: `cannot read ${file}: ${errorMessage(err)}` };
    }
    const state = new StateCache();
    const problem = state.parse(text);
    return problem === undefined ? { state } : { state: new StateCache(), problem: `${file}: ${problem}; starting from an empty state` };
  }

  get dirty(): boolean {
    return this.changed;
  }

  get size(): { files: number; dirs: number } {
    return { files: this.files.size, dirs: this.dirs.size };
  }

  getFile(path: string): FileRecord | undefined {
    return this.files.get(path);
  }

  setFile(path: string, rec: FileRecord): void {
    const old = this.files.get(path);
    if (old && old.md5 === rec.md5 && old.stamp === rec.stamp) return;
    this.files.set(path, rec);
    this.changed = true;
  }

  getDir(path: string): DirRecord | undefined {
    return this.dirs.get(path);
  }

  setDir(path: string, rec: DirRecord): void {
    this.dirs.set(path, rec);
    this.changed = true;
  }

  /** Position of each relpath in a directory record (built once per record). */
  indexOf(rec: DirRecord): Map<string, number> {
    let index = this.indexes.get(rec);
    if (!index) {
      index = new Map();
      for (let i = 0; i < rec.entries.length; i++) index.set((rec.entries[i] as DirEntry).relpath, i);
      this.indexes.set(rec, index);
    }
    return index;
  }

  /** Drops what is known about `path` (gone from the workspace). */
  forget(path: string): void {
    if (this.files.delete(path)) this.changed = true;
    if (this.dirs.delete(path)) this.changed = true;
  }

  serialize(): string {
    const parts: string[] = [HEADER];
    for (const [path, r] of this.files) parts.push(`F\t${escapeField(path)}\t${r.md5}\t${r.stamp}`);
    for (const [path, d] of this.dirs) {
      parts.push(`D\t${escapeField(path)}\t${d.info.md5}\t${d.entries.length}`);
      for (let i = 0; i < d.entries.length; i++) {
        const e = d.entries[i] as DirEntry;
        parts.push(`E\t${escapeField(e.relpath)}\t${e.md5}\t${d.stamps[i]}\t${e.isexec ? 1 : 0}`);
      }
    }
    parts.push('');
    return parts.join('\n');
  }

  /**
   * Writes the state atomically (temp file + rename) and marks it clean. The
   * file, and the folders made for it, belong to `owner` when given (reprod
   * as root in another user's workspace: see adapters/fs/file-owner.ts).
   */
  save(file: string, owner?: FileOwner): void {
    const dir = dirname(file);
    const first = mkdirSync(dir, { recursive: true });
    if (owner && first !== undefined) {
      for (let d = resolve(dir); ; d = dirname(d)) {
        chownSync(d, owner.uid, owner.gid);
        if (d === resolve(first) || d === dirname(d)) break;
      }
    }
    const tmp = `${file}.${tempId()}.tmp`;
    writeFileSync(tmp, this.serialize());
    if (owner) chownSync(tmp, owner.uid, owner.gid);
    renameSync(tmp, file);
    this.changed = false;
  }

  /**
   * Fills this (empty) state from text; returns what is wrong with it, if
   * anything. A warm status reads one `E` line per file of every tracked
   * directory, so the lines are cut by position rather than split into arrays.
   */
  private parse(text: string): string | undefined {
    if (text === '') return undefined;
    const n = text.length;
    const at = text.indexOf('\n');
    if ((at < 0 ? text : text.slice(0, at)) !== HEADER) return 'unknown format or version';
    let line = 1;
    let pos = at < 0 ? n : at + 1;
    while (pos < n) {
      line++;
      const end = lineEnd(text, pos);
      if (end === pos) {
        pos = end + 1;
        continue;
      }
      const f = fields(text, pos, end, 4);
      if (f === undefined) return `bad record at line ${line}`;
      pos = end + 1;
      if (f[0] === 'F') {
        this.files.set(unescapeField(f[1]), { md5: f[2], stamp: f[3] });
        continue;
      }
      if (f[0] !== 'D') return `bad record at line ${line}`;
      const count = Number(f[3]);
      if (!Number.isInteger(count) || count < 0) return `bad directory record at line ${line}`;
      const entries = new Array<DirEntry>(count);
      const stamps = new Array<string>(count);
      let size = 0;
      for (let k = 0; k < count; k++) {
        line++;
        if (pos >= n) return `bad directory record at line ${line - k - 1}`;
        const eEnd = lineEnd(text, pos);
        const e = fields(text, pos, eEnd, 5);
        pos = eEnd + 1;
        if (e === undefined || e[0] !== 'E') return `bad entry at line ${line}`;
        const stamp = e[3];
        const fileSize = parseInt(stamp, 10);
        if (!Number.isFinite(fileSize)) return `bad stamp at line ${line}`;
        size += fileSize;
        entries[k] = { relpath: unescapeField(e[1]), md5: e[2], size: fileSize, isexec: e[4] === '1' };
        stamps[k] = stamp;
      }
      this.dirs.set(unescapeField(f[1]), { info: { md5: f[2], size, nfiles: count }, entries, stamps });
    }
    return undefined;
  }
}

/** Where the line starting at `pos` ends (its LF, or the end of the text). */
function lineEnd(text: string, pos: number): number {
  const i = text.indexOf('\n', pos);
  return i < 0 ? text.length : i;
}

type Fields<N extends 4 | 5> = N extends 4 ? [string, string, string, string] : [string, string, string, string, string];

/** The tab-separated fields of text[pos, end), when there are exactly `count`. */
function fields<N extends 4 | 5>(text: string, pos: number, end: number, count: N): Fields<N> | undefined {
  const out = new Array<string>(count);
  let start = pos;
  for (let k = 0; k < count - 1; k++) {
    const tab = text.indexOf('\t', start);
    if (tab < 0 || tab >= end) return undefined;
    out[k] = text.slice(start, tab);
    start = tab + 1;
  }
  const last = text.slice(start, end);
  if (last.includes('\t')) return undefined;
  out[count - 1] = last;
  return out as Fields<N>;
}

const NEEDS_ESCAPE = /[\\\t\n\r]/;

function escapeField(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return s;
  return s.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

function unescapeField(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(.)/g, (_m, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c));
}
