/**
 * A progress bar redrawn in place on a terminal. `update` starts it on first
 * use; `stop` erases it (nothing is left on the terminal).
 */
export interface ProgressBar {
  /** `done` of `total` units, with a short text after the bar (`3/20 objects, 1.2 MiB/s`). */
  update(done: number, total: number, text: string): void;
  stop(): void;
}

/** Where a command's progress goes: its stream, and whether that is a terminal (a bar) or not (plain lines). */
export interface ProgressOut {
  write(s: string): void;
  tty: boolean;
  /** A bar for a terminal, labelled (`push`, `hashing`); absent: plain lines even on a terminal. */
  bar?(label: string): ProgressBar;
}
