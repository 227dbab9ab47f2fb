import type { StageActors } from './stage-actors.js';
import type { SpecInForce } from './spec-in-force.js';

/** States after which a stage's downstream may look at it: nothing more will happen without new input. */
export const SETTLED: ReadonlySet<string> = new Set(['upToDate', 'frozen', 'failed', 'blocked', 'held']);

/** States that keep a pass open. */
const BUSY: readonly string[] = ['planning', 'deciding', 'queued', 'running', 'cancelled'];

/**
 * The reconciler's rules of *when*, over its actors and the spec's orderings:
 *
 *   a stage is looked at      when no ancestor is busy (else it WAITs)
 *   a queued stage starts     when a slot is free, no ancestor is busy and no descendant runs
 *   slots go                  upstream first (DVC's order)
 */
export class Scheduling {
  constructor(
    private readonly actors: StageActors,
    private readonly specs: SpecInForce,
    private readonly inQueue: (key: string) => boolean,
  ) {}

  /**
   * An ancestor that has not settled, or will be looked at again: a stage
   * waits for it. (A key in hand does not count by itself: its worker has
   * already sent CHECK or WAIT, and the state says which.)
   */
  busyAncestor(name: string): string | undefined {
    for (const a of this.specs.index.ancestors.get(name) ?? []) {
      if (this.inQueue(a)) return a;
      const st = this.actors.topState(a);
      if (st !== undefined && !SETTLED.has(st)) return a;
    }
    return undefined;
  }

  /** A direct upstream stage that failed, is blocked, or was cancelled by a person (held): the stage is blocked by it. */
  failedUpstream(name: string): { stage: string; cancelled: boolean } | undefined {
    for (const u of this.specs.spec?.dag.upstream.get(name) ?? []) {
      const st = this.actors.topState(u);
      if (st === 'failed' || st === 'blocked' || st === 'held') return { stage: u, cancelled: st === 'held' };
    }
    return undefined;
  }

  runningDescendant(name: string): string | undefined {
    const desc = this.specs.index.descendants.get(name);
    if (!desc) return undefined;
    for (const e of this.actors.state('running')) if (desc.has(e.name)) return e.name;
    return undefined;
  }

  /** Starts queued stages, upstream first, while fewer than `limit` run. */
  startQueued(limit: number): void {
    const queued = this.actors.state('queued');
    if (queued.size === 0) return;
    let running = this.actors.state('running').size;
    if (running >= limit) return;
    const position = this.specs.index.position;
    const candidates = [...queued].filter((e) => this.actors.isCurrent(e)).sort((a, b) => (position.get(a.name) ?? 0) - (position.get(b.name) ?? 0));
    for (const e of candidates) {
      if (running >= limit) return;
      if (!e.actor.getSnapshot().matches('queued')) continue;
      if (this.busyAncestor(e.name) !== undefined || this.runningDescendant(e.name) !== undefined) continue;
      e.actor.send({ type: 'START' });
      running++;
    }
  }

  /**
   * Whether a stage still works in the pass: planning, deciding, running,
   * queued (unless nothing can start: an invalid spec, a halted pass) or
   * cancelled (unless halted: nothing starts again); with `waitRetries`,
   * backing off too (a one-shot pass waits out the retries a manifest asked for).
   */
  passBusy(o: { canStart: boolean; halted: boolean; waitRetries: boolean }): boolean {
    for (const st of BUSY) {
      if (st === 'queued' && !o.canStart) continue;
      if (st === 'cancelled' && o.halted) continue;
      if (this.actors.state(st).size > 0) return true;
    }
    return o.waitRetries && this.actors.state('backoff').size > 0;
  }

  /** Waiting stages whose ancestors all settled and that nothing will look at again: a wake-up was missed. */
  unwokenWaiting(): string[] {
    const out: string[] = [];
    for (const e of this.actors.state('waiting')) {
      if (this.actors.isCurrent(e) && !this.inQueue(e.name) && this.busyAncestor(e.name) === undefined) out.push(e.name);
    }
    return out;
  }

  /** A stage about to rerun removes its outputs: whatever below it is reading them now reads a stale past. */
  cancelRunningBelow(name: string): void {
    const desc = this.specs.index.descendants.get(name);
    for (const e of [...this.actors.state('running')]) {
      if (desc?.has(e.name) && this.actors.isCurrent(e)) e.actor.send({ type: 'CANCEL', reason: `upstream stage '${name}' runs again` });
    }
  }
}
