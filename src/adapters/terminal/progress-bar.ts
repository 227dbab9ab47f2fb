import { createRequire } from 'node:module';
import type { ProgressBar } from '../../core/ports.js';

const require = createRequire(import.meta.url);

/**
 * A terminal's progress bar by cli-progress, on `stream` (stderr): one line,
 * redrawn at most 10 times a second, erased when it stops. cli-progress is
 * loaded when the first bar is drawn, not before.
 */
export function terminalBar(label: string, stream: NodeJS.WriteStream): ProgressBar {
  let bar: import('cli-progress').SingleBar | undefined;
  return {
    update(done, total, text) {
      if (!bar) {
        const cli = require('cli-progress') as typeof import('cli-progress');
        bar = new cli.SingleBar(
          { stream, format: `${label} [{bar}] {percentage}% | {text}`, barsize: 24, fps: 10, hideCursor: true, clearOnComplete: true, stopOnComplete: false, linewrap: false },
          cli.Presets.legacy,
        );
        bar.start(Math.max(total, 1), done, { text });
        return;
      }
      bar.setTotal(Math.max(total, 1));
      bar.update(done, { text });
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
