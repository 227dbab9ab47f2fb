import { describe, expect, it } from 'vitest';
import { outOidErrors, parseLockfile } from '../../../src/lock/lockfile.js';

const lockWith = (md5: string) =>
  `schema: '2.0'\nstages:\n  s:\n    cmd: x\n    deps:\n    - path: in\n      hash: md5\n      md5: not-checked-for-deps\n      size: 1\n    outs:\n    - path: ok\n      hash: md5\n      md5: 401b30e3b8b5d629635a5c613cdb7919\n      size: 1\n    - path: o\n      hash: md5\n      md5: ${md5}\n      size: 1\n`;

describe('outOidErrors: md5s of dvc.lock outputs that cannot name an object', () => {
  it('accepts the md5s DVC writes, and outputs with none', () => {
    for (const md5 of ['55ef7578b917b32028f18767310eac72', '0763696a0ee503cf7daa85645d570297.dir', "''"]) {
      const text = lockWith(md5);
      expect(outOidErrors(parseLockfile(text), text)).toEqual([]);
    }
  });

  it.each(['../../etc/hostname', 'ABCDEF0123456789ABCDEF0123456789', 'abc', '55ef7578b917b32028f18767310eac72/../../x'])('names the file, key and line of %j', (md5) => {
    const text = lockWith(md5);
    const errors = outOidErrors(parseLockfile(text), text, 'sub/dvc.lock');
    expect(errors.map((e) => [e.code, e.location])).toEqual([['OBJECT_INVALID', 'sub/dvc.lock:17: stages.s.outs[1].md5']]);
    expect(errors[0]?.message).toBe(`stage 's': output 'o': '${md5}' is not an md5: DVC writes 32 lowercase hex digits (with .dir for a directory); no cache or remote path is made from it`);
  });
});
