import { terminalBar } from '../adapters/terminal/progress-bar.js';
import { humanBytes } from '../core/bytes.js';
import { systemClock, type Clock, type HashProgress, type ProgressBar, type ProgressOut } from '../core/ports.js';

/** The bar of a terminal: the one `out` gives, else cli-progress on stderr; none off a terminal. */
export function barFor(out: ProgressOut | undefined, label: string): ProgressBar | undefined {
  if (!out?.tty) return undefined;
  return out.bar ? out.bar(label) : terminalBar(label, process.stderr);
}

/** Less than this to read, and no bar is drawn: it is over before it could be read. */
const SHOWN_BYTES = 8 * 1024 * 1024;
/** Off a terminal: the first line once hashing has taken this long, then one line this often. */
const PLAIN_AFTER_MS = 2_000;
const PLAIN_EVERY_MS = 5_000;

/**
 * A command's hashing progress (`status`, `repro` on large inputs): what is
 * read of what has to be, and the path being read. On a terminal, a bar once
 * there is enough to read, erased once it is read; elsewhere a plain line
 * after 2 s, then every 5 s.
 * Only content whose recorded hash no longer holds is read, so a warm status
 * shows nothing.
 */
export function hashDisplay(out: ProgressOut, clock: Clock = systemClock): HashProgress & { finish(): void } {
  // looked for when there is first something to show: asking whether stderr is a terminal opens it
  let bar: ProgressBar | undefined;
  let looked = false;
  let total = 0;
  let done = 0;
  let what = '';
  let firstAt: number | undefined;
  let lastLine: number | undefined;
  const draw = (): void => {
    if (total < SHOWN_BYTES) return;
    const text = `${humanBytes(done)}/${humanBytes(total)}  ${what}`;
    if (!looked) {
      looked = true;
      bar = barFor(out, 'hashing');
    }
    if (bar) {
      bar.update(done, total, text);
      return;
    }
    const now = clock.now().getTime();
    firstAt ??= now;
    if (now - firstAt < PLAIN_AFTER_MS || (lastLine !== undefined && now - lastLine < PLAIN_EVERY_MS)) return;
    lastLine = now;
    out.write(`hashing: ${text}\n`);
  };
  return {
    reading(path, files, bytes) {
      total += bytes;
      what = files > 1 ? `${path} (${files} files)` : path;
      draw();
    },
    read(bytes) {
      done += bytes;
      draw();
      // all there was to read is read: the bar goes (a command's own lines come next), and the next read starts afresh
      if (done >= total) {
        bar?.stop();
        total = 0;
        done = 0;
        firstAt = undefined;
        lastLine = undefined;
      }
    },
    finish() {
      bar?.stop();
    },
  };
}
