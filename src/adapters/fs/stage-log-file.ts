import { appendFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FileOwner, StageLogSink } from '../../core/ports.js';
import { giveToSync, mkdirOwnedSync } from './file-owner.js';

/**
 * A stage's output in `status/logs/<stage>.log`, started afresh for each run,
 * and optionally passed on (to a terminal, to pino). Appends are synchronous so
 * that the file is complete when the run's result is reported. The file and
 * its folders belong to `owner` when given (see file-owner.ts).
 */
export function stageLogFile(root: string, relPath: string, next?: StageLogSink, owner?: FileOwner): StageLogSink {
  const abs = path.join(root, relPath);
  mkdirOwnedSync(path.dirname(abs), owner);
  writeFileSync(abs, '');
  giveToSync(owner, abs);
  return {
    write(chunk, stream) {
      appendFileSync(abs, chunk);
      next?.write(chunk, stream);
    },
    end() {
      next?.end?.();
    },
  };
}
