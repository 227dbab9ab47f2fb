import { errorMessage } from '../core/errno.js';
import type { Logger } from '../core/ports.js';
import type { Stage } from '../core/types.js';
import type { HookCalls } from './hook-calls.js';
import { decisionOf, lastRunOf, outcomeCause, runSeconds, settledDecision, type StageDecision } from './outcome.js';
import type { PassLedger } from './pass-ledger.js';
import type { PassSummary, ReconcilerMetrics } from './reconciler-api.js';
import type { StageEmitted } from './stage-context.js';
import { topState, type StageSnapshot } from './stage-machine.js';
import { whyWords } from './stage-steps.js';
import type { StatusBook } from './status-book.js';

/**
 * What the reconciler tells of its passes and of each stage's verdict in
 * them: the pass's decision (the ledger, then the stageDecided hook); for a
 * run that ended, its metrics, its `stage finished` line, its last run in
 * status, and the tracking run's id once the stageFinished hook gives it;
 * for a pass, its hooks, metrics, line and status/pipeline.yaml.
 */
export class PassReports {
  constructor(
    private readonly o: { ledger: PassLedger; hooks: HookCalls; book: StatusBook; log: Logger; metrics?: ReconcilerMetrics | undefined },
  ) {}

  /** Something is looked at: a pass opens, unless one is open. */
  passActivity(now: Date): void {
    const id = this.o.ledger.begin(now);
    if (id !== undefined) this.o.hooks.passStarted(id);
  }

  passFinished(id: string, summary: PassSummary): void {
    const writer = this.o.book.writer;
    writer.markPipeline();
    this.o.metrics?.passFinished(summary);
    const quiet = summary.ran + summary.restored + summary.failed + summary.cancelled === 0;
    this.o.log[quiet ? 'debug' : 'info']({ passId: id, ran: summary.ran, restored: summary.restored, failed: summary.failed, cancelled: summary.cancelled }, 'pass finished');
    // tracking may have delivered meanwhile: TrackingAvailable is read again
    this.o.hooks.passFinished(id, summary, () => writer.markPipeline());
  }

  /** A stage settled: what settles without a run is decided here (a run that ended was decided when it finished). */
  settled(name: string, s: StageSnapshot): void {
    const st = topState(s);
    if (this.o.ledger.ranInPass(name) && (st === 'upToDate' || st === 'failed')) return;
    const d = settledDecision(name, st, s.context);
    if (d) this.decide(d, s.context.stage);
  }

  finished(e: Extract<StageEmitted, { type: 'finished' }>): void {
    const { outcome, plan } = e;
    const stage = plan.stage;
    const transient = outcome.kind === 'failed' && outcome.transient;
    const duration = runSeconds(outcome);
    this.o.metrics?.runFinished(e.stage, outcome.kind, duration, transient);
    this.o.ledger.runFinished(e.stage, outcome);
    this.decide(decisionOf(e.stage, outcome, plan.reasons), stage);
    const { runs, writer } = this.o.book;
    runs.finished(e.stage, lastRunOf(stage, outcome, plan.runtime));
    const err = outcome.kind === 'failed' ? errorMessage(outcome.error) : outcomeCause(outcome);
    // a run from the run-cache said nothing of why it was needed: it says it here
    const why = outcome.kind === 'restored' ? { why: whyWords(plan) } : {};
    this.o.log[outcome.kind === 'failed' ? 'warn' : 'info']({ stage: e.stage, runId: outcome.runId, outcome: outcome.kind, durationSeconds: duration, transient: transient || undefined, err, ...why }, 'stage finished');
    this.o.hooks.stageFinished(stage, outcome, plan, (trackingRunId) => {
      if (runs.tracked(e.stage, outcome.runId, trackingRunId)) writer.markStage(e.stage);
    });
  }

  private decide(d: StageDecision, stage: Stage): void {
    this.o.ledger.decide(d);
    this.o.hooks.stageDecided(d, stage);
  }
}
