import { getDotted, isPyDict, pyEquals, pyStr, type PyDict, type PyValue } from '../core/pyvalue.js';
import type { LockStage } from '../core/types.js';
import type { ViewChange, ViewReason } from '../core/ports/web-view.js';
import type { StaleReason } from './status-docs.js';

/** What the workspace holds now, for the paths and params files a stage's reasons name. */
export interface CurrentValues {
  /** A params file's parsed content; undefined when it is missing or unreadable. */
  params(file: string): PyDict | undefined;
  /** A dependency's or output's md5 now; undefined when it does not exist. */
  md5(path: string): string | undefined;
}

/**
 * Why a stage is stale, with the values behind each reason, old (dvc.lock)
 * → new (the workspace): for a params key, every leaf that differs
 * (`params.yaml:train.C 1.0 → 0.5` under a reason about the whole `train`
 * section), for a dependency or an output its md5. Reasons without values
 * (command changed, image changed: its message already says from what to
 * what) carry no changes.
 */
export function staleDetail(reasons: readonly StaleReason[], entry: LockStage | undefined, now: CurrentValues): ViewReason[] {
  return reasons.map((r) => ({ code: r.code, message: r.message, changes: changesOf(r, entry, now) }));
}

function changesOf(r: StaleReason, entry: LockStage | undefined, now: CurrentValues): ViewChange[] {
  if (r.path === undefined) return [];
  if (r.code === 'params-changed') return paramChanges(r.path, r.key, entry?.params.get(r.path), now.params(r.path));
  const recorded = [...(entry?.deps ?? []), ...(entry?.outs ?? [])].find((e) => e.path === r.path);
  const current = now.md5(r.path);
  return [{ what: r.path, ...(recorded ? { old: recorded.md5 } : {}), ...(current !== undefined ? { new: current } : {}) }];
}

/** The locked and current values of one params key (or the whole file when `key` is absent), leaf by leaf. */
function paramChanges(file: string, key: string | undefined, locked: PyDict | undefined, actual: PyDict | undefined): ViewChange[] {
  if (key === undefined) return leafDiff(file, '', locked, actual);
  const old = locked?.get(key);
  const found = actual ? getDotted(actual, key) : { found: false as const };
  return leafDiff(file, key, old, found.found ? found.value : undefined);
}

/** Leaves of `a` and `b` (dicts walked by key, anything else a leaf) that differ, in `b`'s key order then `a`'s. */
function leafDiff(file: string, prefix: string, a: PyValue | undefined, b: PyValue | undefined): ViewChange[] {
  if (isPyDict(a ?? null) || isPyDict(b ?? null)) {
    const da = isPyDict(a ?? null) ? (a as PyDict) : undefined;
    const db = isPyDict(b ?? null) ? (b as PyDict) : undefined;
    if ((a !== undefined && !da) || (b !== undefined && !db)) return [leaf(file, prefix, a, b)];
    const keys = [...new Set([...(db?.keys() ?? []), ...(da?.keys() ?? [])])];
    return keys.flatMap((k) => leafDiff(file, prefix === '' ? k : `${prefix}.${k}`, da?.get(k), db?.get(k)));
  }
  if (a !== undefined && b !== undefined && pyEquals(a, b)) return [];
  if (a === undefined && b === undefined) return [];
  return [leaf(file, prefix, a, b)];
}

function leaf(file: string, key: string, a: PyValue | undefined, b: PyValue | undefined): ViewChange {
  return { what: key === '' ? file : `${file}:${key}`, ...(a !== undefined ? { old: pyStr(a) } : {}), ...(b !== undefined ? { new: pyStr(b) } : {}) };
}

/** An md5 as a person compares two: its first 8 digits. */
const shortMd5 = (v: string): string => (/^[0-9a-f]{32}(\.dir)?$/.test(v) ? `${v.slice(0, 8)}…` : v);

/**
 * Each reason in words, one per value that changed: `params.yaml:train.C
 * changed 1.0 → 0.5`, `data/raw.csv changed 1a2b3c4d… → 5e6f7a8b…`, `…
 * added` / `… deleted`; a reason without values in its own words.
 */
export function staleWords(detail: readonly ViewReason[]): string[] {
  return detail.flatMap((r) => {
    if (r.changes.length === 0) return [r.message];
    return r.changes.map((c) => {
      const isMd5 = r.code !== 'params-changed';
      const fmt = (v: string): string => (isMd5 ? shortMd5(v) : v);
      if (c.old !== undefined && c.old === c.new) return r.message;
      if (c.old !== undefined && c.new !== undefined) return `${c.what} changed ${fmt(c.old)} → ${fmt(c.new)}`;
      if (c.new !== undefined) return `${c.what} added (${fmt(c.new)})`;
      if (c.old !== undefined) return `${c.what} deleted (was ${fmt(c.old)})`;
      return r.message;
    });
  });
}
