/**
 * The local cache adapter given what it must not trust, on real files: a
 * listing that names paths outside its directory, md5s that are paths,
 * run-cache entries that record them, and workspace paths under a symlink
 * that leaves the workspace. Each is refused before anything is written.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalCache } from '../../../../src/adapters/cache/local-cache.js';
import { ReprodError } from '../../../../src/core/errors.js';
import { objectKey, runKey } from '../../../../src/remote/layout.js';
import { hostileWorkspace, md5, PATH_MD5, plantListing, snapshot, write } from '../../../helpers/hostile.js';

async function refusal(p: Promise<unknown>): Promise<ReprodError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ReprodError);
  return e as ReprodError;
}

describe('LocalCache refuses what it cannot trust', () => {
  it('a listing naming ../../x: has() and checkout() throw OBJECT_INVALID, and nothing is written', async () => {
    using h = hostileWorkspace();
    const cache = new LocalCache({ root: h.ws, linkTypes: ['copy'] });
    const oid = plantListing(cache.dir, '../../x');
    const before = { ...h.untouchable(), ws: snapshot(h.ws) };
    const err = await refusal(cache.has(oid));
    expect(err.code).toBe('OBJECT_INVALID');
    expect(err.message).toContain(`.dvc/cache/${objectKey(oid)} (${oid}) is not one DVC writes: row 0 names "../../x"`);
    expect((await refusal(cache.checkout('data', oid))).code).toBe('OBJECT_INVALID');
    expect({ ...h.untouchable(), ws: snapshot(h.ws) }).toEqual(before);
  });

  it('an md5 that is a path: has() is false, checkout() throws, and no path is made from it', async () => {
    using h = hostileWorkspace();
    const cache = new LocalCache({ root: h.ws, linkTypes: ['copy'] });
    expect(await cache.has(PATH_MD5)).toBe(false);
    const err = await refusal(cache.checkout('host.txt', PATH_MD5));
    expect(err.code).toBe('OBJECT_INVALID');
    expect(err.message).toBe(`cannot check out 'host.txt': '${PATH_MD5}' is not an md5: DVC writes 32 lowercase hex digits (with .dir for a directory)`);
    expect(() => cache.pathOf(objectKey(PATH_MD5))).toThrow(ReprodError);
  });

  it('a run-cache entry recording a path as an md5 is refused, naming the entry', async () => {
    using h = hostileWorkspace();
    const cache = new LocalCache({ root: h.ws, linkTypes: ['copy'] });
    const key = 'ab'.repeat(32);
    write(cache.dir, { [runKey(key, 'f'.repeat(64))]: `cmd: x\nouts:\n- path: o\n  hash: md5\n  md5: ${PATH_MD5}\n  size: 1\n` });
    const err = await refusal(cache.runCacheEntries(key));
    expect(err.code).toBe('OBJECT_INVALID');
    expect(err.message).toBe(`run-cache entry .dvc/cache/runs/ab/${key}/${'f'.repeat(64)}: output 'o': '${PATH_MD5}' is not an md5: DVC writes 32 lowercase hex digits (with .dir for a directory)`);
  });

  it('never checks out, copies out or saves through a folder that leads out of the workspace', async () => {
    using h = hostileWorkspace();
    const cache = new LocalCache({ root: h.ws, linkTypes: ['copy'] });
    const outside = path.join(h.outer, 'elsewhere');
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'x'), 'precious\n');
    mkdirSync(path.join(h.ws, 'data'));
    symlinkSync(outside, path.join(h.ws, 'data', 'link'));
    const content = md5('new\n');
    write(cache.dir, { [objectKey(content)]: 'new\n' });
    const before = snapshot(outside);

    expect((await refusal(cache.checkout('data/link/x', content))).code).toBe('PATH_OUTSIDE');
    expect((await refusal(cache.copyOut(objectKey(content), 'data/link/x'))).code).toBe('PATH_OUTSIDE');
    expect((await refusal(cache.save('data/link/x', { info: { md5: md5('precious\n'), size: 9 } }))).code).toBe('PATH_OUTSIDE');
    expect(readFileSync(path.join(outside, 'x'), 'utf8')).toBe('precious\n');
    expect(snapshot(outside)).toEqual(before);
  });
});
