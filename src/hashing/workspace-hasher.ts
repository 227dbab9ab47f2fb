import { statSync, type BigIntStats } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { ReprodError } from '../core/errors.js';
import type { FileOwner, Hasher, HashProgress, HashResult, Logger } from '../core/ports.js';
import type { DirEntry, HashInfo } from '../core/types.js';
import { dirHash, sortEntries } from './dir-listing.js';
import { DvcIgnore } from './dvc-ignore.js';
import { errorMessage, errnoCode, isMissing } from '../core/errno.js';
import { md5File, md5FileSync, scratchBuffer, type FileDigest } from './file-md5.js';
import { HashPool, isFailure } from './hash-pool.js';
import { StateCache, stampOf } from './state-cache.js';
import { walkFiles, type WalkedFile } from './walk-files.js';
import type { FolderLister } from './folder-listings.js';

export interface WorkspaceHasherOptions {
  /** Absolute path of the workspace (the folder holding `.dvc/`). */
  root: string;
  /**
   * Threads that hash the files of a directory in parallel. Default: the
   * number of cores; 1 hashes on the calling thread only.
   */
  jobs?: number;
  /** Where the state persists; default `<root>/.dvc/tmp/reprod/state.tsv`. `null` keeps it in memory only. */
  statePath?: string | null;
  logger?: Logger;
  /** Whom the state file (and the folders made for it) belongs to (adapters/fs/file-owner.ts). */
  owner?: FileOwner | undefined;
  /** Hears what every hash reads (a command's progress bar). */
  progress?: HashProgress;
  /** Reads the folders walked; default: each anew (a read-only command shares its listings, see folder-listings.ts). */
  listings?: FolderLister;
}

/** What the hasher did since it was made: tests assert on reads with it, not on timing. */
export interface HashCounters {
  /** Files whose bytes were read and hashed. */
  filesHashed: number;
  bytesHashed: number;
  /** Files answered from the state cache (stat only). */
  filesFromState: number;
  /** Directories answered whole from the state cache (no listing rebuilt). */
  dirsFromState: number;
}

/** Below this many files to hash in one directory, starting worker threads costs more than it saves. */
const POOL_MIN_FILES = 48;
/** ...unless they hold at least this many bytes (a few big files hash in parallel). */
const POOL_MIN_BYTES = 32 << 20;
/**
 * A folder's own size grows with its entries (ext4: a 4 KiB block per ~100
 * names); past this, its files are worth worker threads for sure.
 */
const BIG_FOLDER_BYTES = 16 << 10;

/**
 * Hashes workspace paths exactly as DVC 3 does (see dir-listing.ts for
 * directories, walk-files.ts for what a directory lists), remembering digests
 * in a state cache keyed by size, inode and mtime so that unchanged files are
 * only stat'ed.
 *
 * A file's `isexec` is true when any exec bit is set (DVC's `is_exec`
 * tests user, group and other); it is read from the file's current mode,
 * never from the cache.
 *
 * Call `flush()` once per pass: it persists the state and forgets the
 * `.dvcignore` files read (they are read once per pass), so one hasher can
 * serve a long-running daemon. Dispose to stop the worker threads.
 */
export class WorkspaceHasher implements Hasher, AsyncDisposable {
  readonly root: string;
  readonly counters: HashCounters = { filesHashed: 0, bytesHashed: 0, filesFromState: 0, dirsFromState: 0 };
  private readonly jobs: number;
  private readonly statePath: string | null;
  private readonly owner: FileOwner | undefined;
  private readonly logger: Logger | undefined;
  private readonly progress: HashProgress | undefined;
  private readonly listings: FolderLister | undefined;
  private ignore: DvcIgnore;
  private readonly scratch = scratchBuffer();
  private stateCache: StateCache | undefined;
  private pool: HashPool | undefined;

  constructor(opts: WorkspaceHasherOptions) {
    if (!isAbsolute(opts.root)) throw new TypeError(`workspace root must be absolute: ${opts.root}`);
    this.root = resolve(opts.root);
    this.jobs = Math.max(1, Math.floor(opts.jobs ?? availableParallelism()));
    this.statePath = opts.statePath === undefined ? join(this.root, '.dvc', 'tmp', 'reprod', 'state.tsv') : opts.statePath;
    this.logger = opts.logger;
    this.progress = opts.progress;
    this.owner = opts.owner;
    this.listings = opts.listings;
    this.ignore = new DvcIgnore(this.root);
  }

  async hash(path: string, progress?: HashProgress): Promise<HashResult | null> {
    const p = both(this.progress, progress);
    const rel = this.normalize(path);
    const abs = rel === '' ? this.root : `${this.root}/${rel}`;
    let st: BigIntStats;
    try {
      st = statSync(abs, { bigint: true });
    } catch (err) {
      if (isMissing(err)) {
        this.state.forget(rel);
        return null;
      }
      throw ioError(rel, err);
    }
    if (st.isDirectory()) return this.hashDir(rel, abs, Number(st.size), p);
    if (st.isFile()) return { info: await this.hashFile(rel, abs, st, p) };
    throw new ReprodError('HASH_IO', `${rel} is not a regular file or directory`, { source: { file: rel } });
  }

  /** True when `.dvcignore` (or DVC's built-in rules) exclude `path`: DVC refuses such outputs. */
  isIgnored(path: string, isDir: boolean): boolean {
    return this.ignore.isIgnored(this.normalize(path), isDir);
  }

  async flush(): Promise<void> {
    this.ignore = new DvcIgnore(this.root);
    if (this.statePath === null || !this.stateCache?.dirty) return;
    try {
      this.stateCache.save(this.statePath, this.owner);
    } catch (err) {
      throw new ReprodError('HASH_IO', `cannot write the hash state ${this.statePath}: ${errorMessage(err)}`, {
        cause: err,
        remedy: 'Check that .dvc/tmp is writable.',
      });
    }
  }

  /** Terminates the worker threads (does not flush). */
  async [Symbol.asyncDispose](): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool[Symbol.asyncDispose]();
  }

  private get state(): StateCache {
    if (!this.stateCache) {
      if (this.statePath === null) {
        this.stateCache = new StateCache();
      } else {
        const loaded = StateCache.load(this.statePath);
        if (loaded.problem !== undefined) this.logger?.warn({ statePath: this.statePath }, loaded.problem);
        this.stateCache = loaded.state;
      }
    }
    return this.stateCache;
  }

  /**
   * Workspace-relative, no `.` or `..` segments, `''` for the root. Paths use
   * `/` (dvc.yaml's separator); a backslash is an ordinary character of a
   * POSIX file name.
   */
  private normalize(path: string): string {
    const p = posix.normalize(path);
    if (p === '.' || p === './') return '';
    if (posix.isAbsolute(p) || p === '..' || p.startsWith('../')) {
      throw new ReprodError('PATH_OUTSIDE', `${path} is outside the workspace`, { source: { file: path } });
    }
    return p.endsWith('/') ? p.slice(0, -1) : p;
  }

  private async hashFile(rel: string, abs: string, st: BigIntStats, p: HashProgress | undefined): Promise<HashInfo> {
    const stamp = stampOf(st);
    const rec = this.state.getFile(rel);
    const isexec = isExec(Number(st.mode));
    if (rec && rec.stamp === stamp) {
      this.counters.filesFromState++;
      return fileInfo(rec.md5, Number(st.size), isexec);
    }
    p?.reading(rel, 1, Number(st.size));
    const d = await this.readFile(rel, abs, p);
    this.state.setFile(rel, { md5: d.md5, stamp: stampOf(d) });
    return fileInfo(d.md5, d.size, isExec(d.mode));
  }

  private async readFile(rel: string, abs: string, p: HashProgress | undefined): Promise<FileDigest> {
    let d: FileDigest;
    try {
      d = await md5File(abs, this.scratch, p ? (n) => p.read(n) : undefined);
    } catch (err) {
      throw ioError(rel, err);
    }
    this.counters.filesHashed++;
    this.counters.bytesHashed += d.size;
    return d;
  }

  private async hashDir(rel: string, abs: string, dirBytes: number, p: HashProgress | undefined): Promise<HashResult> {
    const state = this.state;
    const files = walkFiles(this.ignore, rel, abs, this.listings);
    const n = files.length;
    // The warm check: each walked file against the record's entry at the same place (see state-cache.ts).
    // It keeps nothing per file (what it kept would be copied by every young-generation collection):
    // when a file differs, the loop below starts over and stats again.
    const match = state.matchDir(rel, n);
    if (match) {
      let size = 0;
      let i = 0;
      for (; i < n; i++) {
        const f = files[i] as WalkedFile;
        const st = statOrUndefined(f.abs);
        if (!st || !match.next(f.relpath, stampOf(st), isExec(Number(st.mode)))) break;
        size += Number(st.size);
      }
      if (i === n) {
        // Same files in the same order, same stamps, same exec bits: the listing and its hash cannot have changed.
        this.counters.filesFromState += n;
        this.counters.dirsFromState++;
        return lazyEntries({ md5: match.md5, size, nfiles: n }, () => sortEntries(match.record().entries));
      }
    }

    const rec = state.getDir(rel);
    // A large folder never hashed before is about to be read: let the workers boot during the walk.
    if (!rec && dirBytes >= BIG_FOLDER_BYTES) this.startPool();
    const index = rec ? state.indexOf(rec) : undefined;
    const md5s = new Array<string>(n);
    const stamps = new Array<string>(n);
    const exec = new Array<boolean>(n);
    const sizes = new Array<number>(n);
    const todo: number[] = [];

    for (let i = 0; i < n; i++) {
      const f = files[i] as WalkedFile;
      const at = index?.get(f.relpath);
      const fileRec = at === undefined ? state.getFile(rel === '' ? f.relpath : `${rel}/${f.relpath}`) : undefined;
      if (at === undefined && fileRec === undefined) {
        // Nothing known: read it, and let the read's own fstat give the stamp (no extra stat).
        todo.push(i);
        continue;
      }
      const st = statOrUndefined(f.abs);
      if (!st) {
        todo.push(i);
        continue;
      }
      const stamp = stampOf(st);
      exec[i] = isExec(Number(st.mode));
      sizes[i] = Number(st.size);
      if (rec && at !== undefined && rec.stamps[at] === stamp) {
        md5s[i] = (rec.entries[at] as DirEntry).md5;
      } else if (fileRec && fileRec.stamp === stamp) {
        md5s[i] = fileRec.md5;
      } else {
        todo.push(i);
        continue;
      }
      stamps[i] = stamp;
      this.counters.filesFromState++;
    }

    if (p && todo.length > 0) p.reading(rel, todo.length, todo.reduce((t, i) => t + Number(statOrUndefined((files[i] as WalkedFile).abs)?.size ?? 0), 0));
    await this.hashInto(rel, files, todo, md5s, sizes, stamps, exec, p);

    const entries: DirEntry[] = files.map((f, i) => ({ relpath: f.relpath, md5: md5s[i] as string, size: sizes[i] as number, isexec: exec[i] as boolean }));
    const { info, sorted } = dirHash(entries);
    // kept in walk order: the next walk of the unchanged folder meets them in the same order
    state.setDir(rel, { info, entries, stamps });
    return { info: { ...info }, entries: sorted.map((e) => ({ relpath: e.relpath, md5: e.md5, size: e.size, isexec: e.isexec })) };
  }

  /** Reads and hashes files[todo[*]], on worker threads when there are enough of them. */
  private async hashInto(
    rel: string,
    files: readonly WalkedFile[],
    todo: readonly number[],
    md5s: string[],
    sizes: number[],
    stamps: string[],
    exec: boolean[],
    p: HashProgress | undefined,
  ): Promise<void> {
    if (todo.length === 0) return;
    const put = (i: number, d: FileDigest): void => {
      md5s[i] = d.md5;
      sizes[i] = d.size;
      stamps[i] = stampOf(d);
      exec[i] = isExec(d.mode);
    };
    const inDir = (i: number): string => {
      const r = (files[i] as WalkedFile).relpath;
      return rel === '' ? r : `${rel}/${r}`;
    };
    if (this.usePool(files, todo)) {
      const results = await this.startPool().hashFiles(todo.map((i) => (files[i] as WalkedFile).abs));
      for (let k = 0; k < todo.length; k++) {
        const i = todo[k] as number;
        const r = results[k];
        if (r === undefined) throw new Error('hash pool lost a result');
        if (isFailure(r)) {
          throw new ReprodError('HASH_IO', `cannot read ${inDir(i)}: ${r.message}`, { source: { file: inDir(i) }, cause: r });
        }
        this.counters.filesHashed++;
        this.counters.bytesHashed += r.size;
        p?.read(r.size);
        put(i, r);
      }
      return;
    }
    for (const i of todo) put(i, await this.readFile(inDir(i), (files[i] as WalkedFile).abs, p));
  }

  private startPool(): HashPool {
    this.pool ??= new HashPool(this.jobs, (p) => md5FileSync(p, this.scratch));
    this.pool.start();
    return this.pool;
  }

  private usePool(files: readonly WalkedFile[], todo: readonly number[]): boolean {
    if (this.jobs < 2 || todo.length < 2) return false;
    if (todo.length >= POOL_MIN_FILES) return true;
    let bytes = 0;
    for (const i of todo) {
      const st = statOrUndefined((files[i] as WalkedFile).abs);
      bytes += st ? Number(st.size) : 0;
    }
    return bytes >= POOL_MIN_BYTES;
  }
}

/**
 * A directory's result whose rows are read out of the state only when a
 * caller asks for them: a status of an unchanged folder never does.
 */
function lazyEntries(info: HashInfo, read: () => DirEntry[]): HashResult {
  let entries: DirEntry[] | undefined;
  return {
    info,
    get entries(): DirEntry[] {
      entries ??= read();
      return entries;
    },
  };
}

/** DVC's is_exec: any of the user, group or other exec bits. */
function isExec(mode: number): boolean {
  return (mode & 0o111) !== 0;
}

function fileInfo(md5: string, size: number, isexec: boolean): HashInfo {
  return isexec ? { md5, size, isexec: true } : { md5, size };
}

/** The stat of a walked file, or undefined when it vanished since the walk (reading it will then say so). */
function statOrUndefined(abs: string): BigIntStats | undefined {
  try {
    // no exception built for the vanished file: a warm status stats every file
    return statSync(abs, { bigint: true, throwIfNoEntry: false });
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw new ReprodError('HASH_IO', `cannot stat ${abs}: ${errorMessage(err)}`, { cause: err });
  }
}

function ioError(rel: string, err: unknown): ReprodError {
  if (err instanceof ReprodError) return err;
  const code = errnoCode(err);
  const what = code === 'ENOENT' ? 'vanished while being hashed' : `cannot be read: ${errorMessage(err)}`;
  return new ReprodError('HASH_IO', `${rel || '.'} ${what}`, { source: { file: rel || '.' }, cause: err });
}

/** One listener for two, either of which may be missing. */
function both(a: HashProgress | undefined, b: HashProgress | undefined): HashProgress | undefined {
  if (!a || !b) return a ?? b;
  return {
    reading: (path, files, bytes) => {
      a.reading(path, files, bytes);
      b.reading(path, files, bytes);
    },
    read: (bytes) => {
      a.read(bytes);
      b.read(bytes);
    },
  };
}
