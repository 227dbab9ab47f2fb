import type { Loaded } from '../metrics/data-file.js';
import { diffFiles, type DiffResult } from '../metrics/diff.js';
import { gatherMetrics, gatherParams, hasErrors, type RevResult } from '../metrics/results.js';
import { Revisions, revisionError, workspacePaths, type Revision } from './revisions.js';

/**
 * `metrics show`, `metrics diff` and `params diff`: DVC's
 * dvc/repo/metrics/{show,diff}.py and dvc/repo/params/{show,diff}.py,
 * reading each revision from git and the cache.
 */

export interface ShowOutcome {
  /** revision → result; `''` is the one key when no revision is asked for, as DVC's brancher names it. */
  results: Map<string, RevResult>;
  /** Revisions where something failed to load (DVC says so on stderr). */
  errored: string[];
}

export function showMetrics(root: string, targets: readonly string[]): ShowOutcome {
  const ws = new Revisions(root).workspace();
  const result: RevResult = { data: gatherMetrics(ws.tree, ws.pipelines, workspacePaths(targets)) };
  return { results: new Map([['', result]]), errored: hasErrors(result) ? [''] : [] };
}

export interface DiffOptions {
  aRev: string;
  bRev: string;
  /** Files to compare instead of the declared ones. */
  targets: readonly string[];
  /** Also list unchanged values. */
  all: boolean;
}

export interface DiffOutcome {
  diff: DiffResult;
  errored: string[];
}

export function diffMetrics(root: string, o: DiffOptions): DiffOutcome {
  const targets = workspacePaths(o.targets);
  return diffRevisions(root, 'metrics diff', o, (rev) => gatherMetrics(rev.tree, rev.pipelines, targets));
}

export function diffParams(root: string, o: DiffOptions & { deps: boolean }): DiffOutcome {
  const targets = workspacePaths(o.targets);
  return diffRevisions(root, 'params diff', o, (rev) => gatherParams(rev.tree, rev.pipelines, { targets, depsOnly: o.deps }));
}

/**
 * Gathers both revisions and compares them, as DVC's `diff` does: nothing
 * to compare before the first commit; revisions that name the same commit
 * are read once, under their names joined by `,` (so `HEAD main` on one
 * commit compares nothing, as in DVC); a revision whose dvc.yaml does not
 * load compares as empty and is reported as errored.
 */
function diffRevisions(root: string, command: string, o: DiffOptions, gather: (rev: Revision) => Map<string, Loaded>): DiffOutcome {
  const revisions = new Revisions(root);
  const git = revisions.requireGit(command);
  if (!git.hasCommits()) return { diff: new Map(), errored: [] };
  const groups = new Map<string, string[]>();
  for (const name of [o.aRev, o.bRev]) {
    const key = name === 'workspace' ? 'workspace' : git.resolve(name);
    const names = groups.get(key) ?? [];
    if (!names.includes(name)) names.push(name);
    groups.set(key, names);
  }
  const results = new Map<string, RevResult>();
  for (const [key, names] of groups) {
    const label = names.join(',');
    if (key === 'workspace') {
      results.set(label, { data: gather(revisions.workspace()) });
      continue;
    }
    try {
      results.set(label, { data: gather(revisions.at(label, key)) });
    } catch (e) {
      results.set(label, { error: revisionError(e) });
    }
  }
  const dataOf = (rev: string): Map<string, Loaded> => {
    const r = results.get(rev);
    return r && 'data' in r ? r.data : new Map();
  };
  const errored = [o.aRev, o.bRev].filter((rev, i, all) => all.indexOf(rev) === i && results.has(rev) && hasErrors(results.get(rev) as RevResult));
  return { diff: diffFiles(dataOf(o.aRev), dataOf(o.bRev), o.all), errored };
}
