import { createRequire } from 'node:module';
import { ReprodError } from '../core/errors.js';
import type { Logger, StageLogSink } from '../core/ports.js';
import { describeLogLine, OUTPUT_MSG } from './log-lines.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Readonly<Record<Level, number>> = { debug: 20, info: 30, warn: 40, error: 50 };

const require = createRequire(import.meta.url);
const loadPino = (): typeof import('pino') => require('pino') as typeof import('pino');

/** How the daemon writes its log: pino's JSON lines (ISO times), or lines for a person to read. */
export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/**
 * The log format asked for: `--log-format`, else REPROD_LOG_FORMAT, else
 * pretty on a terminal and JSON elsewhere. A value that is neither is
 * refused, naming where it came from.
 */
export function chooseLogFormat(flag: string | undefined, env: NodeJS.ProcessEnv, tty: boolean): LogFormat {
  const from = flag !== undefined ? { value: flag, where: '--log-format' } : env.REPROD_LOG_FORMAT ? { value: env.REPROD_LOG_FORMAT, where: 'REPROD_LOG_FORMAT' } : undefined;
  if (from === undefined) return tty ? 'pretty' : 'json';
  const v = from.value.trim().toLowerCase();
  if (v === 'json' || v === 'pretty') return v;
  throw new ReprodError('USAGE', `${from.where}: unknown log format '${from.value}' (expected ${LOG_FORMATS.join(' or ')})`);
}

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
      root = pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
    }
    return root;
  };
  return new LazyLogger(RANK[level], pinoRoot, []);
}

export interface ServiceLoggerOptions {
  format?: LogFormat;
  /** Where lines go (default 2, stderr). */
  fd?: number;
  /** Colours in the pretty format (default: when the destination is a terminal). */
  colour?: boolean;
}

/**
 * The daemon's logger: a service logs what it does (info and up). Writes are
 * synchronous, so that the last lines before an exit are not lost. JSON
 * lines carry ISO times; the pretty format (pino-pretty) writes one line per
 * record: time, level, the stage, what happened and why (log-lines.ts).
 */
export function serviceLogger(verbose: boolean, opts: ServiceLoggerOptions = {}): Logger {
  const { pino } = loadPino();
  const fd = opts.fd ?? 2;
  const level = verbose ? 'debug' : 'info';
  if (opts.format !== 'pretty') return pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd, sync: true }));
  const pretty = require('pino-pretty') as typeof import('pino-pretty');
  const stream = pretty({
    destination: fd,
    sync: true,
    // node:tty is loaded here only: a command's logger never needs it
    colorize: opts.colour ?? process.getBuiltinModule('node:tty').isatty(fd),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    // every field is said in the message (singleLine would drop the line's end when the object is hidden)
    hideObject: true,
    messageFormat: (line: Record<string, unknown>) => describeLogLine(line),
  });
  return pino({ level, base: null }, stream);
}

/** The most of one output line that goes into the log (the stage's log file keeps all of it). */
const MAX_LINE = 4096;

/**
 * Forwards a stage's output into the log line by line (`{stage, stream,
 * line}`, msg `output`), each stream on its own; a carriage return ends a
 * line too (progress bars), and blank lines are left out. Gets the text
 * after redaction (it is a tee of the redacting sink).
 */
export function logOutputSink(log: Logger, stage: string): StageLogSink {
  const held: Record<'stdout' | 'stderr', string> = { stdout: '', stderr: '' };
  const emit = (stream: 'stdout' | 'stderr', line: string): void => {
    if (line.trim() === '') return;
    log.info({ stage, stream, line: line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line }, OUTPUT_MSG);
  };
  return {
    write(chunk, stream) {
      const parts = (held[stream] + chunk).split(/\r\n|\n|\r/);
      held[stream] = parts.pop() ?? '';
      for (const p of parts) emit(stream, p);
      // a line longer than any a person reads is cut where it is, not held forever
      if (held[stream].length > MAX_LINE) {
        emit(stream, held[stream]);
        held[stream] = '';
      }
    },
    end() {
      for (const s of ['stdout', 'stderr'] as const) {
        emit(s, held[s]);
        held[s] = '';
      }
    },
  };
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

/** One sink that writes to each of `sinks` (the missing left out). */
export function fanOutSink(...sinks: (StageLogSink | undefined)[]): StageLogSink {
  const all = sinks.filter((s): s is StageLogSink => s !== undefined);
  return {
    write: (chunk, stream) => all.forEach((s) => s.write(chunk, stream)),
    end: () => all.forEach((s) => s.end?.()),
  };
}
