/**
 * The ids of temporary names: each leads with this process's writer mark,
 * drawn once (on first use) and the same for every id after, which is what
 * the clean-up of leftovers reads back out of a name.
 */
import { describe, expect, it } from 'vitest';
import { tempId, writerId, writerOf } from '../../../src/core/temp-id.js';

describe('temporary ids', () => {
  it('carry one writer mark per process, read back out of the name', () => {
    const mark = writerId();
    expect(mark).toMatch(/^[0-9a-f]{8}$/);
    expect(writerId()).toBe(mark);
    const a = tempId();
    const b = tempId();
    expect(a).not.toBe(b);
    for (const id of [a, b]) {
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(writerOf(`.${id}.tmp`)).toBe(mark);
    }
  });
});
