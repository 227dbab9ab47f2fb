import type { RuntimeIdentity } from '../core/ports.js';
import type { ChangeReason } from '../core/types.js';
import type { StagePhase } from '../status/status-docs.js';
import { topState, type StageSnapshot } from './stage-machine.js';

/** What status/<stage>.yaml says about a machine state. */
export interface StageProjection {
  phase: StagePhase;
  reasons: readonly ChangeReason[];
  message?: string;
  retries?: number;
  /** What the stage runs in, when a plan said. */
  runtime?: RuntimeIdentity;
  /** Cancelled by a person, and held so. */
  held?: boolean;
}

/**
 * Projects a stage machine's state onto a status phase. States that are only
 * on the way to a verdict (idle, waiting, planning) project to nothing: the
 * status keeps saying what was last known rather than flickering; a plan
 * that has to read a lot says so.
 *
 *   planning, reading much ─► Hashing          running, building its image ─► Building
 *   queued ─► Queued     running ─► Running    backoff ─► Backoff
 *   upToDate ─► UpToDate frozen ─► Frozen      failed ─► Failed
 *   blocked ─► Blocked   cancelled ─► Cancelled   held (cancelled by a person) ─► Cancelled
 */
export function projectStage(s: StageSnapshot, runId?: string): StageProjection | undefined {
  const c = s.context;
  const reasons = c.plan?.reasons ?? [];
  const runtime = c.plan ? { runtime: c.plan.runtime } : {};
  switch (topState(s)) {
    case 'planning':
      // a plan that reads inputs whose recorded hashes no longer hold (a large file, a folder of many): it may take a while
      if (c.step?.step !== 'hashing') return undefined;
      return { phase: 'Hashing', reasons, message: `hashing ${c.step.detail ?? 'its inputs'}`, ...runtime };
    case 'queued':
      return { phase: 'Queued', reasons, ...runtime };
    case 'running':
      if (c.step?.step === 'building' && !s.matches({ running: 'cancelling' })) {
        return { phase: 'Building', reasons, message: `building image ${c.step.detail ?? ''}`.trimEnd(), ...runtime };
      }
      return {
        phase: 'Running',
        reasons,
        // the stale reasons say why it runs; a cancellation says why it stops
        ...(s.matches({ running: 'cancelling' }) ? { message: `cancelling${runId ? ` run ${runId}` : ''}: ${c.cancelReason ?? 'stopped'}` } : {}),
        ...runtime,
      };
    case 'backoff':
      return {
        phase: 'Backoff',
        reasons,
        message: `retry ${c.retries} of ${c.retry.limit} after a transient failure: ${c.error ?? 'unknown error'}`,
        retries: c.retries,
        ...runtime,
      };
    case 'engineUnavailable':
      return { phase: 'EngineUnavailable', reasons, message: `waiting for the container engine: ${c.error ?? 'it does not answer'}`, ...runtime };
    case 'upToDate':
      return { phase: 'UpToDate', reasons: [], ...runtime };
    case 'frozen':
      return { phase: 'Frozen', reasons: [], ...runtime };
    case 'failed':
      return {
        phase: 'Failed',
        reasons,
        message: `${c.error ?? 'failed'}${c.failedFingerprint ? ' (runs again when its inputs change)' : ''}`,
        ...runtime,
      };
    case 'blocked':
      return { phase: 'Blocked', reasons, message: `upstream stage '${c.upstreamFailed ?? '?'}' ${c.upstreamCancelled ? 'was cancelled' : 'failed'}`, ...runtime };
    case 'held':
      return { phase: 'Cancelled', reasons, message: `cancelled: ${c.cancelReason ?? 'stopped'} (runs again when its inputs change, or when a rerun is asked)`, held: true, ...runtime };
    case 'cancelled':
      return { phase: 'Cancelled', reasons, message: `cancelled: ${c.cancelReason ?? 'stopped'}`, ...runtime };
    default:
      return undefined;
  }
}
