import { ReprodError } from '../core/errors.js';
import type { PasswordPrompt } from '../core/ports.js';

/** A terminal's input: raw mode lets keys arrive one by one, unechoed. */
export interface TerminalInput {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode(raw: boolean): unknown;
  on(event: 'data', fn: (chunk: Buffer | string) => void): unknown;
  off(event: 'data', fn: (chunk: Buffer | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/**
 * Asks on the terminal with echo off (raw mode: nothing typed is shown),
 * as getpass does: Enter ends the password, Backspace erases, Ctrl-U
 * starts over, Ctrl-C or Ctrl-D on an empty line gives up. The question
 * goes to `write` (stderr), so stdout stays the command's own.
 */
export function terminalPrompt(input: TerminalInput, write: (s: string) => void): PasswordPrompt {
  return (question) =>
    new Promise<string>((resolve, reject) => {
      // echo goes off before the question shows, so nothing typed after it is ever displayed
      const wasRaw = input.isRaw === true;
      input.setRawMode(true);
      input.resume();
      write(question);
      let typed: string[] = [];
      const finish = (error?: ReprodError) => {
        input.off('data', onData);
        input.setRawMode(wasRaw);
        input.pause();
        write('\n');
        if (error) reject(error);
        else resolve(typed.join(''));
      };
      const onData = (chunk: Buffer | string) => {
        for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return finish();
          if (ch === '\u0003' || (ch === '\u0004' && typed.length === 0)) {
            return finish(new ReprodError('USAGE', 'no password given: the prompt was cancelled', { remedy: 'Run the command again and type the password, or store it with `reprod remote modify --local NAME password …`.' }));
          }
          if (ch === '\u0004') return finish();
          if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
          else if (ch === '\u0015') typed = [];
          else if (ch >= ' ') typed.push(ch);
        }
      };
      input.on('data', onData);
    });
}

/** The process's terminal, when stdin is one; undefined otherwise (a pipe, the daemon, CI). */
export function processPrompt(): PasswordPrompt | undefined {
  const stdin = process.stdin;
  if (stdin.isTTY !== true || typeof stdin.setRawMode !== 'function') return undefined;
  return terminalPrompt(stdin, (s) => process.stderr.write(s));
}
