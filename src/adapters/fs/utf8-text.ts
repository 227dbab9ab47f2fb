import { ReprodError } from '../../core/errors.js';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The text of a file that must be UTF-8. Node's `'utf8'` decoding replaces
 * every invalid byte with U+FFFD, which would then be parsed, hashed, compared
 * and written back as if the file said so; here an invalid byte is an
 * ENCODING error naming `file` (as the user knows it) and the line and
 * column of the first one. A byte-order mark is kept, as `'utf8'` keeps it.
 */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    const at = firstInvalid(bytes);
    const { line, column } = lineAndColumn(bytes, at);
    throw new ReprodError('ENCODING', `not valid UTF-8 (byte 0x${(bytes[at] ?? 0).toString(16).padStart(2, '0')})`, {
      source: { file, line, column },
      cause,
    });
  }
}

/** Offset of the first byte that does not start a well-formed UTF-8 sequence (RFC 3629: no overlongs, no surrogates). */
function firstInvalid(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      const [min, max] = k === 1 ? [lo, hi] : [0x80, 0xbf];
      if (x === undefined || x < min || x > max) return i;
    }
    i += n + 1;
  }
  return b.length;
}

/** 1-based line and column (in characters) of `offset`, in bytes known to be valid UTF-8 before it. */
function lineAndColumn(b: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  for (let i = 0; i < offset; i++) {
    const c = b[i] as number;
    if (c === 0x0a) {
      line++;
      column = 1;
    } else if ((c & 0xc0) !== 0x80) {
      column++;
    }
  }
  return { line, column };
}
