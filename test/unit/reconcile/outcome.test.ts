import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { lastRunOf, outcomeCause, settleOutcome, trackingResultOf } from '../../../src/reconcile/outcome.js';
import { fileStage } from '../../helpers/stages.js';

/** A run's cause, as status (`lastRun.error`) and tracking (`reprod.error`) give it. */

const stage = fileStage('a', ['in'], ['out']);
const host = { kind: 'host' as const, key: undefined };

describe('outcome causes', () => {
  it('a failure gives its message, a cancellation its reason, a success none', () => {
    expect(outcomeCause({ kind: 'failed', runId: 'r', error: new ReprodError('CMD_FAILED', 'exit code 1', { source: { file: 'dvc.yaml', line: 2 } }), transient: false })).toBe('exit code 1');
    expect(outcomeCause({ kind: 'cancelled', runId: 'r', reason: 'reprod is stopping' })).toBe('cancelled: reprod is stopping');
    expect(outcomeCause({ kind: 'cancelled', runId: 'r' })).toBe('cancelled: stopped');
    expect(outcomeCause({ kind: 'restored', runId: 'r', entry: { cmd: 'x', deps: [], params: new Map(), outs: [] } })).toBeUndefined();
  });

  it('a thrown error without a message still has a cause', () => {
    const o = settleOutcome('r', { thrown: new Error('') });
    expect(outcomeCause(o)).toBe('Error (with no message)');
    expect(trackingResultOf(o)).toEqual({ outcome: 'failed', action: 'ran', error: 'Error (with no message)' });
  });

  it("a cancelled run's lastRun and tracking record say why", () => {
    const o = { kind: 'cancelled' as const, runId: 'r', reason: 'its inputs changed while it ran' };
    expect(lastRunOf(stage, o, host)).toMatchObject({ outcome: 'Cancelled', error: 'cancelled: its inputs changed while it ran' });
    expect(trackingResultOf({ kind: 'cancelled', runId: 'r' })).toEqual({ outcome: 'cancelled', action: 'ran', error: 'cancelled: stopped' });
  });
});
