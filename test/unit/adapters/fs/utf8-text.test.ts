import { describe, expect, it } from 'vitest';
import { decodeUtf8 } from '../../../../src/adapters/fs/utf8-text.js';
import { thrown } from '../../../helpers/thrown.js';

const bytes = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

describe('decodeUtf8', () => {
  it('decodes UTF-8, multi-byte characters and a byte-order mark kept as they are', () => {
    expect(decodeUtf8(bytes('café ✓ 𝄞\n'), 'f')).toBe('café ✓ 𝄞\n');
    expect(decodeUtf8(bytes([0xef, 0xbb, 0xbf], 'a: 1\n'), 'f')).toBe('\ufeffa: 1\n');
    expect(decodeUtf8(bytes(''), 'f')).toBe('');
  });

  it('refuses bytes that are not UTF-8, naming the file, the line and the column of the first', () => {
    const cases: [Buffer, number, number, string][] = [
      [bytes('ok\n# caf', [0xe9], '\n'), 2, 6, '0xe9'], // Latin-1 é
      [bytes([0xff, 0xfe], 'a'), 1, 1, '0xff'], // a UTF-16 byte-order mark
      [bytes('x: ', [0xc3]), 1, 4, '0xc3'], // cut short at the end
      [bytes('a\nb\n✓ ', [0xe2, 0x9c], 'z'), 3, 3, '0xe2'], // cut short before another character
      [bytes('é\n', [0xed, 0xa0, 0x80]), 2, 1, '0xed'], // a UTF-16 surrogate
      [bytes([0xc0, 0xaf]), 1, 1, '0xc0'], // an overlong encoding
      [bytes('ab', [0x80]), 1, 3, '0x80'], // a lone continuation byte
    ];
    for (const [b, line, column, byte] of cases) {
      const e = thrown(() => decodeUtf8(b, 'params.yaml'));
      expect(e.code).toBe('ENCODING');
      expect(e.source).toEqual({ file: 'params.yaml', line, column });
      expect(e.message).toBe(`not valid UTF-8 (byte ${byte})`);
      expect(e.remedy).toMatch(/UTF-8/);
    }
  });

  it('counts columns in characters, as editors do', () => {
    expect(thrown(() => decodeUtf8(bytes('✓✓', [0xff]), 'f')).source?.column).toBe(3);
  });
});
