import { ReprodError } from './errors.js';

/**
 * What a thrown value says, whatever was thrown: Node's error code
 * (`ENOENT`, `EACCES`, `ECONNREFUSED`...) and its message. Pure: it only
 * reads the value's `code` and `message`.
 */

/** Node's error code of a thrown value, if it has one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}

/** True when the thrown value carries one of `codes`. */
export function hasErrno(err: unknown, ...codes: string[]): boolean {
  const code = errnoCode(err);
  return code !== undefined && codes.includes(code);
}

/**
 * True for the codes that mean "there is nothing at this path": `ENOENT`,
 * and `ENOTDIR` (a file where a folder of the path should be).
 */
export function isMissing(err: unknown): boolean {
  return hasErrno(err, 'ENOENT', 'ENOTDIR');
}

/**
 * The message of a thrown value; reprod's own errors say where
 * (`file:line: key: message`). Never empty: a failure always says something,
 * so an error thrown without a message is named by its kind
 * (`Error (with no message)`).
 */
export function errorMessage(err: unknown): string {
  if (err instanceof ReprodError) {
    const message = err.message.trim() === '' ? `${err.code} (with no message)` : err.message;
    return err.location ? `${err.location}: ${message}` : message;
  }
  const text = err instanceof Error ? err.message : String(err);
  if (text.trim() !== '') return text;
  if (err instanceof Error) {
    const code = errnoCode(err);
    return `${err.name}${code !== undefined && code !== '' ? ` ${code}` : ''} (with no message)`;
  }
  return `${typeof err} ${JSON.stringify(err)} thrown`;
}

/**
 * The message with the error code in front (`ECONNRESET: socket hang up`),
 * for messages that say why a connection failed; a message that already
 * starts with its code (Node's file errors do) is left as it is.
 */
export function errorText(err: unknown): string {
  const message = errorMessage(err);
  const code = errnoCode(err);
  return code === undefined || message.startsWith(code) ? message : `${code}: ${message}`;
}
