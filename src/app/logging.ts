import { pino } from 'pino';
import type { Logger } from '../core/ports.js';

/** A command's logger: JSON lines on stderr, warnings and errors only unless verbose. */
export function commandLogger(verbose: boolean): Logger {
  return pino({ level: verbose ? 'debug' : 'warn', base: null }, pino.destination(2));
}

/**
 * The daemon's logger: a service logs what it does (info and up). Writes are
 * synchronous, so that the last lines before an exit are not lost.
 */
export function serviceLogger(verbose: boolean): Logger {
  return pino({ level: verbose ? 'debug' : 'info', base: null }, pino.destination({ fd: 2, sync: true }));
}
