/**
 * A revision's tracked outputs read from a real cache folder: files of a
 * directory output come through its `.dir` listing, which is checked as
 * every listing read from the cache is; an md5 that is a path reads nothing.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalCache } from '../../../../src/adapters/cache/local-cache.js';
import { TrackedTree } from '../../../../src/adapters/cache/tracked-tree.js';
import { ReprodError } from '../../../../src/core/errors.js';
import { HOSTILE_RELPATHS, listingBytes, md5, PATH_MD5, plantListing, putObject } from '../../../helpers/hostile.js';
import { memTree } from '../../../helpers/mem-tree.js';
import { tempDir } from '../../../helpers/workspace.js';

function treeOver(cacheDir: string, outs: { path: string; md5: string }[]): TrackedTree {
  const cache = new LocalCache({ root: path.dirname(cacheDir), cacheDir });
  return new TrackedTree(memTree({ 'dvc.yaml': 'stages: {}\n' }), () => outs, (oid) => cache.objectPath(oid));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ReprodError) return `${e.code}: ${e.message}`;
    throw e;
  }
  return undefined;
}

describe('a revision tree over the cache', () => {
  it('reads a file of a directory output through its listing', () => {
    using cache = tempDir('reprod-cache-');
    putObject(cache.path, md5('1\n'), '1\n');
    const listing = listingBytes([{ md5: md5('1\n'), relpath: 'sub/one.csv' }]);
    const oid = `${md5(listing)}.dir`;
    putObject(cache.path, oid, listing);
    const tree = treeOver(cache.path, [{ path: 'd', md5: oid }]);
    expect(new TextDecoder().decode(tree.read('d/sub/one.csv'))).toBe('1\n');
    expect(tree.find('d')).toEqual(['d/sub/one.csv']);
    expect(tree.isDir('d/sub')).toBe(true);
  });

  it.each(HOSTILE_RELPATHS)('refuses a listing naming %j: OBJECT_INVALID naming the object and the row', (relpath) => {
    using cache = tempDir('reprod-cache-');
    const oid = plantListing(cache.path, relpath);
    const tree = treeOver(cache.path, [{ path: 'd', md5: oid }]);
    const err = codeOf(() => tree.find('d'));
    expect(err).toContain('OBJECT_INVALID: directory listing ');
    expect(err).toContain(path.join(cache.path, 'files', 'md5', oid.slice(0, 2), oid.slice(2)));
    expect(err).toContain(`row 0 names ${JSON.stringify(relpath)}`);
  });

  it('reads nothing for an md5 that is a path', () => {
    using cache = tempDir('reprod-cache-');
    const tree = treeOver(cache.path, [{ path: 'host.txt', md5: PATH_MD5 }]);
    expect(codeOf(() => tree.read('host.txt'))).toMatch(/^OBJECT_INVALID: refusing to address the cache or a remote with '(\.\.\/)+etc\/hostname' is not an md5/);
  });
});
