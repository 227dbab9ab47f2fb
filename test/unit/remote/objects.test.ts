import { describe, expect, it } from 'vitest';
import { checkListing } from '../../../src/remote/objects.js';

const A = '401b30e3b8b5d629635a5c613cdb7919';
const B = '55ef7578b917b32028f18767310eac72';
const row = (relpath: unknown, md5: unknown = A) => ({ md5, relpath });
const check = (rows: unknown) => checkListing(JSON.stringify(rows));

describe('checkListing: a .dir object, checked before checkout writes from it', () => {
  it("reads DVC's rows, ignoring keys DVC 2 added", () => {
    expect(checkListing(`[{"md5": "${A}", "relpath": "a/x"}, {"isexec": true, "md5": "${B}", "relpath": "b"}]`)).toEqual({
      rows: [
        { md5: A, relpath: 'a/x' },
        { md5: B, relpath: 'b' },
      ],
    });
    expect(checkListing('[]')).toEqual({ rows: [] });
  });

  it.each([
    ['not JSON', 'nope', /^not UTF-8 JSON/],
    ['not a list', '{"md5": "x"}', /^not a JSON list$/],
  ])('refuses %s', (_name, text, why) => {
    const c = checkListing(text);
    expect('problem' in c && c.problem).toMatch(why);
  });

  it('refuses bytes that are not UTF-8', () => {
    const c = checkListing(new Uint8Array([0x5b, 0xff, 0x5d]));
    expect('problem' in c && c.problem).toMatch(/^not UTF-8 JSON/);
  });

  it.each([
    ['a row that is no object', ['x'], 'row 0 is not an object'],
    ['a row without relpath', [{ md5: A }], 'row 0 has no string relpath'],
    ['a row without md5', [{ relpath: 'a' }], "row 0 ('a') has no string md5"],
    ['a relpath that climbs out', [row('ok'), row('../../x')], `row 1 names "../../x": it has a '..' segment`],
    ['a relpath into .git', [row('.git/hooks/post-checkout')], 'row 0 names ".git/hooks/post-checkout": it reaches into .git, which DVC never tracks'],
    ['a relpath into .dvc', [row('.dvc/config')], 'row 0 names ".dvc/config": it reaches into .dvc, which DVC never tracks'],
    ['an absolute relpath', [row('/etc/passwd')], 'row 0 names "/etc/passwd": it is absolute'],
    ['an md5 that is a path', [row('a', '../../etc/hostname')], "row 0 ('a'): '../../etc/hostname' is not an md5: DVC writes 32 lowercase hex digits"],
    ['an md5 in capitals', [row('a', A.toUpperCase())], `row 0 ('a'): '${A.toUpperCase()}' is not an md5: DVC writes 32 lowercase hex digits`],
    ['a nested listing', [row('a', `${A}.dir`)], `row 0 ('a'): '${A}.dir' names a directory listing where a file is meant`],
    ['a path listed twice', [row('a'), row('a', B)], "'a' is listed twice"],
    ['a path that is a file and a folder', [row('a'), row('a/b')], "'a' is listed both as a file and as the folder of 'a/b'"],
  ])('refuses %s, saying which row and why', (_name, rows, why) => {
    expect(check(rows)).toEqual({ problem: why });
  });
});
