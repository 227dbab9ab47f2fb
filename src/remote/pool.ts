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
