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

/** The message of a thrown value; reprod's own errors say where (`file:line: key: message`). */
export function errorMessage(err: unknown): string {
  if (err instanceof ReprodError) return err.location ? `${err.location}: ${err.message}` : err.message;
  return err instanceof Error ? err.message : String(err);
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
