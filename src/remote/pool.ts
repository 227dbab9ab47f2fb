/**
 * Runs `fn` over `items` with at most `jobs` calls in flight, in order of
 * start. `fn` reports its own per-item failures; a throw is fatal: nothing
 * new starts, the calls in flight finish, and the first error is rethrown.
 * An aborted `signal` stops new starts the same way.
 */
export async function forEachLimit<T>(items: readonly T[], jobs: number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  let fatal: { error: unknown } | undefined;
  const worker = async () => {
    while (fatal === undefined && !signal?.aborted && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        fatal ??= { error };
      }
    }
  };
  const n = Math.max(1, Math.min(Math.floor(jobs), items.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (fatal) throw fatal.error;
}

/** Runs `fn` over `items`, `jobs` at a time, collecting what it returns (in order); a throw rejects. */
export async function mapLimit<T, R>(items: readonly T[], jobs: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, items.length)) }, worker));
  return out;
}

/**
 * At most `size` calls of `use` run their function at once; the others wait
 * their turn, first come first served. A slot is given back however the
 * function ends.
 */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`slots: ${size} is not a positive whole number`);
    this.free = size;
  }

  async use<T>(fn: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await fn();
    } finally {
      // hand the slot straight to the next in line, or put it back
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}
