import { describe, expect, it } from 'vitest';
import { existingByListing, type ListingPage } from '../../../src/remote/existing.js';

/** A sorted store of `files/md5/...` keys listed `perPage` at a time, counting requests. */
function store(keys: string[], perPage: number) {
  const sorted = [...keys].sort();
  const calls = { heads: [] as string[], pages: 0 };
  return {
    calls,
    source: {
      head: async (k: string) => {
        calls.heads.push(k);
        return sorted.includes(k) ? 1 : undefined;
      },
      pages: async function* (prefix: string): AsyncIterable<ListingPage> {
        const under = sorted.filter((k) => k.startsWith(prefix));
        for (let i = 0; i < under.length || i === 0; i += perPage) {
          calls.pages++;
          yield { sizes: new Map(under.slice(i, i + perPage).map((k) => [k, 1])), more: i + perPage < under.length };
        }
      },
    },
  };
}

const key = (i: number) => `files/md5/${i.toString(16).padStart(2, '0')}/${'0'.repeat(30)}`;

describe('existingByListing', () => {
  it('a few keys: one request each, no listing', async () => {
    const s = store([key(1), key(2)], 10);
    expect(await existingByListing(s.source, [key(1), key(3)], 2)).toEqual(new Map([[key(1), 1]]));
    expect(s.calls).toEqual({ heads: [key(1), key(3)], pages: 0 });
  });

  it('many keys: the listing answers them; past the page budget, only keys after the last listed are asked one by one', async () => {
    const all = Array.from({ length: 250 }, (_, i) => key(i));
    const wanted = [...all.filter((_, i) => i % 10 === 0), key(300), key(301)];
    const s = store(all, 50);
    const found = await existingByListing(s.source, wanted, 4);
    expect([...found.keys()].sort()).toEqual(all.filter((_, i) => i % 10 === 0).sort());
    // 27 keys: a budget of two pages (100 keys listed), then a request for each wanted key after the last listed
    expect(s.calls.pages).toBe(2);
    expect(s.calls.heads.sort()).toEqual(wanted.filter((k) => k > (all[99] as string)).sort());
    // a complete listing needs no single requests at all
    const small = store(all.slice(0, 40), 50);
    expect((await existingByListing(small.source, wanted, 4)).size).toBe(4);
    expect(small.calls.heads).toEqual([]);
  });
});
