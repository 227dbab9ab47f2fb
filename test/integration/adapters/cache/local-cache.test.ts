/**
 * The local cache adapter on real files: DVC's layout, read-only objects,
 * and writes that land whole or not at all, through both of its ports
 * (ObjectCache for stages, CacheStore for transfers).
 */
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalCache } from '../../../../src/adapters/cache/local-cache.js';
import { writeFileAtomic } from '../../../../src/adapters/fs/atomic-file.js';
import { ReprodError } from '../../../../src/core/errors.js';
import type { DirEntry } from '../../../../src/core/types.js';
import { dirListingJson } from '../../../../src/hashing/dir-listing.js';
import { objectKey, runKey } from '../../../../src/remote/layout.js';
import { tempDir } from '../../../helpers/workspace.js';

const md5 = (s: string | Uint8Array): string => createHash('md5').update(s).digest('hex');

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((rel) => statSync(path.join(dir, rel)).isFile())
    .sort();
}

const mode = (p: string): number => statSync(p).mode & 0o777;

async function workspace(files: Record<string, string>): Promise<{ root: string; cache: LocalCache } & Disposable> {
  const tmp = tempDir('reprod-cache-');
  for (const [rel, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(tmp.path, rel)), { recursive: true });
    await fs.writeFile(path.join(tmp.path, rel), text);
  }
  return { root: tmp.path, cache: new LocalCache({ root: tmp.path, linkTypes: ['copy'] }), [Symbol.dispose]: () => tmp[Symbol.dispose]() };
}

describe('LocalCache: layout', () => {
  it('stores a file at files/md5/<2 hex>/<30 hex>, read-only, and nothing else', async () => {
    using ws = await workspace({ 'data.txt': 'hello\n' });
    const h = md5('hello\n');
    await ws.cache.save('data.txt', { info: { md5: h, size: 6 } });
    const object = path.join(ws.root, '.dvc', 'cache', 'files', 'md5', h.slice(0, 2), h.slice(2));
    expect(ws.cache.pathOf(objectKey(h))).toBe(object);
    expect(await fs.readFile(object, 'utf8')).toBe('hello\n');
    expect(mode(object)).toBe(0o444);
    expect(filesUnder(ws.cache.dir)).toEqual([path.join('files', 'md5', h.slice(0, 2), h.slice(2))]);
    expect(await ws.cache.has(h)).toBe(true);
  });

  it('stores a directory as its files and DVC\'s .dir listing beside them', async () => {
    using ws = await workspace({ 'd/a': 'A', 'd/sub/b': 'BB' });
    const entries: DirEntry[] = [
      { relpath: 'a', md5: md5('A'), size: 1, isexec: false },
      { relpath: 'sub/b', md5: md5('BB'), size: 2, isexec: false },
    ];
    const listing = dirListingJson(entries);
    const dirOid = `${md5(listing)}.dir`;
    await ws.cache.save('d', { info: { md5: dirOid, size: 3, nfiles: 2 }, entries });
    expect(await fs.readFile(ws.cache.pathOf(objectKey(dirOid)), 'utf8')).toBe(listing);
    expect(mode(ws.cache.pathOf(objectKey(dirOid)))).toBe(0o444);
    // the transfer port sees what the stage port stored
    const sizes = await ws.cache.sizes([objectKey(md5('A')), objectKey(md5('BB')), objectKey(dirOid), objectKey(md5('absent'))]);
    expect([...sizes]).toEqual([
      [objectKey(md5('A')), 1],
      [objectKey(md5('BB')), 2],
      [objectKey(dirOid), listing.length],
    ]);
    const listed: string[] = [];
    for await (const k of ws.cache.list('files/md5/')) listed.push(k);
    expect(listed.sort()).toEqual([objectKey(md5('A')), objectKey(md5('BB')), objectKey(dirOid)].sort());
  });

  it('keeps run-cache entries at runs/<key[0:2]>/<key>/<value>, newest first', async () => {
    using ws = await workspace({});
    const key = 'ab'.padEnd(64, '0');
    const [v1, v2] = ['1'.repeat(64), '2'.repeat(64)];
    await ws.cache.writeRunCacheEntry(key, v1, 'cmd: one\n');
    const first = ws.cache.pathOf(runKey(key, v1));
    expect(first).toBe(path.join(ws.cache.dir, 'runs', 'ab', key, v1));
    await fs.utimes(first, new Date(1_000_000), new Date(1_000_000));
    await ws.cache.writeRunCacheEntry(key, v2, 'cmd: two\n');
    await ws.cache.writeRunCacheEntry(key, v1, 'cmd: changed\n');
    expect(await ws.cache.runCacheEntries(key)).toEqual(['cmd: two\n', 'cmd: one\n']);
    expect(await ws.cache.runCacheEntries('cd'.padEnd(64, '0'))).toEqual([]);
  });
});

describe('LocalCache: atomic writes', () => {
  it('a failed add leaves neither an object nor a temporary file', async () => {
    using ws = await workspace({});
    const h = md5('never there');
    const err = await ws.cache.save('missing.txt', { info: { md5: h, size: 11 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).code).toBe('CACHE');
    expect((err as ReprodError).message).toBe('cannot add missing.txt to the cache');
    expect(filesUnder(ws.cache.dir)).toEqual([]);
    expect(await ws.cache.has(h)).toBe(false);
  });

  it('writes small objects read-only, replacing a present one whole', async () => {
    using ws = await workspace({});
    const key = objectKey(md5('x'));
    expect(await ws.cache.read(key)).toBeNull();
    await ws.cache.write(key, new TextEncoder().encode('first'));
    await ws.cache.write(key, new TextEncoder().encode('second'));
    expect(new TextDecoder().decode((await ws.cache.read(key)) ?? new Uint8Array())).toBe('second');
    expect(mode(ws.cache.pathOf(key))).toBe(0o444);
    expect(filesUnder(ws.cache.dir)).toEqual([path.relative(ws.cache.dir, ws.cache.pathOf(key))]);
  });

  it('adopts a download from a temporary file beside its place, and discards a rejected one', async () => {
    using ws = await workspace({});
    const key = objectKey(md5('downloaded'));
    const temp = ws.cache.tempFor(key);
    expect(path.dirname(temp)).toBe(path.dirname(ws.cache.pathOf(key)));
    expect(temp.endsWith('.tmp')).toBe(true);
    await fs.mkdir(path.dirname(temp), { recursive: true });
    await fs.writeFile(temp, 'downloaded');
    await ws.cache.adopt(temp, key);
    expect(existsSync(temp)).toBe(false);
    expect(await fs.readFile(ws.cache.pathOf(key), 'utf8')).toBe('downloaded');
    expect(mode(ws.cache.pathOf(key))).toBe(0o444);

    const rejected = ws.cache.tempFor(objectKey(md5('corrupt')));
    await fs.mkdir(path.dirname(rejected), { recursive: true });
    await fs.writeFile(rejected, 'tampered');
    await ws.cache.discard(rejected);
    expect(filesUnder(ws.cache.dir)).toEqual([path.relative(ws.cache.dir, ws.cache.pathOf(key))]);
  });

  it('writeFileAtomic keeps the old file when the new one fails half-way, and removes the part written', async () => {
    using tmp = tempDir('reprod-atomic-');
    const dst = path.join(tmp.path, 'sub', 'file');
    await writeFileAtomic(dst, (t) => fs.writeFile(t, 'old'), { mode: 0o444 });
    const err = await writeFileAtomic(dst, async (t) => {
      await fs.writeFile(t, 'half of the n');
      throw new Error('cut off');
    }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('cut off');
    expect(await fs.readFile(dst, 'utf8')).toBe('old');
    expect(mode(dst)).toBe(0o444);
    expect(filesUnder(tmp.path)).toEqual([path.join('sub', 'file')]);
    await writeFileAtomic(dst, (t) => fs.writeFile(t, 'new'), { hidden: true });
    expect(await fs.readFile(dst, 'utf8')).toBe('new');
    expect(filesUnder(tmp.path)).toEqual([path.join('sub', 'file')]);
  });
});

describe('LocalCache: one adapter behind both ports', () => {
  it('forgets what it knew to be present once objects are deleted', async () => {
    using ws = await workspace({ 'd/a': 'A' });
    const entries: DirEntry[] = [{ relpath: 'a', md5: md5('A'), size: 1, isexec: false }];
    const dirOid = `${md5(dirListingJson(entries))}.dir`;
    await ws.cache.save('d', { info: { md5: dirOid, size: 1, nfiles: 1 }, entries });
    expect(await ws.cache.has(dirOid)).toBe(true);
    await ws.cache.delete([objectKey(md5('A'))]);
    expect(await ws.cache.has(dirOid)).toBe(false);
    await expect(ws.cache.checkout('d', dirOid)).rejects.toThrow(/is not in the cache/);
  });

  it('checks out what a transfer wrote, and copies one file of it out', async () => {
    using ws = await workspace({});
    const h = md5('pulled\n');
    await ws.cache.write(objectKey(h), new TextEncoder().encode('pulled\n'));
    expect(await ws.cache.checkout('out/p.txt', h)).toBe('restored');
    expect(await fs.readFile(path.join(ws.root, 'out', 'p.txt'), 'utf8')).toBe('pulled\n');
    await ws.cache.copyOut(objectKey(h), 'other/q.txt');
    expect(await fs.readFile(path.join(ws.root, 'other', 'q.txt'), 'utf8')).toBe('pulled\n');
    expect(mode(path.join(ws.root, 'other', 'q.txt'))).toBe(0o666 & ~process.umask());
  });

  it.each([
    ['reflink,copy', ['reflink', 'copy'] as const],
    ['hardlink', ['hardlink'] as const],
  ])('checks out a directory of nested folders (cache.type %s), again over the last checkout', async (_name, types) => {
    using ws = await workspace({ 'd/a': 'A', 'd/sub/b': 'BB', 'd/sub/deeper/c': 'CCC', 'd/z': 'Z' });
    const cache = new LocalCache({ root: ws.root, linkTypes: [...types] });
    const files = { a: 'A', 'sub/b': 'BB', 'sub/deeper/c': 'CCC', z: 'Z' };
    const entries: DirEntry[] = Object.entries(files).map(([relpath, text]) => ({ relpath, md5: md5(text), size: text.length, isexec: false }));
    const dirOid = `${md5(dirListingJson(entries))}.dir`;
    await cache.save('d', { info: { md5: dirOid, size: 7, nfiles: 4 }, entries });
    for (let round = 0; round < 2; round++) {
      await fs.writeFile(path.join(ws.root, 'd', 'stray'), 'not in the listing');
      expect(await cache.checkout('d', dirOid)).toBe('restored');
      expect(filesUnder(path.join(ws.root, 'd'))).toEqual(Object.keys(files).map((f) => path.join(...f.split('/'))).sort());
      for (const [rel, text] of Object.entries(files)) {
        const at = path.join(ws.root, 'd', rel);
        expect(await fs.readFile(at, 'utf8')).toBe(text);
        const sameInode = statSync(at).ino === statSync(cache.objectPath(md5(text))).ino;
        expect(sameInode, rel).toBe(types[0] === 'hardlink');
      }
    }
  });
});
