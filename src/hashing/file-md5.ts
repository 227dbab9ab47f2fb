import type { Hash } from 'node:crypto';
import { createHash, nodeCrypto } from '../core/crypto.js';
import { closeSync, fstatSync, openSync, read, readSync, type BigIntStats } from 'node:fs';

/**
 * Raw md5 of a file's bytes (DVC 3's `hash: md5`: no line-ending
 * normalisation), together with the stat of the very descriptor that was read,
 * so that the state cache keys the digest by the file it came from and not by
 * a later stat that may see a newer file.
 */
export interface FileDigest {
  md5: string;
  size: number;
  /** Decimal text of the inode number (exact; the state cache compares and stores it as text). */
  ino: string;
  /** Decimal text of the modification time in nanoseconds (exact). */
  mtimeNs: string;
  mode: number;
}

/** Files up to this size are read with one read call into a scratch buffer. */
export const SMALL_FILE_BYTES = 1 << 20;
/** Larger files stream through buffers of this size. */
export const CHUNK_BYTES = 4 << 20;

/** A reusable buffer for {@link md5FileSync}; one per thread, never shared by concurrent calls. */
export function scratchBuffer(): Buffer {
  return Buffer.allocUnsafe(SMALL_FILE_BYTES);
}

/** crypto.hash (Node 20.12) skips the Hash object, measurably faster for many small files. */
function md5Of(bytes: Buffer): string {
  return nodeCrypto().hash('md5', bytes, 'hex');
}

/**
 * Hashes a file synchronously; `scratch` (at least {@link SMALL_FILE_BYTES})
 * is reused across calls. Symlinks are followed. Errors are Node's (ENOENT,
 * EACCES, EISDIR...).
 */
export function md5FileSync(path: string, scratch: Buffer): FileDigest {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd, { bigint: true });
    const size = Number(st.size);
    let md5: string;
    if (size < scratch.length) {
      md5 = hashSmallSync(fd, scratch, size);
    } else {
      const h = createHash('md5');
      streamRestSync(fd, scratch, h);
      md5 = h.digest('hex');
    }
    return digestOf(md5, st);
  } finally {
    closeSync(fd);
  }
}

/**
 * Hashes a file; small files (the common case in big directories) the same
 * way as {@link md5FileSync}, large ones without blocking the event loop for
 * longer than one chunk: the next chunk is read on libuv's pool while the
 * current one is hashed, so reading adds next to nothing to md5 itself.
 */
export async function md5File(path: string, scratch: Buffer, onRead?: (bytes: number) => void): Promise<FileDigest> {
  const fd = openSync(path, 'r');
  let pending: Promise<number> | undefined;
  try {
    const st = fstatSync(fd, { bigint: true });
    if (Number(st.size) < scratch.length) {
      const small = digestOf(hashSmallSync(fd, scratch, Number(st.size)), st);
      onRead?.(small.size);
      return small;
    }
    const bufs = [Buffer.allocUnsafe(CHUNK_BYTES), Buffer.allocUnsafe(CHUNK_BYTES)] as const;
    const h = createHash('md5');
    let which = 0;
    pending = readAsync(fd, bufs[0]);
    for (;;) {
      const n = await pending;
      pending = undefined;
      if (n === 0) break;
      const current = bufs[which] as Buffer;
      which ^= 1;
      pending = readAsync(fd, bufs[which] as Buffer);
      h.update(n === current.length ? current : current.subarray(0, n));
      onRead?.(n);
    }
    return digestOf(h.digest('hex'), st);
  } finally {
    // A read still in flight when hashing failed must finish before its fd is closed;
    // its outcome no longer matters because the first error is already on its way up.
    if (pending) await pending.then(ignoreOutcome, ignoreOutcome);
    closeSync(fd);
  }
}

function ignoreOutcome(): void {}

function digestOf(md5: string, st: BigIntStats): FileDigest {
  return { md5, size: Number(st.size), ino: String(st.ino), mtimeNs: String(st.mtimeNs), mode: Number(st.mode) };
}

/**
 * The md5 of a file that looked small. Reading stops at the size the stat
 * gave, without the extra read that would only confirm EOF (that read is one
 * syscall in five per small file). A file written to meanwhile is caught by
 * its changed stamp on the next pass.
 */
function hashSmallSync(fd: number, scratch: Buffer, size: number): string {
  let got = 0;
  while (got < size) {
    const n = readSync(fd, scratch, got, scratch.length - got, null);
    if (n === 0) break;
    got += n;
  }
  if (got < scratch.length) return md5Of(scratch.subarray(0, got));
  // It grew past the scratch buffer since the stat: stream the rest.
  const h = createHash('md5').update(scratch);
  streamRestSync(fd, scratch, h);
  return h.digest('hex');
}

function streamRestSync(fd: number, buf: Buffer, h: Hash): void {
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, null);
    if (n === 0) return;
    h.update(n === buf.length ? buf : buf.subarray(0, n));
  }
}

function readAsync(fd: number, buf: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    read(fd, buf, 0, buf.length, null, (err, n) => (err ? reject(err) : resolve(n)));
  });
}
