import { ReprodError } from '../../src/core/errors.js';

/** The ReprodError `fn` throws; any other error is rethrown, and returning normally fails. */
export function thrown(fn: () => unknown): ReprodError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ReprodError) return e;
    throw e;
  }
  throw new Error('expected a ReprodError');
}
