import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OUTBOX_DIR } from '../../../../src/app/tracking.js';
import { MemoryLogger, MlflowTestServer, TestClock } from '../../../helpers/mlflow-server.js';
import { DELIVERED_WHOLE, openRestTracker, PassDriver, passWorkspace, serverSummary, stepsBetween, type PassStep } from '../../../helpers/outbox-pass.js';
import { tempDir } from '../../../helpers/workspace.js';

/**
 * The MLflow server goes down at some point of a pass and comes back later.
 * Whatever the point, and whether the process that journalled the records
 * delivers them or a later one does (a restart while the server is down),
 * the server ends up with the pass run and both stage runs FINISHED, the
 * stage runs nested under the pass run, each once, and nothing refused.
 */

/** Sleeps that take no time: they move the test clock and yield once. */
function fakeSleep(clock: TestClock) {
  return (ms: number) => {
    clock.advance(ms);
    return new Promise<void>((resolve) => setImmediate(resolve));
  };
}

/** The points of a pass where the server stops: the first step that finds it down. */
const OUTAGES: [string, PassStep][] = [
  ['before the pass run exists', 'start train'],
  ['while a stage runs', 'finish train'],
  ['between stage runs', 'start evaluate'],
  ['before the pass finishes', 'end pass'],
];

async function scenario(downAt: PassStep, restart: boolean) {
  using tmp = tempDir();
  const root = tmp.path;
  passWorkspace(root);
  const outboxDir = path.join(root, OUTBOX_DIR);
  await using server = await new MlflowTestServer().start();
  const clock = new TestClock();
  const log = new MemoryLogger();
  const open = () => openRestTracker({ root, outboxDir, uri: server.uri, clock, log, sleep: fakeSleep(clock) });

  const first = await open();
  const pass = new PassDriver(first, root, clock, log);
  await pass.steps(stepsBetween(undefined, downAt));
  // everything so far delivered, and the pump at rest (as between a daemon's passes)
  expect(await first.flush(60_000)).toEqual({ available: true, pending: 0, message: '' });
  await server.stop();
  await pass.steps(stepsBetween(downAt));
  expect(first.health().pending).toBeGreaterThan(0);

  let deliverer = first;
  if (restart) {
    await first.close();
    await server.start();
    deliverer = await open();
  } else {
    await server.start();
  }
  expect(await deliverer.flush(600_000)).toEqual({ available: true, pending: 0, message: '' });
  await deliverer.close();
  return serverSummary(server, outboxDir);
}

describe('MLflow outbox, the server down at any point of a pass', () => {
  for (const [what, downAt] of OUTAGES) {
    it(`delivers the pass whole when the server stops ${what}, in the same process`, async () => {
      expect(await scenario(downAt, false)).toEqual(DELIVERED_WHOLE);
    });

    it(`delivers the pass whole when the server stops ${what} and a new process delivers it`, async () => {
      expect(await scenario(downAt, true)).toEqual(DELIVERED_WHOLE);
    });
  }
});
