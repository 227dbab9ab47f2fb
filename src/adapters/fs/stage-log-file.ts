import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StageLogSink } from '../../core/ports.js';

/**
 * A stage's output in `status/logs/<stage>.log`, started afresh for each run,
 * and optionally passed on (to a terminal, to pino). Appends are synchronous so
 * that the file is complete when the run's result is reported.
 */
export function stageLogFile(root: string, relPath: string, next?: StageLogSink): StageLogSink {
  const abs = path.join(root, relPath);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, '');
  return {
    write(chunk, stream) {
      appendFileSync(abs, chunk);
      next?.write(chunk, stream);
    },
  };
}
