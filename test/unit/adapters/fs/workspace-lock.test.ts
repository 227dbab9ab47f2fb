import { describe, expect, it } from 'vitest';
import {
  PassLease,
  describeHolder,
  formatLockContent,
  parseLockHolder,
  parseLockWaitSeconds,
  type AcquireOptions,
  type HeldWorkspaceLock,
  type WorkspaceLock,
} from '../../../../src/core/ports.js';

describe('lock file content', () => {
  it("reads zc.lockfile's default (DVC's) and its {pid};{hostname} template; anything else names no pid", () => {
    expect(parseLockHolder(' 4242\n')).toEqual({ pid: 4242, hostname: undefined, raw: '4242' });
    expect(parseLockHolder(formatLockContent(17, 'c0ffee'))).toEqual({ pid: 17, hostname: 'c0ffee', raw: '17;c0ffee' });
    expect(parseLockHolder('')).toEqual({ pid: undefined, hostname: undefined, raw: '' });
    expect(parseLockHolder('garbage here')).toEqual({ pid: undefined, hostname: undefined, raw: 'garbage here' });
    expect(formatLockContent(17, 'c0ffee')).toBe(' 17;c0ffee\n');
  });

  it('describes the holder in words', () => {
    expect(describeHolder(parseLockHolder(' 17;box\n'))).toBe('process 17 on host box');
    expect(describeHolder(parseLockHolder(' 17\n'))).toBe('process 17 (a DVC command, or one that records no host)');
    expect(describeHolder({ pid: 9, hostname: undefined, raw: '9', cmd: 'dvc repro' })).toBe('process 9, running `dvc repro`');
    expect(describeHolder(parseLockHolder(''))).toBe('another process (the lock file names none)');
  });

  it('parses a wait in seconds', () => {
    expect(parseLockWaitSeconds('3')).toBe(3000);
    expect(parseLockWaitSeconds('0.25')).toBe(250);
    expect(parseLockWaitSeconds('0')).toBe(0);
    expect(parseLockWaitSeconds('inf')).toBe(Infinity);
    for (const bad of ['', '-1', 'abc', '1e3', '3s']) expect(parseLockWaitSeconds(bad), bad).toBeUndefined();
  });
});

/** A lock that records what happens to it; `gate` holds acquisitions back until released. */
class RecordingLock implements WorkspaceLock {
  readonly events: string[] = [];
  private open: (() => void) | undefined;
  failNext = false;

  acquire(opts: AcquireOptions = {}): Promise<HeldWorkspaceLock> {
    this.events.push(`acquire wait=${opts.waitMs}`);
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('engine says no'));
    }
    return new Promise((resolve) => {
      this.open = () => {
        const release = async () => void this.events.push('release');
        resolve({ release, [Symbol.asyncDispose]: release });
      };
    });
  }

  grant(): void {
    this.open?.();
  }
}

describe('PassLease', () => {
  it('acquires once per pass for overlapping users and releases at the end', async () => {
    const lock = new RecordingLock();
    const lease = new PassLease(lock);
    const a = lease.enter();
    const b = lease.enter();
    expect(lease.active).toBe(true);
    lock.grant();
    await Promise.all([a, b]);
    expect(lock.events).toEqual(['acquire wait=Infinity']);
    await lease.leave();
    expect(lease.active).toBe(false);
    await lease.leave();
    expect(lock.events).toEqual(['acquire wait=Infinity', 'release']);

    const c = lease.enter();
    lock.grant();
    await c;
    await lease.leave();
    expect(lock.events).toEqual(['acquire wait=Infinity', 'release', 'acquire wait=Infinity', 'release']);
  });

  it('forgets a failed acquisition, so that the next pass tries again', async () => {
    const lock = new RecordingLock();
    const lease = new PassLease(lock, { waitMs: 5 });
    lock.failNext = true;
    await expect(lease.enter()).rejects.toThrow('engine says no');
    expect(lease.active).toBe(false);
    await lease.leave();
    const again = lease.enter();
    lock.grant();
    await again;
    expect(lock.events).toEqual(['acquire wait=5', 'acquire wait=5']);
  });
});
