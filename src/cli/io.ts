import type { PasswordPrompt } from '../core/ports.js';
import { processPrompt } from './password-prompt.js';

/** Where a command writes; tests capture it. `exitCode` is what the command decided. */
export interface Io {
  out(s: string): void;
  err(s: string): void;
  exitCode: number;
  /** stderr is a terminal: progress is drawn as a bar there, as plain lines elsewhere. */
  errIsTTY?: boolean;
  /** Asks for a password on the terminal (`ask_password`); absent without one. */
  askPassword?: PasswordPrompt;
}

/** The process's own stdout and stderr. */
export function processIo(): Io {
  const askPassword = processPrompt();
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    exitCode: 0,
    errIsTTY: process.stderr.isTTY === true,
    ...(askPassword ? { askPassword } : {}),
  };
}
