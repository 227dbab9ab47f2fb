import { describe, expect, it } from 'vitest';
import { formatDvcConfig, parseDvcConfig } from '../../../src/core/dvc-config.js';
import { quoteConfigObj, unquoteConfigObj } from '../../../src/core/configobj.js';
import { ReprodError } from '../../../src/core/errors.js';

describe("configobj's quoting, as DVC's config files get it", () => {
  it.each([
    ['s3://b/p', 's3://b/p'],
    ['', '""'],
    ['reflink,copy', '"reflink,copy"'],
    [' lead', '" lead"'],
    ['a#b', '"a#b"'],
    ['say "hi"', `'say "hi"'`],
    [`it's`, `it's`],
    [`'x`, `"'x"`],
    [`it's "x" ok`, `"""it's "x" ok"""`],
  ])('writes %j as %s, and reads it back', (value, written) => {
    expect(quoteConfigObj(value, true)).toBe(written);
    expect(unquoteConfigObj(written)).toBe(value);
  });

  it('quotes a section name that has quotes in it, as `remote "x"`', () => {
    expect(quoteConfigObj('remote "store"', false)).toBe(`'remote "store"'`);
    expect(quoteConfigObj('core', false)).toBe('core');
  });

  it('refuses what configobj cannot write: a line break, or both quotes in a key', () => {
    expect(() => quoteConfigObj('a\nb', true)).toThrow(ReprodError);
    expect(() => quoteConfigObj(`k'"`, false)).toThrow(/cannot be written/);
  });

  it('reads an inline comment off a bare value, as configobj does, and keeps a quoted #', () => {
    expect(unquoteConfigObj('s3://b   # the bucket')).toBe('s3://b');
    expect(unquoteConfigObj('"a # b"  # note')).toBe('a # b');
    expect(unquoteConfigObj('"open')).toBeUndefined();
  });

  it('writes a config as `dvc remote add` does: 4-space keys, no blank lines, one final newline', () => {
    const cfg = parseDvcConfig(`[core]\n  remote = store\n\n['remote "store"']\nurl = s3://b/p\n`, '.dvc/config');
    expect(formatDvcConfig(cfg)).toBe(`[core]\n    remote = store\n['remote "store"']\n    url = s3://b/p\n`);
    expect(formatDvcConfig(new Map())).toBe('\n');
  });

  it('names the file, line and key of an unclosed quote, without echoing the value', () => {
    let err: unknown;
    try {
      parseDvcConfig(`['remote "s"']\n    password = "hunter2\n`, '.dvc/config.local');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).format()).toMatch(/^\.dvc\/config\.local:2: password: /);
    expect((err as ReprodError).format()).not.toContain('hunter2');
  });
});
