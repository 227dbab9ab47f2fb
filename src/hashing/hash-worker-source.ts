import { CHUNK_BYTES, SMALL_FILE_BYTES } from './file-md5.js';

/**
 * The program each hashing worker runs, as CommonJS source for
 * `new Worker(source, { eval: true })`.
 *
 * Why source text and not a module file: a worker loads its file with plain
 * Node, outside whatever compiled the caller (tsx, vitest, tsc's dist/), and
 * plain Node cannot load our `.ts`. Text runs the same under all three.
 *
 * It must stay equivalent to `md5FileSync` in file-md5.ts (same reads, same
 * digest, same stat of the read descriptor); test/integration/hashing/hash-pool
 * checks that both give identical results.
 *
 * Protocol: it says `{ ready: true }` once started, then answers each
 * `{ paths }` with `{ out }`, where `out` holds 5 slots per path:
 * `md5, size, ino, mtimeNs, mode` (ino and mtimeNs as decimal text), or
 * `null, 0, errorCode, errorMessage, 0` when that file failed.
 */
export const HASH_WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const SMALL = ${SMALL_FILE_BYTES};
const CHUNK = ${CHUNK_BYTES};
const oneShot = typeof crypto.hash === 'function';
const scratch = Buffer.allocUnsafe(SMALL);
let chunk = null;

function rest(fd, h) {
  if (chunk === null) chunk = Buffer.allocUnsafe(CHUNK);
  for (;;) {
    const n = fs.readSync(fd, chunk, 0, CHUNK, null);
    if (n === 0) return;
    h.update(n === CHUNK ? chunk : chunk.subarray(0, n));
  }
}

function hashOne(path, out) {
  const fd = fs.openSync(path, 'r');
  try {
    const st = fs.fstatSync(fd, { bigint: true });
    const size = Number(st.size);
    let md5;
    if (size < SMALL) {
      let got = 0;
      while (got < size) {
        const n = fs.readSync(fd, scratch, got, SMALL - got, null);
        if (n === 0) break;
        got += n;
      }
      if (got < SMALL) {
        const bytes = scratch.subarray(0, got);
        md5 = oneShot ? crypto.hash('md5', bytes, 'hex') : crypto.createHash('md5').update(bytes).digest('hex');
      } else {
        const h = crypto.createHash('md5').update(scratch);
        rest(fd, h);
        md5 = h.digest('hex');
      }
    } else {
      const h = crypto.createHash('md5');
      rest(fd, h);
      md5 = h.digest('hex');
    }
    out.push(md5, size, String(st.ino), String(st.mtimeNs), Number(st.mode));
  } finally {
    fs.closeSync(fd);
  }
}

parentPort.on('message', (msg) => {
  const out = [];
  for (const path of msg.paths) {
    try {
      hashOne(path, out);
    } catch (err) {
      out.push(null, 0, String((err && err.code) || 'EIO'), String((err && err.message) || err), 0);
    }
  }
  parentPort.postMessage({ out });
});
parentPort.postMessage({ ready: true });
`;
