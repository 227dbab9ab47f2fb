import { ReprodError } from '../core/errors.js';

/** Edit distance (insert, delete, substitute, and swap of two neighbours, each 1). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const row = d[i] as number[];
      const up = d[i - 1] as number[];
      row[j] = Math.min((up[j] as number) + 1, (row[j - 1] as number) + 1, (up[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
    }
  }
  return (d[a.length] as number[])[b.length] as number;
}

/**
 * The names close to `name`, nearest first: within a third of its length in
 * edits (at least 1, at most 3), or those it is a prefix of.
 */
export function closeNames(name: string, names: readonly string[]): string[] {
  const limit = Math.min(3, Math.max(1, Math.floor(name.length / 3)));
  return names
    .map((n) => ({ n, d: n.startsWith(name) && name.length >= 2 ? 0.5 : distance(name.toLowerCase(), n.toLowerCase()) }))
    .filter((x) => x.d <= limit)
    .sort((x, y) => x.d - y.d || (x.n < y.n ? -1 : 1))
    .slice(0, 3)
    .map((x) => x.n);
}

const LISTED = 20;

/** What a target may name: each stage, and each foreach/matrix group once. */
export function stageNames(stages: readonly { name: string; group: string }[]): string[] {
  return [...new Set(stages.flatMap((s) => (s.group === s.name ? [s.name] : [s.group, s.name])))];
}

/**
 * The error for a stage name that is not in the pipeline: "did you mean"
 * for names close to it, and the stages there are (the first 20).
 */
export function unknownStage(name: string, names: readonly string[], where = 'the pipeline'): ReprodError {
  const close = closeNames(name, names);
  const hint = close.length > 0 ? `; did you mean ${close.map((n) => `'${n}'`).join(' or ')}?` : '';
  const listed = names.slice(0, LISTED).join(', ') + (names.length > LISTED ? `, and ${names.length - LISTED} more (reprod dag lists them all)` : '');
  return new ReprodError('STAGE_NOT_FOUND', `stage '${name}' does not exist in ${where}${hint}`, {
    remedy: names.length === 0 ? 'The pipeline has no stages yet: add one to dvc.yaml.' : `The stages are: ${listed}.`,
  });
}
