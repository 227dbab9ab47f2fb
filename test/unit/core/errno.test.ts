import { describe, expect, it } from 'vitest';
import { errnoCode, errorMessage, errorText, hasErrno, isMissing } from '../../../src/core/errno.js';

/** What Node throws for a file error: an Error with a string `code`. */
function nodeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, errno: -2, syscall: 'open' });
}

describe('errno', () => {
  it('reads the code of anything thrown that has a string one', () => {
    expect(errnoCode(nodeError('EACCES', 'EACCES: permission denied'))).toBe('EACCES');
    expect(errnoCode({ code: 'ECONNRESET' })).toBe('ECONNRESET');
    expect(errnoCode({ code: 42 })).toBeUndefined();
    expect(errnoCode(new Error('plain'))).toBeUndefined();
    expect(errnoCode('ENOENT')).toBeUndefined();
    expect(errnoCode(null)).toBeUndefined();
  });

  it('matches one of several codes', () => {
    const err = nodeError('EISDIR', 'EISDIR: illegal operation on a directory');
    expect(hasErrno(err, 'ENOENT', 'EISDIR')).toBe(true);
    expect(hasErrno(err, 'ENOENT')).toBe(false);
    expect(hasErrno(undefined, 'ENOENT')).toBe(false);
  });

  it('calls a path missing for ENOENT and ENOTDIR only', () => {
    expect(isMissing(nodeError('ENOENT', 'ENOENT: no such file or directory'))).toBe(true);
    expect(isMissing(nodeError('ENOTDIR', 'ENOTDIR: not a directory'))).toBe(true);
    expect(isMissing(nodeError('EACCES', 'EACCES: permission denied'))).toBe(false);
    expect(isMissing(new Error('ENOENT in the text is not a code'))).toBe(false);
  });

  it('gives the message of whatever was thrown, with the code in front once', () => {
    expect(errorMessage(new Error('boom'))).toBe('boom');
    expect(errorMessage('a string')).toBe('a string');
    expect(errorMessage(7)).toBe('7');
    expect(errorText(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('ECONNRESET: socket hang up');
    expect(errorText(nodeError('ENOENT', "ENOENT: no such file or directory, open 'x'"))).toBe("ENOENT: no such file or directory, open 'x'");
    expect(errorText(new Error('no code'))).toBe('no code');
  });
});
