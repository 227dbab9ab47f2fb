import { createRequire } from 'node:module';
import type { Logger } from '../core/ports.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Readonly<Record<Level, number>> = { debug: 20, info: 30, warn: 40, error: 50 };

const require = createRequire(import.meta.url);
const loadPino = (): typeof import('pino') => require('pino') as typeof import('pino');

/**
 * A command's logger: pino's JSON lines on stderr, warnings and errors only
 * unless verbose. pino is loaded when the first line at that level is
 * written, not before: most commands write none, and loading pino is a good
 * part of a short command's start-up.
 */
export function commandLogger(verbose: boolean): Logger {
  const level: Level = verbose ? 'debug' : 'warn';
  let root: Logger | undefined;
  const pinoRoot = (): Logger => {
    if (root === undefined) {
      const { pino } = loadPino();
      root = pino({ level, base: null }, pino.destination(2));
    }
    return root;
  };
  return new LazyLogger(RANK[level], pinoRoot, []);
}

/**
 * The daemon's logger: a service logs what it does (info and up). Writes are
 * synchronous, so that the last lines before an exit are not lost.
 */
export function serviceLogger(verbose: boolean): Logger {
  const { pino } = loadPino();
  return pino({ level: verbose ? 'debug' : 'info', base: null }, pino.destination({ fd: 2, sync: true }));
}

/** Passes what reaches `min` to pino, made on first use with every binding of its chain of children. */
class LazyLogger implements Logger {
  private real: Logger | undefined;

  constructor(
    private readonly min: number,
    private readonly root: () => Logger,
    private readonly bindings: readonly Record<string, unknown>[],
  ) {}

  debug(obj: object, msg?: string): void {
    this.write('debug', obj, msg);
  }

  info(obj: object, msg?: string): void {
    this.write('info', obj, msg);
  }

  warn(obj: object, msg?: string): void {
    this.write('warn', obj, msg);
  }

  error(obj: object, msg?: string): void {
    this.write('error', obj, msg);
  }

  child(bindings: Record<string, unknown>): Logger {
    return new LazyLogger(this.min, this.root, [...this.bindings, bindings]);
  }

  private write(level: Level, obj: object, msg?: string): void {
    if (RANK[level] < this.min) return;
    this.real ??= this.bindings.reduce<Logger>((l, b) => l.child(b), this.root());
    this.real[level](obj, msg);
  }
}
