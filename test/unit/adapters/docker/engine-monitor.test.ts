import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { EngineMonitor } from '../../../../src/adapters/docker/engine-monitor.js';
import { abortableSleep } from '../../../../src/core/sleep.js';

describe('EngineMonitor', () => {
  it('looks again and again on one signal without piling up abort listeners on it, and stops when it aborts', async () => {
    const ac = new AbortController();
    const looks: boolean[] = [];
    let mostListeners = 0;
    const monitor = new EngineMonitor({
      ping: () => Promise.resolve(),
      onLook: (up) => {
        looks.push(up);
        mostListeners = Math.max(mostListeners, getEventListeners(ac.signal, 'abort').length);
        if (looks.length === 25) ac.abort();
      },
      intervalMs: 1,
    });
    await monitor.start(ac.signal);
    expect(looks).toHaveLength(25);
    expect(looks.every((up) => up)).toBe(true);
    // Node warns (MaxListenersExceededWarning, on the daemon's stderr) past 10
    expect(mostListeners).toBeLessThanOrEqual(1);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
  });
});

describe('abortableSleep', () => {
  it('waits its time, ends at once on abort, and leaves no listener behind', async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    await abortableSleep(30, ac.signal);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    const long = abortableSleep(60_000, ac.signal);
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(1);
    ac.abort();
    await long;
    expect(getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    // an aborted signal: at once
    await abortableSleep(60_000, ac.signal);
  });
});
