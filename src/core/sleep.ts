/**
 * Resolves after `ms`, or at once when `signal` aborts (it never rejects).
 * It leaves no listener on `signal` behind: a loop that sleeps on one
 * long-lived signal (the daemon's) does not pile them up.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
