import { describe, expect, it } from 'vitest';
import { trackingOn } from '../../../src/app/tracking-switch.js';
import { ReprodError } from '../../../src/core/errors.js';

describe('trackingOn', () => {
  it('is on by default, and with REPROD_TRACKING on, 1, true, yes or empty', () => {
    expect(trackingOn({})).toBe(true);
    for (const v of ['on', 'ON', '1', 'true', 'yes', '', ' on ']) expect(trackingOn({ REPROD_TRACKING: v }), v).toBe(true);
  });

  it('is off with REPROD_TRACKING off, 0, false or no, and with --no-tracking whatever the environment says', () => {
    for (const v of ['off', 'Off', '0', 'false', 'no']) expect(trackingOn({ REPROD_TRACKING: v }), v).toBe(false);
    expect(trackingOn({}, false)).toBe(false);
    expect(trackingOn({ REPROD_TRACKING: 'on' }, false)).toBe(false);
    expect(trackingOn({ REPROD_TRACKING: 'off' }, true)).toBe(false);
  });

  it('refuses any other value, naming the variable and what it takes', () => {
    let err: unknown;
    try {
      trackingOn({ REPROD_TRACKING: 'sometimes' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).code).toBe('USAGE');
    expect((err as ReprodError).message).toBe("REPROD_TRACKING is 'sometimes': it must be on or off");
  });
});
