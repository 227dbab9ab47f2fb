import { ReprodError } from '../core/errors.js';
import type { Failure } from './data-sync.js';

/** Failures listed at most, the rest counted. */
const SHOWN = 20;

/** DVC's summary: `4 files pushed`, `1 file fetched and 2 files added`; empty when nothing happened. */
export function summary(counts: readonly [verb: string, n: number][]): string {
  const parts = counts.filter(([, n]) => n > 0).map(([verb, n]) => `${n} file${n > 1 ? 's' : ''} ${verb}`);
  if (parts.length <= 1) return parts[0] ?? '';
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/**
 * The error a command ends with when some objects did not move: each one
 * named with its reason (the first twenty, then a count), so that the user
 * sees what is incomplete; rerunning retries exactly those.
 */
export function failuresError(action: string, failed: readonly Failure[]): ReprodError {
  const lines = failed.slice(0, SHOWN).map((f) => `  ${f.name}: ${f.reason}`);
  if (failed.length > SHOWN) lines.push(`  … and ${failed.length - SHOWN} more`);
  const n = failed.length;
  return new ReprodError('TRANSFER', `${n} object${n === 1 ? '' : 's'} failed to ${action}:\n${lines.join('\n')}`);
}
