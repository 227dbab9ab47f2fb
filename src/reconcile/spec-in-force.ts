import { ReprodErrors, type ReprodError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import type { ReconcileSpec } from './reconciler-api.js';
import { indexStages, type StageIndex } from './stage-index.js';

/**
 * The spec in force and what is known of the newest: the last valid spec
 * with its orderings (over a one-shot pass's scope), and the newest one's
 * error while it is invalid. An invalid spec keeps the last good one; its
 * error is logged when it is new, not at every look.
 */
export class SpecInForce {
  private current: ReconcileSpec | undefined;
  private newestError: ReprodError | undefined;
  private stageIndex: StageIndex = { order: [], position: new Map(), ancestors: new Map(), descendants: new Map() };

  constructor(private readonly log: Logger) {}

  get spec(): ReconcileSpec | undefined {
    return this.current;
  }

  get error(): ReprodError | undefined {
    return this.newestError;
  }

  get index(): StageIndex {
    return this.stageIndex;
  }

  /** A valid spec is in force and the newest is valid: stages may be looked at and start. */
  get valid(): boolean {
    return this.current !== undefined && this.newestError === undefined;
  }

  rejected(err: ReprodError): void {
    const first = err instanceof ReprodErrors ? (err.errors[0] ?? err) : err;
    if (this.newestError?.message !== err.message) {
      this.log.warn({ file: first.source?.file, line: first.source?.line, key: first.source?.key, err: first.message }, 'the spec is invalid: keeping the last good one');
    }
    this.newestError = err;
  }

  accepted(spec: ReconcileSpec, scope: ReadonlySet<string> | undefined): void {
    if (this.newestError) this.log.info({}, 'the spec is valid again');
    this.newestError = undefined;
    this.current = spec;
    this.stageIndex = indexStages(spec.dag, scope);
  }
}
