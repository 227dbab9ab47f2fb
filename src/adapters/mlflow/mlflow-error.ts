import { ReprodError } from '../../core/errors.js';

/**
 * How a failed MLflow call is handled:
 *
 *   transient    network errors, timeouts, 5xx, 429: retried with backoff
 *   auth         401/403: kept and retried (credentials can be fixed), reported
 *   rejected     other 4xx: retrying cannot help; the record is set aside
 *   not-found    404 RESOURCE_DOES_NOT_EXIST (JSON)
 *   exists       400 RESOURCE_ALREADY_EXISTS
 *   unsupported  404 that is not MLflow's JSON (an endpoint the server lacks, e.g. no registry)
 */
export type MlflowFailure = 'transient' | 'auth' | 'rejected' | 'not-found' | 'exists' | 'unsupported';

export class MlflowError extends ReprodError {
  constructor(
    readonly kind: MlflowFailure,
    message: string,
    readonly status?: number,
    readonly errorCode?: string,
    cause?: unknown,
  ) {
    super('TRACKING', message, cause === undefined ? {} : { cause });
    this.name = 'MlflowError';
  }
}

export function isMlflowError(e: unknown, kind?: MlflowFailure): e is MlflowError {
  return e instanceof MlflowError && (kind === undefined || e.kind === kind);
}
