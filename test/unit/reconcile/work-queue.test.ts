import { describe, expect, it } from 'vitest';
import { SimulatedClock } from '../../helpers/simulated-clock.js';
import { backoffDelay, WorkQueue } from '../../../src/reconcile/work-queue.js';

function queue(opts: { debounceMs?: number; maxDebounceMs?: number; baseBackoffMs?: number; maxBackoffMs?: number } = {}) {
  const clock = new SimulatedClock();
  return { clock, q: new WorkQueue<string>({ clock, ...opts }) };
}

/** Every key ready now, in hand-out order (each marked done at once). */
function drain(q: WorkQueue<string>): string[] {
  const out: string[] = [];
  for (let k = q.tryGet(); k !== undefined; k = q.tryGet()) {
    out.push(k);
    q.done(k);
  }
  return out;
}

describe('WorkQueue', () => {
  it('hands keys out in order and collapses duplicates', () => {
    const { q } = queue();
    q.add('a');
    q.add('b');
    q.add('a');
    expect(q.depth).toBe(2);
    expect(drain(q)).toEqual(['a', 'b']);
  });

  it('never hands out a key being processed; re-adding it marks it dirty and done() queues it again once', () => {
    const { q } = queue();
    q.add('a');
    expect(q.tryGet()).toBe('a');
    q.add('a');
    q.add('a');
    expect(q.tryGet()).toBeUndefined();
    expect(q.has('a')).toBe(true);
    q.done('a');
    expect(q.tryGet()).toBe('a');
    q.done('a');
    expect(q.tryGet()).toBeUndefined();
    expect(q.has('a')).toBe(false);
  });

  it('get() waits for a key and resolves undefined after shutDown', async () => {
    const { q, clock } = queue();
    const first = q.get();
    const second = q.get();
    q.add('x');
    expect(await first).toBe('x');
    q.shutDown();
    expect(await second).toBeUndefined();
    q.add('y');
    await clock.flush();
    expect(q.tryGet()).toBeUndefined();
  });

  it('debounces a burst: ready once the keys go quiet for the window', async () => {
    const { q, clock } = queue({ debounceMs: 100 });
    q.add('a');
    await clock.advance(60);
    q.add('a');
    await clock.advance(60);
    expect(q.depth).toBe(0);
    expect(q.waiting).toBe(1);
    await clock.advance(40);
    expect(drain(q)).toEqual(['a']);
    expect(q.waiting).toBe(0);
  });

  it('a burst that never goes quiet is cut at maxDebounce', async () => {
    const { q, clock } = queue({ debounceMs: 100, maxDebounceMs: 250 });
    for (let t = 0; t < 200; t += 50) {
      q.add('a');
      await clock.advance(50);
    }
    q.add('a'); // t = 200: quiet until 300, but the burst began at 0
    await clock.advance(49);
    expect(q.depth).toBe(0);
    await clock.advance(1); // t = 250: firstAt + max
    expect(drain(q)).toEqual(['a']);
  });

  it('an add while the key is queued and not yet handed out changes nothing', async () => {
    const { q, clock } = queue({ debounceMs: 100 });
    q.addNow('a');
    q.add('a');
    expect(q.waiting).toBe(0);
    expect(drain(q)).toEqual(['a']);
    await clock.advance(500);
    expect(drain(q)).toEqual([]);
  });

  it('debounced adds during processing run the key again after done', async () => {
    const { q, clock } = queue({ debounceMs: 100 });
    q.addNow('a');
    expect(q.tryGet()).toBe('a');
    q.add('a');
    await clock.advance(100);
    expect(q.tryGet()).toBeUndefined();
    q.done('a');
    expect(drain(q)).toEqual(['a']);
  });

  it('addNow skips the debounce of a pending key', async () => {
    const { q } = queue({ debounceMs: 100 });
    q.add('a');
    q.addNow('a');
    expect(q.waiting).toBe(0);
    expect(drain(q)).toEqual(['a']);
  });

  it('addAfter keeps the earliest due time', async () => {
    const { q, clock } = queue();
    q.addAfter('a', 1000);
    q.addAfter('a', 300);
    q.addAfter('a', 2000);
    await clock.advance(299);
    expect(q.depth).toBe(0);
    await clock.advance(1);
    expect(drain(q)).toEqual(['a']);
    await clock.advance(5000);
    expect(drain(q)).toEqual([]);
  });

  it('rate limits with a capped exponential backoff until forget', async () => {
    const { q, clock } = queue({ baseBackoffMs: 100, maxBackoffMs: 350 });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      delays.push(q.addRateLimited('a'));
      await clock.advance(delays[i] as number);
      expect(drain(q)).toEqual(['a']);
    }
    expect(delays).toEqual([100, 200, 350, 350]);
    expect(q.numRequeues('a')).toBe(4);
    q.forget('a');
    expect(q.numRequeues('a')).toBe(0);
    expect(q.addRateLimited('a')).toBe(100);
  });

  it('shutDown clears pending timers', async () => {
    const { q, clock } = queue({ debounceMs: 100 });
    q.add('a');
    q.addAfter('b', 1000);
    expect(clock.pendingTimers).toBe(2);
    q.shutDown();
    expect(clock.pendingTimers).toBe(0);
    expect(q.isShutDown).toBe(true);
  });

  it('idle is false while a key is ready or in hand', () => {
    const { q } = queue();
    expect(q.idle).toBe(true);
    q.add('a');
    expect(q.idle).toBe(false);
    const k = q.tryGet() as string;
    expect(q.idle).toBe(false);
    expect(q.inFlight).toBe(1);
    q.done(k);
    expect(q.idle).toBe(true);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base and stops at the cap, even for huge n', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, 10, 1000))).toEqual([10, 20, 40, 80]);
    expect(backoffDelay(5000, 10, 1000)).toBe(1000);
  });
});
