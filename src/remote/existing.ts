import { mapLimit } from './pool.js';

/** One page of a listing of a folder of the layout: keys (in order) with their sizes, and whether more pages follow. */
export interface ListingPage {
  sizes: Map<string, number>;
  more: boolean;
}

export interface ExistingSource {
  /** The object's size, or undefined when there is none (one request). */
  head(key: string): Promise<number | undefined>;
  /** The keys under `prefix` (a folder of the layout, or ''), in lexicographic order, page by page. */
  pages(prefix: string): AsyncIterable<ListingPage>;
}

/** Up to this many keys are checked one request each; more are listed. */
export const HEAD_ONLY = 16;

/**
 * Which of `keys` a listable store holds, with sizes, for stores that list
 * in order (S3, GCS). A few keys: one request each. Many: list their folder
 * of the layout, up to a page budget proportional to the keys asked about;
 * since listings come sorted, a key before the last one listed and not seen
 * is absent, and only the keys after it (a large remote) fall back to one
 * request each.
 */
export async function existingByListing(source: ExistingSource, keys: readonly string[], jobs: number): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const headAll = async (ks: readonly string[]) => {
    const hits = await mapLimit(ks, jobs, (k) => source.head(k));
    ks.forEach((k, i) => {
      const size = hits[i];
      if (size !== undefined) found.set(k, size);
    });
  };
  if (keys.length <= HEAD_ONLY) {
    await headAll(keys);
    return found;
  }
  const groups = new Map<string, string[]>();
  for (const k of keys) {
    const prefix = k.startsWith('files/md5/') ? 'files/md5/' : k.startsWith('runs/') ? 'runs/' : '';
    groups.set(prefix, [...(groups.get(prefix) ?? []), k]);
  }
  for (const [prefix, ks] of groups) {
    const wanted = new Set(ks);
    const budget = Math.ceil(ks.length / 200) + 1;
    let pages = 0;
    let last: string | undefined;
    let complete = false;
    for await (const page of source.pages(prefix)) {
      for (const [k, size] of page.sizes) if (wanted.has(k)) found.set(k, size);
      last = [...page.sizes.keys()].at(-1) ?? last;
      pages++;
      if (!page.more) {
        complete = true;
        break;
      }
      if (pages >= budget) break;
    }
    if (!complete) await headAll(ks.filter((k) => last === undefined || k > last));
  }
  return found;
}
