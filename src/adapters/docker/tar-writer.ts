/**
 * The few pieces of a POSIX (ustar + pax) tar stream that a build context
 * needs: regular files, folders and symlinks, owned by root, names of any
 * length. The engine reads the stream; nothing else does.
 */

const BLOCK = 512;

export type TarEntryType = 'file' | 'dir' | 'symlink';

export interface TarEntry {
  /** Relative path with `/` separators; folders without a trailing `/`. */
  name: string;
  type: TarEntryType;
  /** Permission bits (0o7777). */
  mode: number;
  /** Bytes of a file; 0 otherwise. */
  size: number;
  mtimeSeconds: number;
  linkTarget?: string;
}

const TYPEFLAG: Record<TarEntryType, string> = { file: '0', dir: '5', symlink: '2' };

function octal(n: number, width: number): string {
  return `${Math.floor(n).toString(8).padStart(width - 1, '0')}\0`;
}

function rawHeader(name: string, typeflag: string, mode: number, size: number, mtime: number, linkname: string): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 8, 'ascii');
  h.write(octal(0, 8), 108, 8, 'ascii');
  h.write(octal(0, 8), 116, 8, 'ascii');
  h.write(octal(size, 12), 124, 12, 'ascii');
  h.write(octal(mtime, 12), 136, 12, 'ascii');
  h.write('        ', 148, 8, 'ascii');
  h.write(typeflag, 156, 1, 'ascii');
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 8, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return h;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest, 0);
}

/** One pax record: `<len> <key>=<value>\n`, where len counts the whole record. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyLen = Buffer.byteLength(body);
  let len = bodyLen + 1;
  while (String(len).length + bodyLen !== len) len = String(len).length + bodyLen;
  return `${len}${body}`;
}

const MAX_SIZE = 8 ** 11 - 1;

/** The header block(s) of an entry; a file's bytes and {@link padding} follow. */
export function tarHeader(e: TarEntry): Buffer {
  if (e.size > MAX_SIZE) throw new RangeError(`${e.name}: files over 8 GiB do not belong in a build context`);
  const name = e.type === 'dir' ? `${e.name}/` : e.name;
  const link = e.linkTarget ?? '';
  let pax = '';
  if (Buffer.byteLength(name) > 100) pax += paxRecord('path', name);
  if (Buffer.byteLength(link) > 100) pax += paxRecord('linkpath', link);
  const main = rawHeader(name, TYPEFLAG[e.type], e.mode, e.type === 'file' ? e.size : 0, e.mtimeSeconds, link);
  if (pax === '') return main;
  const data = Buffer.from(pax, 'utf8');
  const paxHeader = rawHeader('PaxHeader', 'x', 0o644, data.length, e.mtimeSeconds, '');
  return Buffer.concat([paxHeader, data, padding(data.length), main]);
}

export function tarPadding(size: number): Buffer {
  return padding(size);
}

/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK, 0);
