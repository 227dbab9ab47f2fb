import { errorMessage } from '../core/errno.js';
import type { Logger } from '../core/ports.js';
import type { Stage } from '../core/types.js';
import type { StageDecision, StageOutcome } from './outcome.js';
import type { PassSummary, ReconcilerHooks } from './reconciler-api.js';
import type { StagePlan } from './stage-steps.js';

/**
 * The reconciler's hooks, called so that none can hurt it: a hook that throws
 * is logged and otherwise ignored, the slow ones run beside the engine, and
 * `settle()` waits for those still running (the reconciler stops only after).
 * `stageStarting` is not here: it runs inside a stage's run (stage-actors.ts).
 */
export class HookCalls {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly hooks: ReconcilerHooks | undefined,
    private readonly log: Logger,
  ) {}

  passStarted(passId: string): void {
    const hook = this.hooks?.passStarted;
    if (hook) this.track(() => hook(passId), { passId, hook: 'passStarted' });
  }

  /** `tracked` gets the tracking run's id, when the hook returns one. */
  stageFinished(stage: Stage, outcome: StageOutcome, plan: StagePlan, tracked: (trackingRunId: string) => void): void {
    const hook = this.hooks?.stageFinished;
    if (!hook) return;
    this.track(
      async () => {
        const r = await hook(stage, outcome, plan);
        if (r?.trackingRunId) tracked(r.trackingRunId);
      },
      { stage: stage.name, hook: 'stageFinished' },
    );
  }

  /** Synchronous: presentation (the CLI's lines) follows the decisions in their order. */
  stageDecided(d: StageDecision, stage: Stage): void {
    try {
      this.hooks?.stageDecided?.(d, stage);
    } catch (err) {
      this.log.warn({ stage: d.stage, err: errorMessage(err) }, 'the stageDecided hook failed');
    }
  }

  /** `then` runs once the hook is done (tracking may have delivered meanwhile). */
  passFinished(passId: string, summary: PassSummary, then: () => void): void {
    const hook = this.hooks?.passFinished;
    if (!hook) return;
    this.track(
      async () => {
        await hook(passId, summary);
        then();
      },
      { passId, hook: 'passFinished' },
    );
  }

  /** Resolves when no hook call is running. */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private track(fn: () => unknown, ctx: Record<string, string>): void {
    const call = Promise.resolve()
      .then(fn)
      .catch((err: unknown) => this.log.warn({ ...ctx, err: errorMessage(err) }, 'a reconciler hook failed'));
    this.inFlight.add(call);
    void call.finally(() => this.inFlight.delete(call));
  }
}
