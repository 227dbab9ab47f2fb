import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { errorMessage } from '../../../src/core/errno.js';

/** errorMessage: what every log line, status message and MLflow tag says about a failure. */
describe('errorMessage', () => {
  it("gives reprod's errors with their location", () => {
    expect(errorMessage(new ReprodError('SCHEMA', "unknown key 'x'", { source: { file: 'dvc.yaml', line: 7, key: 'stages.a' } }))).toBe("dvc.yaml:7: stages.a: unknown key 'x'");
    expect(errorMessage(new Error('socket hang up'))).toBe('socket hang up');
    expect(errorMessage('plain text')).toBe('plain text');
  });

  it('is never empty: an error without a message is named by its kind', () => {
    expect(errorMessage(new Error(''))).toBe('Error (with no message)');
    expect(errorMessage(Object.assign(new TypeError('  '), { code: 'ECONNRESET' }))).toBe('TypeError ECONNRESET (with no message)');
    expect(errorMessage(new ReprodError('RUNTIME', ''))).toBe('RUNTIME (with no message)');
    expect(errorMessage('')).toBe('string "" thrown');
    expect(errorMessage(undefined)).toBe('undefined');
  });
});
