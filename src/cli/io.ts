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

/**
 * The process's own stdout and stderr. Each stream is looked at when a
 * command first uses it: touching process.stdin or process.stderr opens it
 * as a stream (a socket for a pipe), which a command that writes nothing,
 * as `status -q` of an unchanged workspace, should not pay for.
 */
export function processIo(): Io {
  let prompt: PasswordPrompt | undefined | null = null;
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    exitCode: 0,
    get errIsTTY(): boolean {
      return process.stderr.isTTY === true;
    },
    get askPassword(): PasswordPrompt | undefined {
      if (prompt === null) prompt = processPrompt();
      return prompt;
    },
  };
}
