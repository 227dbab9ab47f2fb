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
  const corrupt = failed.filter((f) => f.corrupt !== undefined);
  return new ReprodError('TRANSFER', `${n} object${n === 1 ? '' : 's'} failed to ${action}:\n${lines.join('\n')}`, corrupt.length > 0 ? { remedy: corruptRemedy(corrupt, n) } : {});
}

/**
 * What to do about objects whose remote copy does not hash to its name:
 * running the command again fetches the same bytes, so the copy on the
 * remote has to be replaced from a cache that holds the right content.
 */
function corruptRemedy(corrupt: readonly Failure[], all: number): string {
  const shown = corrupt.slice(0, 3).map((f) => `${f.key} on ${f.corrupt?.remote ?? 'the remote'} (${f.name})`);
  const more = corrupt.length > shown.length ? ` and ${corrupt.length - shown.length} more` : '';
  const names = corrupt.slice(0, 3).map((f) => f.name);
  const n = corrupt.length;
  return [
    `The remote's cop${n === 1 ? 'y' : 'ies'} of ${shown.join(', ')}${more} ${n === 1 ? 'does' : 'do'} not match ${n === 1 ? 'its' : 'their'} md5 (the name ${n === 1 ? 'it is' : 'they are'} stored under):`,
    `damaged on the remote, or written there by a broken upload. Nothing corrupt was cached, and fetching again gets the same bytes.`,
    `To fix: delete ${n === 1 ? 'that object' : 'those objects'} on the remote, then push ${n === 1 ? 'it' : 'them'} again from a workspace whose cache has the right content (\`reprod push ${names.join(' ')}\` there),`,
    `or re-run the stage that makes ${n === 1 ? 'it' : 'them'} and push.${all > n ? ' The other failures: run the command again; objects already transferred are not sent again.' : ''}`,
  ].join(' ');
}
