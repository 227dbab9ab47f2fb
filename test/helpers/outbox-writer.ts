import { createInterface } from 'node:readline';
import { abortableSleep } from '../../src/core/sleep.js';
import { systemClock } from '../../src/core/ports.js';
import { MemoryLogger } from './mlflow-server.js';
import { openRestTracker, PASS_STEPS, PassDriver, type PassStep } from './outbox-pass.js';

/**
 * A process that records a pass through the outbox, one step per line read
 * from stdin, answering `ok <step>` (or `error <message>`) on stdout, so
 * that a test can take the server down between steps and kill this process
 * with SIGKILL at any point:
 *
 *   node --import tsx test/helpers/outbox-writer.ts '{"root","outboxDir","uri","pid"?,"hostname"?}'
 *
 * Steps: those of PASS_STEPS, and `idle` (waits until every record journalled so far is delivered).
 */

interface WriterConfig {
  root: string;
  outboxDir: string;
  uri: string;
  pid?: number;
  hostname?: string;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as WriterConfig;
const log = new MemoryLogger();
const tracker = await openRestTracker({
  root: cfg.root,
  outboxDir: cfg.outboxDir,
  uri: cfg.uri,
  clock: systemClock,
  log,
  sleep: abortableSleep,
  ...(cfg.pid !== undefined ? { pid: cfg.pid } : {}),
  ...(cfg.hostname !== undefined ? { hostname: cfg.hostname } : {}),
});
const pass = new PassDriver(tracker, cfg.root, systemClock, log);
process.stdout.write('ok open\n');

for await (const line of createInterface({ input: process.stdin })) {
  const step = line.trim();
  try {
    if (step === 'idle') await tracker.whenIdle();
    else if ((PASS_STEPS as readonly string[]).includes(step)) await pass.step(step as PassStep);
    else throw new Error(`unknown step '${step}'`);
    process.stdout.write(`ok ${step}\n`);
  } catch (e) {
    process.stdout.write(`error ${e instanceof Error ? e.message : String(e)}\n`);
  }
}
