import { readFileSync } from 'node:fs';
import { ReprodError } from '../../core/errors.js';
import { isMissing } from '../../core/errno.js';
import type { RevTree } from '../../metrics/rev-tree.js';
import type { TrackedOut } from '../../metrics/tracked-outs.js';
import { normalizeWsPath } from '../../pipeline/paths.js';

interface ListingRow {
  relpath: string;
  md5: string;
}

/**
 * A revision's files as DVC's file system shows them: what git (or the disk)
 * has, and else the outputs dvc.lock records, read from the cache: a file
 * output from its object, a file inside a directory output through the
 * `.dir` listing. An object the cache lacks reads as an absent file.
 */
export class TrackedTree implements RevTree {
  private outs: readonly TrackedOut[] | undefined;
  private readonly listings = new Map<string, ListingRow[] | undefined>();

  constructor(
    private readonly base: RevTree,
    /** The tracked outputs, computed only when a read misses in `base`. */
    private readonly trackedOuts: () => readonly TrackedOut[],
    /** The cache's path of an object. */
    private readonly objectPath: (md5: string) => string,
  ) {}

  get rev(): string {
    return this.base.rev;
  }

  private tracked(): readonly TrackedOut[] {
    this.outs ??= this.trackedOuts();
    return this.outs;
  }

  read(p: string): Uint8Array | undefined {
    const found = this.base.read(p);
    if (found !== undefined) return found;
    const md5 = this.objectOf(p);
    return md5 === undefined ? undefined : this.readObject(md5);
  }

  isDir(p: string): boolean {
    if (this.base.isDir(p)) return true;
    const key = normalizeWsPath(p);
    if (key === undefined) return false;
    return this.tracked().some((o) => o.md5.endsWith('.dir') && (o.path === key || this.filesOf(o).some((f) => f.startsWith(`${key}/`))));
  }

  find(dir: string): string[] {
    const key = normalizeWsPath(dir);
    if (key === undefined) return [];
    const prefix = key === '.' ? '' : `${key}/`;
    const files = new Set(this.base.find(dir));
    for (const o of this.tracked()) {
      for (const f of o.md5.endsWith('.dir') ? this.filesOf(o) : [o.path]) if (f.startsWith(prefix)) files.add(f);
    }
    return [...files].sort();
  }

  /** The object holding a tracked file, if the path is one. */
  private objectOf(p: string): string | undefined {
    const key = normalizeWsPath(p);
    if (key === undefined) return undefined;
    for (const o of this.tracked()) {
      if (o.path === key && !o.md5.endsWith('.dir')) return o.md5;
      if (o.md5.endsWith('.dir') && key.startsWith(`${o.path}/`)) {
        const rel = key.slice(o.path.length + 1);
        const row = this.listing(o.md5)?.find((r) => r.relpath === rel);
        if (row) return row.md5;
      }
    }
    return undefined;
  }

  private filesOf(o: TrackedOut): string[] {
    return (this.listing(o.md5) ?? []).map((r) => `${o.path}/${r.relpath}`);
  }

  private listing(md5: string): ListingRow[] | undefined {
    if (!this.listings.has(md5)) {
      const bytes = this.readObject(md5);
      this.listings.set(md5, bytes === undefined ? undefined : parseListing(Buffer.from(bytes).toString('utf8'), this.objectPath(md5)));
    }
    return this.listings.get(md5);
  }

  private readObject(md5: string): Uint8Array | undefined {
    try {
      return readFileSync(this.objectPath(md5));
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw new ReprodError('CACHE', `cannot read the cache object ${this.objectPath(md5)}`, { cause: e });
    }
  }
}

function parseListing(text: string, file: string): ListingRow[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new ReprodError('CACHE', `corrupt directory listing ${file}`, { cause, remedy: 'Remove the object and run `reprod repro` or `reprod pull` to restore it.' });
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.every((r: unknown) => typeof r === 'object' && r !== null && typeof (r as ListingRow).relpath === 'string' && typeof (r as ListingRow).md5 === 'string');
  if (!ok) throw new ReprodError('CACHE', `corrupt directory listing ${file}`, { remedy: 'Remove the object and run `reprod repro` or `reprod pull` to restore it.' });
  return parsed as ListingRow[];
}
