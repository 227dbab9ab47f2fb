import { ReprodError } from '../core/errors.js';

const OFF = new Set(['off', '0', 'false', 'no']);
const ON = new Set(['on', '1', 'true', 'yes', '']);

/**
 * Whether runs are recorded in MLflow: on by default, off with
 * `--no-tracking` (`flag` false) or `REPROD_TRACKING=off` (also `0`,
 * `false`, `no`), for pipelines of thousands of stages where a run per
 * stage costs more than it tells. Pure: the environment comes in.
 */
export function trackingOn(env: NodeJS.ProcessEnv, flag?: boolean): boolean {
  if (flag === false) return false;
  const raw = env['REPROD_TRACKING'];
  if (raw === undefined) return true;
  const value = raw.trim().toLowerCase();
  if (OFF.has(value)) return false;
  if (ON.has(value)) return true;
  throw new ReprodError('USAGE', `REPROD_TRACKING is '${raw}': it must be on or off`, {
    remedy: 'Set REPROD_TRACKING=off to record no MLflow runs (or pass --no-tracking), on or nothing to record them.',
  });
}
