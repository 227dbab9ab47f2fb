import { errorMessage } from '../core/errno.js';
import type { Logger } from '../core/ports.js';
import type { HookCalls } from './hook-calls.js';
import type { StageActors } from './stage-actors.js';
import type { StatusWriter } from './status-writer.js';

/**
 * How the reconciler stops once its queue is shut: every run is cancelled
 * and waited for (containers removed), plans under way are dropped (looked
 * at again at the next start), the workers and the hooks settle, status and
 * the hash state are written, and the actors are let go. A one-shot pass
 * (`quiet`) says `stopping` only when it cancels something.
 */
export async function shutDown(o: {
  actors: StageActors;
  status: StatusWriter;
  hooks: HookCalls;
  log: Logger;
  workers: Promise<void>[];
  flush(): Promise<void>;
  quiet: boolean;
}): Promise<void> {
  const { actors, status, log } = o;
  const { running, queued } = actors.stopAll('reprod is stopping');
  for (const name of queued) status.markStage(name);
  if (running.length > 0 || !o.quiet) log.info({ cancelling: running.length }, 'stopping');
  await Promise.all(o.workers);
  await Promise.all(running.map((a) => actors.until(a, (s) => !s.matches('running'))));
  await o.hooks.settle();
  status.markPipeline();
  await status.idle();
  try {
    await o.flush();
  } catch (err) {
    log.warn({ err: errorMessage(err) }, 'could not persist the hash state');
  }
  for (const e of [...actors.all()]) actors.dispose(e);
}
