import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { expectedMd5, isOid, objectKey, oidOfKey, oidProblem, parseRunKey, runDirKey, runKey } from '../../../src/remote/layout.js';

const FILE = 'd41d8cd98f00b204e9800998ecf8427e';
const DIR = '0123456789abcdef0123456789abcdef.dir';
const KEY = `ab${'1'.repeat(62)}`;
const VALUE = 'f'.repeat(64);

describe('DVC 3 cache layout', () => {
  it('puts objects under files/md5/<first 2 hex>/<the other 30>, listings with .dir kept', () => {
    expect(objectKey(FILE)).toBe('files/md5/d4/1d8cd98f00b204e9800998ecf8427e');
    expect(objectKey(DIR)).toBe('files/md5/01/23456789abcdef0123456789abcdef.dir');
    expect(oidOfKey(objectKey(FILE))).toBe(FILE);
    expect(oidOfKey(objectKey(DIR))).toBe(DIR);
  });

  it('names nothing else an object: temporary files, other hashes, other folders', () => {
    expect(oidOfKey(`${objectKey(FILE)}.1234.tmp`)).toBeUndefined();
    expect(oidOfKey('files/md5/d4/1d8cd98f')).toBeUndefined();
    expect(oidOfKey(`files/sha256/d4/${FILE.slice(2)}`)).toBeUndefined();
    expect(isOid(FILE) && isOid(DIR)).toBe(true);
    expect(isOid(FILE.toUpperCase())).toBe(false);
    expect(expectedMd5(DIR)).toBe('0123456789abcdef0123456789abcdef');
  });

  it('keeps run-cache entries under runs/<key[0:2]>/<key>/<value>', () => {
    expect(runDirKey(KEY)).toBe(`runs/ab/${KEY}`);
    expect(runKey(KEY, VALUE)).toBe(`runs/ab/${KEY}/${VALUE}`);
    expect(parseRunKey(runKey(KEY, VALUE))).toEqual({ key: KEY, value: VALUE });
    expect(parseRunKey(`runs/cd/${KEY}/${VALUE}`)).toBeUndefined();
    expect(parseRunKey(`${runKey(KEY, VALUE)}.tmp`)).toBeUndefined();
  });

  it('makes a path from nothing but an oid: anything else is OBJECT_INVALID, and never a key', () => {
    for (const bad of ['../../etc/hostname', '', FILE.toUpperCase(), `${FILE}.DIR`, `${FILE}/x`, FILE.slice(1), `${FILE}0`]) {
      expect(oidProblem(bad), bad).toBeDefined();
      expect(() => objectKey(bad), bad).toThrow(ReprodError);
    }
    expect(() => objectKey('../../etc/hostname')).toThrow("refusing to address the cache or a remote with '../../etc/hostname' is not an md5");
    expect(oidProblem(FILE)).toBeUndefined();
    expect(oidProblem(DIR)).toBeUndefined();
    expect(oidProblem(FILE, 'file')).toBeUndefined();
    expect(oidProblem(DIR, 'file')).toBe(`'${DIR}' names a directory listing where a file is meant`);
  });
});
