import type { Dag } from '../pipeline/dag.js';
import type { StageActors } from './stage-actors.js';
import type { StageIndex } from './stage-index.js';

/** States after which a stage's downstream may look at it: nothing more will happen without new input. */
export const SETTLED: ReadonlySet<string> = new Set(['upToDate', 'frozen', 'failed', 'blocked', 'held']);

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
    private readonly index: () => StageIndex,
    private readonly dag: () => Dag | undefined,
    private readonly inQueue: (key: string) => boolean,
  ) {}

  /**
   * An ancestor that has not settled, or will be looked at again: a stage
   * waits for it. (A key in hand does not count by itself: its worker has
   * already sent CHECK or WAIT, and the state says which.)
   */
  busyAncestor(name: string): string | undefined {
    for (const a of this.index().ancestors.get(name) ?? []) {
      if (this.inQueue(a)) return a;
      const st = this.actors.topState(a);
      if (st !== undefined && !SETTLED.has(st)) return a;
    }
    return undefined;
  }

  /** A direct upstream stage that failed, is blocked, or was cancelled by a person (held): the stage is blocked by it. */
  failedUpstream(name: string): { stage: string; cancelled: boolean } | undefined {
    for (const u of this.dag()?.upstream.get(name) ?? []) {
      const st = this.actors.topState(u);
      if (st === 'failed' || st === 'blocked' || st === 'held') return { stage: u, cancelled: st === 'held' };
    }
    return undefined;
  }

  runningDescendant(name: string): string | undefined {
    const desc = this.index().descendants.get(name);
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
    const position = this.index().position;
    const candidates = [...queued].filter((e) => this.actors.isCurrent(e)).sort((a, b) => (position.get(a.name) ?? 0) - (position.get(b.name) ?? 0));
    for (const e of candidates) {
      if (running >= limit) return;
      if (!e.actor.getSnapshot().matches('queued')) continue;
      if (this.busyAncestor(e.name) !== undefined || this.runningDescendant(e.name) !== undefined) continue;
      e.actor.send({ type: 'START' });
      running++;
    }
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
    const desc = this.index().descendants.get(name);
    for (const e of [...this.actors.state('running')]) {
      if (desc?.has(e.name) && this.actors.isCurrent(e)) e.actor.send({ type: 'CANCEL', reason: `upstream stage '${name}' runs again` });
    }
  }
}
