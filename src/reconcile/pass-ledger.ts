import type { StagePhase } from '../status/status-docs.js';
import type { StageDecision, StageOutcome } from './outcome.js';
import type { PassSummary } from './reconciler-api.js';

/** One pass as it goes: when it began, and every stage's last decision. */
interface OpenPass {
  id: string;
  startedAt: Date;
  ran: number;
  restored: number;
  failed: number;
  cancelled: number;
  decisions: Map<string, StageDecision>;
  /** Stages whose run finished in this pass: their settling is already decided. */
  finished: Set<string>;
}

/**
 * The pass accounting of the reconciler: a pass opens with the first key
 * looked at and closes when nothing is left to do (the reconciler says when).
 * It counts the runs that ended and keeps each stage's last decision, which
 * is what `reprod repro` prints and what decides its exit code.
 */
export class PassLedger {
  private open: OpenPass | undefined;
  private seq = 0;
  private count = 0;
  private last: { startedAt: Date; finishedAt: Date; ran: number; failed: number } | undefined;

  constructor(private readonly newPassId?: () => string) {}

  get current(): { id: string } | undefined {
    return this.open;
  }

  get passes(): number {
    return this.count;
  }

  /** The last pass that ended, for status/pipeline.yaml. */
  get lastPass(): { startedAt: Date; finishedAt: Date; ran: number; failed: number } | undefined {
    return this.last;
  }

  /** Opens a pass when none is open; returns its id when this call opened it. */
  begin(now: Date): string | undefined {
    if (this.open) return undefined;
    const id = this.newPassId?.() ?? `pass-${++this.seq}`;
    this.open = { id, startedAt: now, ran: 0, restored: 0, failed: 0, cancelled: 0, decisions: new Map(), finished: new Set() };
    return id;
  }

  runFinished(stage: string, outcome: StageOutcome): void {
    const p = this.open;
    if (!p) return;
    if (outcome.kind === 'ran') p.ran++;
    else if (outcome.kind === 'restored') p.restored++;
    else if (outcome.kind === 'failed') p.failed++;
    else p.cancelled++;
    p.finished.add(stage);
  }

  /** True when the stage's run ended in this pass (its settling needs no decision of its own). */
  ranInPass(stage: string): boolean {
    return this.open?.finished.has(stage) ?? false;
  }

  decide(d: StageDecision): void {
    const p = this.open;
    if (!p) return;
    // a stage decided again (cancelled, then ran) keeps its first place
    p.decisions.set(d.stage, d);
  }

  /** Closes the open pass. */
  end(now: Date, phases: Record<string, StagePhase>): { id: string; summary: PassSummary } | undefined {
    const p = this.open;
    if (!p) return undefined;
    this.open = undefined;
    this.count++;
    const summary: PassSummary = {
      startedAt: p.startedAt,
      finishedAt: now,
      ran: p.ran,
      restored: p.restored,
      failed: p.failed,
      cancelled: p.cancelled,
      phases,
      decisions: [...p.decisions.values()],
    };
    this.last = { startedAt: p.startedAt, finishedAt: now, ran: p.ran + p.restored, failed: p.failed };
    return { id: p.id, summary };
  }
}
