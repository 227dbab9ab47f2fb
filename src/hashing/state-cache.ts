import { isAscii } from 'node:buffer';
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
 * or rebuilding its listing. Its rows are kept in the order the walk found
 * the files, which is the order the next walk of an unchanged folder finds
 * them in: a warm check then compares each walked file with the record's
 * next line in the state file's own text (`DirMatch`), building no row, map
 * or string per entry, and the rows are only read out of that text when
 * something changed or a caller asks for them.
 *
 * File format (UTF-8 text, one record per line, fields separated by tabs,
 * `\\`, tab, LF and CR in paths escaped as `\\\\`, `\\t`, `\\n`, `\\r`):
 *
 *     reprod-state	1
 *     F	<path>	<md5>	<stamp>
 *     D	<path>	<md5>.dir	<nfiles>
 *     E	<relpath>	<md5>	<stamp>	<0|1 isexec>      (nfiles lines after their D, in walk order)
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
  /** In the order the walk found them (not listing order: see dir-listing.ts's sortEntries). */
  entries: DirEntry[];
  /** The stamp of each entry, same index. */
  stamps: string[];
}

/** A directory record still in the state file's text: its E lines are `text[start, end)`, checked when loaded. */
interface RawDir {
  raw: true;
  md5: string;
  count: number;
  start: number;
  end: number;
}

/**
 * Walks a directory record's entries in their recorded order, comparing
 * each with a walked file: `next` is true while the file at this position
 * has the recorded relpath, stamp and exec bit. Nothing is allocated per
 * entry, so an unchanged folder of many files costs its stats and little
 * more.
 */
export interface DirMatch {
  readonly md5: string;
  readonly count: number;
  next(relpath: string, stamp: string, isexec: boolean): boolean;
  /** The whole record, read out of the text (rows in walk order). */
  record(): DirRecord;
}

/** The stamp the state compares: `size:ino:mtimeNs`, all exact decimal integers. */
export function stampOf(st: { size: number | bigint; ino: string | bigint; mtimeNs: string | bigint }): string {
  return `${st.size}:${st.ino}:${st.mtimeNs}`;
}

const HEADER = 'reprod-state\t1';

export type StateLoad = { state: StateCache; problem?: undefined } | { state: StateCache; problem: string };

export class StateCache {
  private readonly files = new Map<string, FileRecord>();
  private readonly dirs = new Map<string, DirRecord | RawDir>();
  /** The loaded file's text, which raw directory records point into. */
  private text = '';
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
      text = stateText(readFileSync(file));
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
    const d = this.dirs.get(path);
    if (d === undefined || !isRaw(d)) return d;
    const rec = this.readOut(d);
    this.dirs.set(path, rec);
    return rec;
  }

  /**
   * A matcher over `path`'s record when it lists exactly `count` files, for
   * the warm check (see DirMatch); undefined when there is no such record.
   */
  matchDir(path: string, count: number): DirMatch | undefined {
    const d = this.dirs.get(path);
    if (d === undefined) return undefined;
    if (!isRaw(d)) return d.entries.length === count ? recordMatch(d) : undefined;
    if (d.count !== count) return undefined;
    const text = this.text;
    let pos = d.start;
    return {
      md5: d.md5,
      count,
      next: (relpath, stamp, isexec) => {
        const at = entryMatches(text, pos, relpath, stamp, isexec);
        if (at < 0) return false;
        pos = at;
        return true;
      },
      record: () => this.readOut(d),
    };
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
      if (isRaw(d)) {
        parts.push(`D\t${escapeField(path)}\t${d.md5}\t${d.count}`);
        // the E lines as loaded, without the LF that ends the last one (join puts it back)
        if (d.count > 0) parts.push(this.text.slice(d.start, this.text.charCodeAt(d.end - 1) === LF ? d.end - 1 : d.end));
        continue;
      }
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

  /** The rows of a raw record (checked when the text was loaded, so this cannot fail). */
  private readOut(d: RawDir): DirRecord {
    const text = this.text;
    const entries = new Array<DirEntry>(d.count);
    const stamps = new Array<string>(d.count);
    let size = 0;
    let pos = d.start;
    for (let k = 0; k < d.count; k++) {
      const end = lineEnd(text, pos);
      const e = fields(text, pos, end, 5) as Fields<5>;
      pos = end + 1;
      const fileSize = parseInt(e[3], 10);
      size += fileSize;
      entries[k] = { relpath: unescapeField(e[1]), md5: e[2], size: fileSize, isexec: e[4] === '1' };
      stamps[k] = e[3];
    }
    return { info: { md5: d.md5, size, nfiles: d.count }, entries, stamps };
  }

  /**
   * Fills this (empty) state from text; returns what is wrong with it, if
   * anything. A warm status reads one `E` line per file of every tracked
   * directory: those lines are only checked here, by position, and stay in
   * the text until a directory's rows are wanted (getDir, DirMatch).
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
      const dLine = line;
      const start = pos;
      for (let k = 0; k < count; k++) {
        line++;
        if (pos >= n) return `bad directory record at line ${dLine}`;
        const eEnd = lineEnd(text, pos);
        const problem = checkEntry(text, pos, eEnd);
        if (problem !== undefined) return `${problem} at line ${line}`;
        pos = eEnd + 1;
      }
      this.dirs.set(unescapeField(f[1]), { raw: true, md5: f[2], count, start, end: Math.min(pos, n) });
    }
    this.text = text;
    return undefined;
  }
}

/**
 * The state file's text. Most workspaces have ASCII paths only, and latin1
 * decodes ASCII exactly at a fraction of what UTF-8 decoding costs (a warm
 * status reads one line per tracked file).
 */
function stateText(bytes: Buffer): string {
  return bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
}

const LF = 10;
const TAB = 9;

function isRaw(d: DirRecord | RawDir): d is RawDir {
  return (d as RawDir).raw === true;
}

/** What is wrong with the E line text[pos, end), if anything: five tab-separated fields, a stamp starting with its size. */
function checkEntry(text: string, pos: number, end: number): string | undefined {
  if (text.charCodeAt(pos) !== 69 /* E */ || text.charCodeAt(pos + 1) !== TAB) return 'bad entry';
  let tab = pos + 1;
  let stampAt = 0;
  for (let k = 0; k < 3; k++) {
    tab = text.indexOf('\t', tab + 1);
    if (tab < 0 || tab >= end) return 'bad entry';
    if (k === 1) stampAt = tab + 1;
  }
  const last = text.indexOf('\t', tab + 1);
  if (last >= 0 && last < end) return 'bad entry';
  const c = text.charCodeAt(stampAt);
  if (!(c >= 48 && c <= 57) && !((c === 43 || c === 45) && text.charCodeAt(stampAt + 1) >= 48 && text.charCodeAt(stampAt + 1) <= 57)) return 'bad stamp';
  return undefined;
}

/**
 * Where the next line starts when the E line at `pos` records this relpath,
 * stamp and exec bit; -1 when it does not (or there is no line).
 */
function entryMatches(text: string, pos: number, relpath: string, stamp: string, isexec: boolean): number {
  if (text.charCodeAt(pos) !== 69 /* E */ || text.charCodeAt(pos + 1) !== TAB) return -1;
  const name = escapeField(relpath);
  let q = pos + 2;
  if (!text.startsWith(name, q)) return -1;
  q += name.length;
  if (text.charCodeAt(q) !== TAB) return -1;
  const tab = text.indexOf('\t', q + 1);
  if (tab < 0 || !text.startsWith(stamp, tab + 1)) return -1;
  q = tab + 1 + stamp.length;
  if (text.charCodeAt(q) !== TAB || text.charCodeAt(q + 1) !== (isexec ? 49 : 48)) return -1;
  q += 2;
  if (q < text.length && text.charCodeAt(q) !== LF) return -1;
  return q + 1;
}

/** DirMatch over a record already read out (made or changed in this run). */
function recordMatch(rec: DirRecord): DirMatch {
  let i = 0;
  return {
    md5: rec.info.md5,
    count: rec.entries.length,
    next: (relpath, stamp, isexec) => {
      const e = rec.entries[i];
      if (e === undefined || e.relpath !== relpath || rec.stamps[i] !== stamp || e.isexec !== isexec) return false;
      i++;
      return true;
    },
    record: () => rec,
  };
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
