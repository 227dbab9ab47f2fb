/**
 * The worker threads' program (hash-worker-source.ts) is JavaScript text kept
 * equivalent to md5FileSync by hand: these tests hold the two to the same
 * answers, and to the answers of plain md5 over the bytes.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHUNK_BYTES, md5File, md5FileSync, scratchBuffer, SMALL_FILE_BYTES } from '../../../src/hashing/file-md5.js';
import { HashPool, isFailure } from '../../../src/hashing/hash-pool.js';
import { WorkspaceHasher } from '../../../src/hashing/workspace-hasher.js';

let dir: string;
const sizes = [0, 1, 1023, SMALL_FILE_BYTES - 1, SMALL_FILE_BYTES, SMALL_FILE_BYTES + 1, CHUNK_BYTES, 2 * CHUNK_BYTES + 7];
const paths: string[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'reprod-pool-'));
  let seed = 1;
  for (const size of sizes) {
    const buf = Buffer.alloc(size);
    for (let i = 0; i < size; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      buf[i] = seed >>> 24;
    }
    const p = path.join(dir, `s${size}.bin`);
    writeFileSync(p, buf);
    paths.push(p);
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function plainMd5(p: string): string {
  return createHash('md5').update(readFileSync(p)).digest('hex');
}

describe('file-md5', () => {
  it('md5FileSync and md5File give the plain md5 of the bytes, with the stat of the file read', async () => {
    const scratch = scratchBuffer();
    for (const p of paths) {
      const sync = md5FileSync(p, scratch);
      expect(sync.md5).toBe(plainMd5(p));
      expect(sync.size).toBe(readFileSync(p).length);
      expect(await md5File(p, scratch)).toEqual(sync);
    }
  });

  it('fails with Node errors for a missing file and a directory', async () => {
    expect(() => md5FileSync(path.join(dir, 'missing'), scratchBuffer())).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    await expect(md5File(dir, scratchBuffer())).rejects.toMatchObject({ code: 'EISDIR' });
  });
});

describe('HashPool', () => {
  it('answers from worker threads exactly what md5FileSync answers, in order, failures included', async () => {
    const scratch = scratchBuffer();
    await using pool = new HashPool(3, (p) => md5FileSync(p, scratch));
    await pool.ready();
    const list = [...paths, path.join(dir, 'missing'), ...paths];
    const results = await pool.hashFiles(list);
    expect(pool.batches.workers).toBeGreaterThan(0);
    expect(results).toHaveLength(list.length);
    results.forEach((r, i) => {
      const p = list[i] as string;
      if (p.endsWith('missing')) expect(r).toMatchObject({ error: 'ENOENT' });
      else expect(r).toEqual(md5FileSync(p, scratch));
    });
    expect(results.filter(isFailure)).toHaveLength(1);
  });

  it('works with the calling thread alone', async () => {
    await using pool = new HashPool(1, (p) => md5FileSync(p, scratchBuffer()));
    const results = await pool.hashFiles(paths);
    expect(pool.batches).toEqual({ workers: 0, caller: paths.length });
    expect(results.map((r) => (isFailure(r) ? r.error : r.md5))).toEqual(paths.map(plainMd5));
  });

  it('refuses work after dispose', async () => {
    const pool = new HashPool(2, (p) => md5FileSync(p, scratchBuffer()));
    await pool.ready();
    await pool[Symbol.asyncDispose]();
    await expect(pool.hashFiles(paths)).rejects.toThrow(/dispose/);
  });
});

describe('WorkspaceHasher threads', () => {
  it('gives the same directory hash with 1 and 3 threads', async () => {
    const ws = mkdtempSync(path.join(os.tmpdir(), 'reprod-pool-ws-'));
    try {
      for (let i = 0; i < 500; i++) {
        mkdirSync(path.join(ws, 'd', `g${i % 7}`), { recursive: true });
        writeFileSync(path.join(ws, 'd', `g${i % 7}`, `f${i}`), `content ${i}\n`.repeat(i % 13));
      }
      await using one = new WorkspaceHasher({ root: ws, jobs: 1, statePath: null });
      await using three = new WorkspaceHasher({ root: ws, jobs: 3, statePath: null });
      const a = await one.hash('d');
      const b = await three.hash('d');
      expect(b).toEqual(a);
      expect(a?.info.nfiles).toBe(500);
      expect(three.counters.filesHashed).toBe(500);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  });
});
