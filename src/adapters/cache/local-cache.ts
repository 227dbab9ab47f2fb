import { constants as fsc, promises as fs } from 'node:fs';
import path from 'node:path';
import type { LinkType } from '../../core/dvc-config.js';
import { errnoCode, isMissing } from '../../core/errno.js';
import { pathEscapeError, ReprodError } from '../../core/errors.js';
import type { CheckoutResult, FileOwner, HashResult, ObjectCache } from '../../core/ports.js';
import { dirListingJson } from '../../hashing/dir-listing.js';
import { DvcIgnore } from '../../hashing/dvc-ignore.js';
import { parseLockStage } from '../../lock/lockfile.js';
import { isDirOid, isOid, objectKey, oidProblem, runDirKey, runKey } from '../../remote/layout.js';
import { checkListing, type ListingRow } from '../../remote/objects.js';
import { forEachLimit } from '../../remote/pool.js';
import type { CacheStore } from '../../core/ports.js';
import { renameIntoPlace, tempPathFor, writeFileAtomic } from '../fs/atomic-file.js';
import { symlinkEscape } from '../fs/contained-path.js';
import { giveTo, mkdirOwned } from '../fs/file-owner.js';
import { LayoutFolder } from '../fs/layout-folder.js';
import { clearForListing } from './clear-for-listing.js';

/** Objects are read-only once in place, as DVC keeps them. */
const READ_ONLY = 0o444;
/** Stats (and removals) in flight at once over many keys. */
const FILE_JOBS = 64;
/** Files of a directory checked out at once (each a copy or a link). */
const CHECKOUT_JOBS = 8;
/**
 * What a link type that this filesystem cannot make fails with (a reflink
 * on ext4, a hardlink across devices): it will fail for every other file of
 * the cache too, so it is not tried again by this cache.
 */
const UNSUPPORTED = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS']);

/** Objects of a directory's listing looked up at once by `has`. */
const HAS_BATCH = 64;

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (e) {
    if (isMissing(e)) return false;
    throw e;
  }
}

export interface LocalCacheOptions {
  /** Workspace root (absolute). */
  root: string;
  /** Cache directory (absolute); DVC's default is `<root>/.dvc/cache`. */
  cacheDir?: string;
  /** `cache.type` preference list. */
  linkTypes?: LinkType[];
  /** Whom what it creates (objects, folders, checked-out files) belongs to (file-owner.ts). */
  owner?: FileOwner | undefined;
}

/**
 * DVC 3's local cache (`.dvc/cache`, in the layout of remote/layout.ts):
 * what stages commit to and check out from ({@link ObjectCache}), and one
 * end of every transfer to and from a remote ({@link CacheStore}). Every
 * object lands through a temporary file renamed into place, read-only.
 *
 * Nothing read from the cache is trusted to say where to write: a cache may
 * be shared, or filled by `dvc fetch` from a hostile remote. Every md5 and
 * every listing is checked before a path is made from it (OBJECT_INVALID
 * otherwise, with nothing written), and no workspace path is written
 * through a symlinked folder that leads out of the workspace (PATH_OUTSIDE).
 */
export class LocalCache implements ObjectCache, CacheStore {
  readonly root: string;
  readonly dir: string;
  private readonly folder: LayoutFolder;
  private readonly linkTypes: LinkType[];
  private readonly owner: FileOwner | undefined;
  /** Oids known to be present (a `.dir` with all its files): `has` does not stat them again. */
  private readonly known = new Set<string>();
  /** Link types this cache's filesystem refused as unsupported (see UNSUPPORTED), with the refusal. */
  private readonly unsupported = new Map<LinkType, unknown>();

  constructor(opts: LocalCacheOptions) {
    this.root = opts.root;
    this.dir = opts.cacheDir ?? path.join(opts.root, '.dvc', 'cache');
    this.folder = new LayoutFolder(this.dir);
    this.linkTypes = opts.linkTypes ?? ['reflink', 'copy'];
    this.owner = opts.owner;
  }

  pathOf(key: string): string {
    return this.folder.pathOf(key);
  }

  /** Absolute path of the object `oid` (`files/md5/xx/…`). */
  objectPath(oid: string): string {
    return this.pathOf(objectKey(oid));
  }

  // ------------------------------------------------------------ ObjectCache

  /** An md5 that is no oid (a hand-edited dvc.lock) names nothing in the cache: false, no path is made from it. */
  async has(md5: string): Promise<boolean> {
    if (this.known.has(md5)) return true;
    if (!isOid(md5)) return false;
    if (!(await exists(this.objectPath(md5)))) return false;
    if (isDirOid(md5)) {
      const rows = await this.readListing(md5);
      // a listing of thousands of files: their objects are looked up several at a time
      for (let i = 0; i < rows.length; i += HAS_BATCH) {
        const present = await Promise.all(rows.slice(i, i + HAS_BATCH).map((r) => this.has(r.md5)));
        if (present.includes(false)) return false;
      }
    }
    this.known.add(md5);
    return true;
  }

  async save(relPath: string, result: HashResult): Promise<void> {
    // saving chmods (or relinks) the output: never through a folder that leads elsewhere
    await this.refuseEscape(relPath);
    const abs = path.join(this.root, relPath);
    if (result.entries) {
      for (const e of result.entries) await this.addFile(path.join(abs, e.relpath), e.md5);
      const listing = this.objectPath(result.info.md5);
      if (!(await exists(listing))) {
        const json = dirListingJson(result.entries);
        await writeFileAtomic(listing, (temp) => fs.writeFile(temp, json), { mode: READ_ONLY, owner: this.owner });
      }
      this.known.add(result.info.md5);
    } else {
      await this.addFile(abs, result.info.md5);
      // DVC relinks a committed file from the cache: it ends up with the default mode, plus the owner's exec bit.
      await fs.chmod(abs, (0o666 & ~process.umask()) | (result.info.isexec ? 0o100 : 0));
    }
    if (this.linkTypes[0] === 'hardlink' || this.linkTypes[0] === 'symlink') {
      await this.checkout(relPath, result.info.md5);
    }
  }

  async checkout(relPath: string, md5: string): Promise<CheckoutResult> {
    const problem = oidProblem(md5);
    if (problem !== undefined) {
      throw new ReprodError('OBJECT_INVALID', `cannot check out '${relPath}': ${problem}`);
    }
    await this.refuseEscape(relPath);
    if (!(await this.has(md5))) {
      throw new ReprodError('CACHE', `'${relPath}' (${md5}) is not in the cache`, {
        remedy: 'Run the stage that produces it, or pull it from a remote.',
      });
    }
    const abs = path.join(this.root, relPath);
    if (isDirOid(md5)) {
      const rows = await this.readListing(md5);
      const st = await fs.lstat(abs).catch((e: unknown) => {
        if (isMissing(e)) return undefined;
        throw e;
      });
      if (st?.isDirectory()) {
        await clearForListing(relPath, abs, rows.map((r) => r.relpath), new DvcIgnore(this.root).matcherFor(relPath));
      } else if (st) {
        // a file, or a link (never followed), where the directory goes
        await fs.rm(abs, { force: true });
      }
      await mkdirOwned(abs, this.owner);
      // each subfolder is made once, then the files go in, several at once
      const folders = [...new Set(rows.map((r) => path.dirname(path.join(abs, r.relpath))))].sort();
      for (const f of folders) await mkdirOwned(f, this.owner);
      await forEachLimit(rows, CHECKOUT_JOBS, (r) => this.link(r.md5, path.join(abs, r.relpath), false));
      return 'restored';
    }
    const st = await fs.stat(this.objectPath(md5));
    await this.link(md5, abs, (st.mode & 0o100) !== 0);
    return 'restored';
  }

  async runCacheEntries(key: string): Promise<string[]> {
    const dir = this.pathOf(runDirKey(key));
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
    const withTimes = await Promise.all(
      names
        .filter((n) => !n.endsWith('.tmp'))
        .map(async (n) => {
          const p = path.join(dir, n);
          const [st, text] = await Promise.all([fs.stat(p), fs.readFile(p, 'utf8')]);
          this.checkRunEntry(p, text);
          return { t: st.mtimeMs, text };
        }),
    );
    return withTimes.sort((a, b) => b.t - a.t).map((x) => x.text);
  }

  /**
   * A run-cache entry restores outputs from the md5s it records: one that
   * names no object (it reached the cache from a hostile remote, or was
   * edited) is refused here, before any restore reads it.
   */
  private checkRunEntry(file: string, text: string): void {
    const name = path.relative(this.root, file);
    const entry = parseLockStage(text, name);
    for (const [i, o] of entry.outs.entries()) {
      const problem = o.md5 === '' ? undefined : oidProblem(o.md5);
      if (problem !== undefined) {
        throw new ReprodError('OBJECT_INVALID', `run-cache entry ${name}: output '${o.path}': ${problem}`, {
          source: { file: name, key: `outs[${i}].md5` },
        });
      }
    }
  }

  async writeRunCacheEntry(key: string, value: string, text: string): Promise<void> {
    const dst = this.pathOf(runKey(key, value));
    if (await exists(dst)) return;
    await writeFileAtomic(dst, (temp) => fs.writeFile(temp, text), { owner: this.owner });
  }

  // ------------------------------------------------------------ CacheStore

  sizes(keys: readonly string[]): Promise<Map<string, number>> {
    return this.folder.sizes(keys, FILE_JOBS);
  }

  list(prefix: string): AsyncIterable<string> {
    return this.folder.list(prefix);
  }

  tempFor(key: string): string {
    return tempPathFor(this.pathOf(key));
  }

  async adopt(temp: string, key: string): Promise<void> {
    const dst = this.pathOf(key);
    // the transfer made the folders on the way to `temp` (they are dst's): they are given too
    await mkdirOwned(path.dirname(dst), this.owner);
    await this.giveFolders(path.dirname(dst));
    await giveTo(this.owner, temp);
    await renameIntoPlace(temp, dst, READ_ONLY);
  }

  async discard(temp: string): Promise<void> {
    await fs.rm(temp, { force: true });
  }

  read(key: string): Promise<Uint8Array | null> {
    return this.folder.read(key);
  }

  write(key: string, bytes: Uint8Array): Promise<void> {
    return writeFileAtomic(this.pathOf(key), (temp) => fs.writeFile(temp, bytes), { mode: READ_ONLY, owner: this.owner });
  }

  async delete(keys: readonly string[]): Promise<void> {
    // a removed file may belong to any listing known to be complete
    this.known.clear();
    await this.folder.delete(keys, FILE_JOBS);
  }

  async copyOut(key: string, wsPath: string): Promise<void> {
    await this.refuseEscape(wsPath);
    const dst = path.join(this.root, ...wsPath.split('/'));
    await mkdirOwned(path.dirname(dst), this.owner);
    await fs.rm(dst, { force: true });
    await fs.copyFile(this.pathOf(key), dst);
    await fs.chmod(dst, 0o666 & ~process.umask());
    await giveTo(this.owner, dst);
  }

  /** Gives the cache's folders from `dir` up (not above the cache) to the owner, where another did not. */
  private async giveFolders(dir: string): Promise<void> {
    const owner = this.owner;
    if (!owner) return;
    for (let d = dir; d.startsWith(`${this.dir}${path.sep}`) || d === this.dir; d = path.dirname(d)) {
      const st = await fs.lstat(d);
      if (st.uid === owner.uid && st.gid === owner.gid) break;
      await fs.lchown(d, owner.uid, owner.gid);
    }
  }

  // ------------------------------------------------------------ internals

  /** The rows of a cached listing, every one checked (see checkListing); OBJECT_INVALID naming the object and the row otherwise. */
  private async readListing(md5: string): Promise<ListingRow[]> {
    const p = this.objectPath(md5);
    const checked = checkListing(await fs.readFile(p));
    if ('problem' in checked) {
      throw new ReprodError('OBJECT_INVALID', `directory listing ${path.relative(this.root, p)} (${md5}) is not one DVC writes: ${checked.problem}`);
    }
    return checked.rows;
  }

  private async refuseEscape(wsPath: string): Promise<void> {
    const esc = await symlinkEscape(this.root, wsPath);
    if (esc) throw pathEscapeError(esc);
  }

  /** Adds one file's bytes under `md5` (nothing to do when present). */
  private async addFile(src: string, md5: string): Promise<void> {
    const dst = this.objectPath(md5);
    if (this.known.has(md5) || (await exists(dst))) {
      this.known.add(md5);
      return;
    }
    try {
      await writeFileAtomic(dst, (temp) => this.copy(src, temp), { mode: READ_ONLY, owner: this.owner });
    } catch (cause) {
      throw new ReprodError('CACHE', `cannot add ${path.relative(this.root, src)} to the cache`, { cause });
    }
    this.known.add(md5);
  }

  private async copy(src: string, dst: string): Promise<void> {
    if (this.linkTypes.includes('reflink')) {
      try {
        await fs.copyFile(src, dst, fsc.COPYFILE_FICLONE_FORCE);
        return;
      } catch {
        // the filesystem has no reflinks: fall back to a plain copy, as DVC does
      }
    }
    await fs.copyFile(src, dst);
  }

  /** Materialises one cached file at `dst` with the first link type that works. */
  /** Puts the object at `dst` by the first `cache.type` that works; `fresh`: dst's folder exists and dst does not. */
  private async link(md5: string, dst: string, isexec: boolean, fresh = false): Promise<void> {
    const src = this.objectPath(md5);
    if (!fresh) {
      await mkdirOwned(path.dirname(dst), this.owner);
      await fs.rm(dst, { force: true });
    }
    let lastError: unknown;
    for (const t of this.linkTypes) {
      if (this.unsupported.has(t)) {
        lastError = this.unsupported.get(t);
        continue;
      }
      try {
        if (t === 'hardlink') await fs.link(src, dst);
        else if (t === 'symlink') await fs.symlink(src, dst);
        else {
          await fs.copyFile(src, dst, t === 'reflink' ? fsc.COPYFILE_FICLONE_FORCE : 0);
          await fs.chmod(dst, isexec ? 0o755 : 0o644);
        }
        // a hard link is the cache object itself, which is the owner's already
        if (t !== 'hardlink') await giveTo(this.owner, dst);
        return;
      } catch (e) {
        lastError = e;
        const code = errnoCode(e);
        if (code !== undefined && UNSUPPORTED.has(code)) this.unsupported.set(t, e);
      }
    }
    throw new ReprodError('CACHE', `cannot check out ${path.relative(this.root, dst)} from the cache`, {
      cause: lastError,
    });
  }
}
