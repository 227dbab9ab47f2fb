import { describe, expect, it } from 'vitest';
import type { DirEntry } from '../../../src/core/types.js';
import { pyJsonString, pyStrCompare as compareCodePoints } from '../../../src/core/pyvalue.js';
import { dirHash, dirHashInfo, dirListingJson, sortEntries } from '../../../src/hashing/dir-listing.js';
import { parsePatterns } from '../../../src/hashing/dvc-ignore.js';

const EMPTY_MD5 = 'd41d8cd98f00b204e9800998ecf8427e';

function rows(list: [relpath: string, md5: string, size: number][]): DirEntry[] {
  return list.map(([relpath, md5, size]) => ({ relpath, md5, size, isexec: false }));
}

describe('dirListingJson', () => {
  // b-directories, out/tree: the listing DVC 3.64 cached as 1c4d8e91064ac8e317dbc373b1777677.dir
  const outTree = rows([
    ['with space.txt', 'f945ece6b359adf187927f1b8063610f', 6],
    ['sub/deeper/c.txt', '29b6762dff0de6442291db07cfa1b8ba', 7],
    ['sub/b.txt', '7aa48be7309b371ea218740ec2777e1e', 6],
    ['sub-file.txt', '065602f439317a9eb95215012a00e86d', 24],
    ['run.sh', '1877f028191c67b7f577422b8fbe4f2c', 19],
    ['made/empty-out.txt', EMPTY_MD5, 0],
    ['empty.txt', EMPTY_MD5, 0],
    ['crlf.txt', 'c6242222cf6ccdb15a43e0e5b1a08810', 14],
    ['café.txt', '9d53135f39f58186a35830ea0f58a661', 8],
    ['binary.bin', '8c3ac8725a719ca05b7b7153467ec41f', 11],
    ['a.txt', '9f9f90dbe3e5ee1218c86b8839db1995', 6],
    ['B.txt', 'a3fa80f9f8d668aa02f9f39debce2e9a', 6],
  ]);

  it('writes the bytes DVC wrote for b-directories out/tree', () => {
    expect(dirListingJson(outTree)).toBe(
      '[{"md5": "a3fa80f9f8d668aa02f9f39debce2e9a", "relpath": "B.txt"}, {"md5": "9f9f90dbe3e5ee1218c86b8839db1995", "relpath": "a.txt"}, ' +
        '{"md5": "8c3ac8725a719ca05b7b7153467ec41f", "relpath": "binary.bin"}, {"md5": "9d53135f39f58186a35830ea0f58a661", "relpath": "caf\\u00e9.txt"}, ' +
        '{"md5": "c6242222cf6ccdb15a43e0e5b1a08810", "relpath": "crlf.txt"}, {"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "empty.txt"}, ' +
        '{"md5": "d41d8cd98f00b204e9800998ecf8427e", "relpath": "made/empty-out.txt"}, {"md5": "1877f028191c67b7f577422b8fbe4f2c", "relpath": "run.sh"}, ' +
        '{"md5": "065602f439317a9eb95215012a00e86d", "relpath": "sub-file.txt"}, {"md5": "7aa48be7309b371ea218740ec2777e1e", "relpath": "sub/b.txt"}, ' +
        '{"md5": "29b6762dff0de6442291db07cfa1b8ba", "relpath": "sub/deeper/c.txt"}, {"md5": "f945ece6b359adf187927f1b8063610f", "relpath": "with space.txt"}]',
    );
    expect(dirHashInfo(outTree)).toEqual({ md5: '1c4d8e91064ac8e317dbc373b1777677.dir', size: 107, nfiles: 12 });
  });

  it('ignores the exec bit and keeps the input untouched', () => {
    const withExec = outTree.map((e) => ({ ...e, isexec: e.relpath === 'run.sh' || e.relpath === 'a.txt' }));
    const before = withExec.map((e) => e.relpath);
    expect(dirHashInfo(withExec)).toEqual(dirHashInfo(outTree));
    expect(withExec.map((e) => e.relpath)).toEqual(before);
  });

  it('matches the i-cmd-list and z-remote-push-pull listings', () => {
    expect(
      dirHashInfo(
        rows([
          ['var2.txt', 'e8e946a27402551220735c00a6929d2b', 10],
          ['var1.txt', '3cf883bf3b93697e7f45b67a96e6527c', 23],
          ['sorted.txt', '40c53c58fdafacc83cfff6ee3d2f6d69', 6],
          ['count.txt', 'e8ad23f228625bc07ef7c86b0a592aa3', 8],
        ]),
      ),
    ).toEqual({ md5: '72efdffc8b7cf67350facc4550a39264.dir', size: 47, nfiles: 4 });
    expect(
      dirHashInfo(
        rows([
          ['y.txt', '009520053b00386d1173f3988c55d192', 2],
          ['x.txt', '401b30e3b8b5d629635a5c613cdb7919', 2],
        ]),
      ),
    ).toEqual({ md5: '0763696a0ee503cf7daa85645d570297.dir', size: 4, nfiles: 2 });
    expect(dirHashInfo(rows([['x.txt', '401b30e3b8b5d629635a5c613cdb7919', 2]]))).toEqual({
      md5: 'a09178cb203f55e06a822ebae9679cb0.dir',
      size: 2,
      nfiles: 1,
    });
  });

  it('hashes an empty directory as the listing []', () => {
    expect(dirListingJson([])).toBe('[]');
    expect(dirHashInfo([])).toEqual({ md5: 'd751713988987e9331980363e24189ce.dir', size: 0, nfiles: 0 });
  });

  it('sorts by code point and escapes like Python json.dumps (expected bytes from CPython 3.11)', () => {
    const names = ['\uff01.txt', '\u{1F600}.txt', 'z.txt', 'é.txt', 'A.txt', 'a/b.txt', 'a-b.txt', 'a.txt', 'q"uote\\back\ttab\x01ctl\x7fdel.txt'];
    const { listing, info, sorted } = dirHash(rows(names.map((n) => [n, EMPTY_MD5, 0])));
    const row = (rel: string): string => `{"md5": "${EMPTY_MD5}", "relpath": "${rel}"}`;
    expect(listing).toBe(
      `[${[
        'A.txt',
        'a-b.txt',
        'a.txt',
        'a/b.txt',
        'q\\"uote\\\\back\\ttab\\u0001ctl\\u007fdel.txt',
        'z.txt',
        '\\u00e9.txt',
        '\\uff01.txt',
        '\\ud83d\\ude00.txt',
      ]
        .map(row)
        .join(', ')}]`,
    );
    expect(info.md5).toBe('aefaf37486f6ef6219d7910763bc2d27.dir');
    expect(sorted.map((e) => e.relpath).slice(-2)).toEqual(['\uff01.txt', '\u{1F600}.txt']);
  });
});

describe('compareCodePoints', () => {
  it('puts U+FF01 before an astral character, unlike UTF-16 unit order', () => {
    expect('\u{1F600}' < '\uff01').toBe(true); // what JS's own comparison says
    expect(compareCodePoints('\uff01', '\u{1F600}')).toBeLessThan(0);
    expect(compareCodePoints('\u{1F600}', '\uff01')).toBeGreaterThan(0);
  });

  it('orders prefixes first and agrees with plain comparison on BMP text', () => {
    expect(compareCodePoints('sub', 'sub-file')).toBeLessThan(0);
    expect(compareCodePoints('sub-file.txt', 'sub/b.txt')).toBeLessThan(0);
    expect(compareCodePoints('B', 'a')).toBeLessThan(0);
    expect(compareCodePoints('é', 'é')).toBe(0);
    expect(compareCodePoints('\u{1F600}a', '\u{1F600}b')).toBeLessThan(0);
    expect(compareCodePoints('\u{1F601}', '\u{1F600}')).toBeGreaterThan(0);
  });

  it('drives sortEntries whenever astral or private-use characters occur', () => {
    const sorted = sortEntries([{ relpath: '\u{10000}' }, { relpath: '\ue000' }, { relpath: 'a' }]);
    expect(sorted.map((e) => e.relpath)).toEqual(['a', '\ue000', '\u{10000}']);
  });
});

describe('pyJsonString', () => {
  it('escapes what ensure_ascii escapes, with lowercase hex', () => {
    expect(pyJsonString('plain name.txt')).toBe('"plain name.txt"');
    expect(pyJsonString('café \u{1F600} \u2028')).toBe('"caf\\u00e9 \\ud83d\\ude00 \\u2028"');
    expect(pyJsonString('\b\f\n\r\t\x00\x1f')).toBe('"\\b\\f\\n\\r\\t\\u0000\\u001f"');
    expect(pyJsonString('"\\/')).toBe('"\\"\\\\/"');
  });
});

describe('parsePatterns', () => {
  it('keeps lines as DVC reads them: stripped, without blanks and comments, any newline style', () => {
    expect(parsePatterns('# comment\n*.tmp\r\n\n  spaced/  \r!keep.tmp\n   # indented comment\n')).toEqual(['*.tmp', 'spaced/', '!keep.tmp']);
    expect(parsePatterns('')).toEqual([]);
  });
});
