import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import type { FileDigest } from './file-md5.js';
import { HASH_WORKER_SOURCE } from './hash-worker-source.js';
import { errnoCode, errorMessage } from '../core/errno.js';

/** A file that could not be hashed, with Node's error code (ENOENT, EACCES...). */
export interface FileFailure {
  error: string;
  message: string;
}

export type PooledDigest = FileDigest | FileFailure;

export function isFailure(r: PooledDigest): r is FileFailure {
  return 'error' in r;
}

/** Hashes one file on the calling thread; the pool's own threads run the equivalent HASH_WORKER_SOURCE. */
export type LocalHash = (path: string) => FileDigest;

interface Batch {
  paths: string[];
  resolve(out: PooledDigest[]): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  busy: Batch | undefined;
}

/** Batches are small enough to spread two big files over two threads, big enough to amortise a message. */
const MAX_BATCH = 256;
const BATCHES_PER_THREAD = 8;

/**
 * Threads that md5 many files in parallel: for thousands of small files the
 * per-file syscalls and digest setup, not the bytes, dominate, and they
 * scale with cores.
 *
 * `threads` counts the calling thread: the pool starts `threads - 1` workers
 * on first use and the caller hashes batches too, between turns of the event
 * loop, so that a worker's start-up (tens of milliseconds) is never waited
 * for and no more threads than asked for compete for the cores. Workers are
 * reused, do not keep the process alive while idle, and end on dispose.
 */
export class HashPool implements AsyncDisposable {
  private readonly slots: Slot[] = [];
  private readonly queue: Batch[] = [];
  private readonly whenReady: (() => void)[] = [];
  private disposed = false;
  /** Batches hashed by worker threads and by the calling thread (for tests and benchmarks). */
  readonly batches = { workers: 0, caller: 0 };

  constructor(
    readonly threads: number,
    private readonly local: LocalHash,
  ) {
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`thread count must be a positive integer, got ${threads}`);
  }

  /** Hashes every path; the answer has one entry per path, in order. */
  async hashFiles(paths: readonly string[]): Promise<PooledDigest[]> {
    if (this.disposed) throw new Error('HashPool used after dispose');
    if (paths.length === 0) return [];
    this.start();
    const per = Math.max(1, Math.min(MAX_BATCH, Math.ceil(paths.length / (this.threads * BATCHES_PER_THREAD))));
    const parts: Promise<PooledDigest[]>[] = [];
    for (let i = 0; i < paths.length; i += per) {
      const slice = paths.slice(i, i + per);
      parts.push(new Promise<PooledDigest[]>((resolve, reject) => this.queue.push({ paths: slice, resolve, reject })));
    }
    const all = Promise.all(parts);
    // Settle rejections here too, so that one failing while this thread still works is not "unhandled".
    all.catch(() => undefined);
    this.pump();
    while (this.queue.length > 0) {
      const batch = this.queue.shift() as Batch;
      batch.resolve(this.hashHere(batch.paths));
      // Let finished workers hand in their answers and take the next batches.
      await nextTurn();
    }
    return (await all).flat();
  }

  /** Starts the workers and resolves once every one of them can take work. */
  ready(): Promise<void> {
    this.start();
    if (this.slots.every((s) => s.ready)) return Promise.resolve();
    return new Promise((resolve) => this.whenReady.push(resolve));
  }

  private hashHere(paths: readonly string[]): PooledDigest[] {
    this.batches.caller++;
    const out: PooledDigest[] = [];
    for (const p of paths) {
      try {
        out.push(this.local(p));
      } catch (err) {
        out.push({ error: errnoCode(err) ?? 'EIO', message: errorMessage(err) });
      }
    }
    return out;
  }

  /** Starts the workers now (they take tens of milliseconds); hashFiles starts them anyway. */
  start(): void {
    if (this.disposed) return;
    while (this.slots.length < this.threads - 1) {
      // node:worker_threads is loaded with the first thread: a command whose hashes are all cached starts none
      const { Worker } = process.getBuiltinModule('node:worker_threads');
      const worker = new Worker(HASH_WORKER_SOURCE, { eval: true });
      worker.unref();
      const slot: Slot = { worker, ready: false, busy: undefined };
      worker.on('message', (msg: unknown) => this.onMessage(slot, msg));
      worker.on('error', (err) => this.onCrash(slot, err));
      worker.on('exit', (code) => {
        if (!this.disposed) this.onCrash(slot, new Error(`hash worker exited with code ${code}`));
      });
      this.slots.push(slot);
    }
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.busy || this.queue.length === 0) continue;
      const batch = this.queue.shift() as Batch;
      slot.busy = batch;
      slot.worker.ref();
      slot.worker.postMessage({ paths: batch.paths });
    }
  }

  private onMessage(slot: Slot, msg: unknown): void {
    if (typeof msg !== 'object' || msg === null) return;
    if ('ready' in msg) {
      slot.ready = true;
      if (this.slots.every((s) => s.ready)) for (const resolve of this.whenReady.splice(0)) resolve();
      this.pump();
      return;
    }
    const batch = slot.busy;
    slot.busy = undefined;
    slot.worker.unref();
    if (!batch) return;
    this.batches.workers++;
    if ('out' in msg && Array.isArray(msg.out)) batch.resolve(decode(msg.out));
    else batch.reject(new Error('hash worker sent a malformed answer'));
    this.pump();
  }

  private onCrash(slot: Slot, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    slot.busy?.reject(err);
    slot.busy = undefined;
    if (this.slots.every((s) => s.ready)) for (const resolve of this.whenReady.splice(0)) resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.disposed = true;
    const slots = this.slots.splice(0);
    for (const b of this.queue.splice(0)) b.reject(new Error('HashPool disposed'));
    for (const s of slots) s.busy?.reject(new Error('HashPool disposed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}

/** Worker answers: 5 slots per file, see HASH_WORKER_SOURCE. */
function decode(out: unknown[]): PooledDigest[] {
  const into: PooledDigest[] = [];
  for (let i = 0; i + 4 < out.length; i += 5) {
    const md5 = out[i];
    const size = out[i + 1];
    const ino = out[i + 2];
    const mtimeNs = out[i + 3];
    const mode = out[i + 4];
    if (typeof md5 === 'string' && typeof size === 'number' && typeof ino === 'string' && typeof mtimeNs === 'string' && typeof mode === 'number') {
      into.push({ md5, size, ino, mtimeNs, mode });
    } else {
      into.push({ error: String(ino), message: String(mtimeNs) });
    }
  }
  return into;
}
