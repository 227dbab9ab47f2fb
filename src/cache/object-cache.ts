import { constants as fsc, promises as fs } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ReprodError } from '../core/errors.js';
import type { LinkType } from '../core/dvc-config.js';
import type { CheckoutResult, HashResult, ObjectCache } from '../core/ports.js';
import { dirListingJson } from '../hashing/dir-listing.js';
import { isMissing } from '../core/errno.js';

/** One row of a cached `.dir` listing. */
interface ListingRow {
  md5: string;
  relpath: string;
}

function isListing(v: unknown): v is ListingRow[] {
  return (
    Array.isArray(v) &&
    v.every((r) => typeof r === 'object' && r !== null && typeof r.md5 === 'string' && typeof r.relpath === 'string')
  );
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch (e) {
    if (isMissing(e)) return false;
    throw e;
  }
}

export interface LocalObjectCacheOptions {
  /** Workspace root (absolute). */
  root: string;
  /** Cache directory (absolute); DVC's default is `<root>/.dvc/cache`. */
  cacheDir?: string;
  /** `cache.type` preference list. */
  linkTypes?: LinkType[];
}

/**
 * DVC 3's local cache: `files/md5/<2 hex>/<30 hex>` objects (read-only),
 * `.dir` listings beside them, and the run-cache under `runs/`.
 */
export class LocalObjectCache implements ObjectCache {
  readonly root: string;
  readonly dir: string;
  private readonly linkTypes: LinkType[];
  private readonly known = new Set<string>();

  constructor(opts: LocalObjectCacheOptions) {
    this.root = opts.root;
    this.dir = opts.cacheDir ?? path.join(opts.root, '.dvc', 'cache');
    this.linkTypes = opts.linkTypes ?? ['reflink', 'copy'];
  }

  objectPath(md5: string): string {
    return path.join(this.dir, 'files', 'md5', md5.slice(0, 2), md5.slice(2));
  }

  async readListing(md5: string): Promise<ListingRow[]> {
    const p = this.objectPath(md5);
    const text = await fs.readFile(p, 'utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new ReprodError('CACHE', `corrupt directory listing ${p}`, { cause });
    }
    if (!isListing(parsed)) throw new ReprodError('CACHE', `corrupt directory listing ${p}`);
    return parsed;
  }

  async has(md5: string): Promise<boolean> {
    if (this.known.has(md5)) return true;
    if (!(await exists(this.objectPath(md5)))) return false;
    if (md5.endsWith('.dir')) {
      const rows = await this.readListing(md5);
      for (const r of rows) if (!(await this.has(r.md5))) return false;
    }
    this.known.add(md5);
    return true;
  }

  /** Adds one file's bytes under `md5` (no-op when present), read-only like DVC's objects. */
  private async addFile(src: string, md5: string): Promise<void> {
    const dst = this.objectPath(md5);
    if (this.known.has(md5) || (await exists(dst))) {
      this.known.add(md5);
      return;
    }
    await fs.mkdir(path.dirname(dst), { recursive: true });
    const tmp = `${dst}.${randomUUID()}.tmp`;
    try {
      await this.copy(src, tmp);
      await fs.chmod(tmp, 0o444);
      await fs.rename(tmp, dst);
    } catch (cause) {
      await fs.rm(tmp, { force: true });
      throw new ReprodError('CACHE', `cannot add ${path.relative(this.root, src)} to the cache`, { cause });
    }
    this.known.add(md5);
  }

  private async copy(src: string, dst: string): Promise<void> {
    const wantsReflink = this.linkTypes.includes('reflink');
    if (wantsReflink) {
      try {
        await fs.copyFile(src, dst, fsc.COPYFILE_FICLONE_FORCE);
        return;
      } catch {
        // the filesystem has no reflinks: fall back to a plain copy, as DVC does
      }
    }
    await fs.copyFile(src, dst);
  }

  async save(relPath: string, result: HashResult): Promise<void> {
    const abs = path.join(this.root, relPath);
    if (result.entries) {
      for (const e of result.entries) await this.addFile(path.join(abs, e.relpath), e.md5);
      const listing = this.objectPath(result.info.md5);
      if (!(await exists(listing))) {
        await fs.mkdir(path.dirname(listing), { recursive: true });
        const tmp = `${listing}.${randomUUID()}.tmp`;
        await fs.writeFile(tmp, dirListingJson(result.entries));
        await fs.chmod(tmp, 0o444);
        await fs.rename(tmp, listing);
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

  /** Materialises one cached file at `dst` with the first link type that works. */
  private async link(md5: string, dst: string, isexec: boolean): Promise<void> {
    const src = this.objectPath(md5);
    await fs.mkdir(path.dirname(dst), { recursive: true });
    await fs.rm(dst, { force: true });
    let lastError: unknown;
    for (const t of this.linkTypes) {
      try {
        if (t === 'hardlink') await fs.link(src, dst);
        else if (t === 'symlink') await fs.symlink(src, dst);
        else {
          await fs.copyFile(src, dst, t === 'reflink' ? fsc.COPYFILE_FICLONE_FORCE : 0);
          await fs.chmod(dst, isexec ? 0o755 : 0o644);
        }
        return;
      } catch (e) {
        lastError = e;
      }
    }
    throw new ReprodError('CACHE', `cannot check out ${path.relative(this.root, dst)} from the cache`, {
      cause: lastError,
    });
  }

  async checkout(relPath: string, md5: string): Promise<CheckoutResult> {
    if (!(await this.has(md5))) {
      throw new ReprodError('CACHE', `'${relPath}' (${md5}) is not in the cache`, {
        remedy: 'Run the stage that produces it, or pull it from a remote.',
      });
    }
    const abs = path.join(this.root, relPath);
    if (md5.endsWith('.dir')) {
      const rows = await this.readListing(md5);
      await fs.rm(abs, { recursive: true, force: true });
      await fs.mkdir(abs, { recursive: true });
      for (const r of rows) await this.link(r.md5, path.join(abs, r.relpath), false);
      return 'restored';
    }
    const st = await fs.stat(this.objectPath(md5));
    await this.link(md5, abs, (st.mode & 0o100) !== 0);
    return 'restored';
  }

  private runDir(key: string): string {
    return path.join(this.dir, 'runs', key.slice(0, 2), key);
  }

  async runCacheEntries(key: string): Promise<string[]> {
    const dir = this.runDir(key);
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
          return { t: st.mtimeMs, text };
        }),
    );
    return withTimes.sort((a, b) => b.t - a.t).map((x) => x.text);
  }

  async writeRunCacheEntry(key: string, value: string, text: string): Promise<void> {
    const dir = this.runDir(key);
    const dst = path.join(dir, value);
    if (await exists(dst)) return;
    await fs.mkdir(dir, { recursive: true });
    const tmp = `${dst}.${randomUUID()}.tmp`;
    await fs.writeFile(tmp, text);
    await fs.rename(tmp, dst);
  }
}
