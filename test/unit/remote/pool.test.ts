/** Slots: at most `size` functions run at once, the rest wait in order, a slot comes back however a function ends. */
import { describe, expect, it } from 'vitest';
import { Slots } from '../../../src/remote/pool.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every queued promise callback run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

describe('Slots', () => {
  it('runs at most size functions at once, the others in the order they asked', async () => {
    const slots = new Slots(2);
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      slots.use(async () => {
        started.push(i);
        await g.promise;
        return i;
      }),
    );
    const settled = Promise.allSettled(runs);
    await settle();
    expect(started).toEqual([0, 1]);
    gates[1]!.resolve();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.reject(new Error('boom'));
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    gates[2]!.resolve();
    gates[3]!.resolve();
    const results = await settled;
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['boom', 1, 2, 3]);
    // every slot came back: two run at once again
    const again = [deferred(), deferred()];
    let running = 0;
    const more = again.map((g) => slots.use(async () => ((running++), await g.promise)));
    await settle();
    expect(running).toBe(2);
    again.forEach((g) => g.resolve());
    await Promise.all(more);
  });

  it('refuses a size that is not a positive whole number', () => {
    expect(() => new Slots(0)).toThrow(RangeError);
    expect(() => new Slots(1.5)).toThrow(RangeError);
  });
});
