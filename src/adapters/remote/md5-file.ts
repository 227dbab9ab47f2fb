import { createHash } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Downloaded } from '../../core/ports.js';

/**
 * Writes `source` to `dest` (creating its folder), hashing the bytes on the
 * way: one pass serves both the download and its verification.
 */
export async function writeHashed(source: Readable, dest: string, opts: { onBytes?(n: number): void; signal?: AbortSignal } = {}): Promise<Downloaded> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const hash = createHash('md5');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      size += chunk.length;
      opts.onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
  await pipeline(source, tap, createWriteStream(dest, { mode: 0o644 }), opts.signal ? { signal: opts.signal } : {});
  return { md5: hash.digest('hex'), size };
}

/** Writes `bytes` (read whole) to `dest` (creating its folder) and hashes them: a small object in three calls, not a stream. */
export async function writeBytesHashed(bytes: Uint8Array, dest: string, opts: { onBytes?(n: number): void; signal?: AbortSignal } = {}): Promise<Downloaded> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  opts.signal?.throwIfAborted();
  await fs.writeFile(dest, bytes, { mode: 0o644, ...(opts.signal ? { signal: opts.signal } : {}) });
  opts.onBytes?.(bytes.length);
  return { md5: createHash('md5').update(bytes).digest('hex'), size: bytes.length };
}
