import { isPyDict, pyEquals, type PyDict, type PyValue, getDotted } from '../core/pyvalue.js';
import type { ChangeReason, HashInfo, ItemChange, LockFileEntry, LockStage, ParamsDep, Stage } from '../core/types.js';

/** What the observe step found on disk for one stage. */
export interface StageObservation {
  /** Hash of every dep and out path (workspace-relative); null = missing. */
  hashes: ReadonlyMap<string, HashInfo | null>;
  /** Parsed params files by workspace path; null = missing file. */
  params: ReadonlyMap<string, PyDict | null>;
  /** Whether the cache holds an object (and, for `.dir`, every file in it). */
  inCache(md5: string): boolean;
}

function lockEntryFor(entries: readonly LockFileEntry[] | undefined, defPath: string): LockFileEntry | undefined {
  return entries?.find((e) => e.path === defPath);
}

/**
 * DVC's workspace status of one dep or out: `deleted` when missing, `modified`
 * when its md5 differs from the lock's (or the lock has none: DVC reads a dep
 * without an entry as modified, not new).
 */
function itemChange(entry: LockFileEntry | undefined, actual: HashInfo | null | undefined): ItemChange | undefined {
  if (!actual) return 'deleted';
  if (!entry || entry.md5 !== actual.md5) return 'modified';
  // A DVC 2 entry (no `hash: md5`) holds a dos2unix md5: reprod cannot compare it, so it reruns the stage.
  if (entry.hash !== 'md5') return 'modified';
  return undefined;
}

/** Params status of one file, with DVC's key order: the listed keys, else file keys then lock keys. */
function paramsChanges(dep: ParamsDep, locked: PyDict | undefined, actual: PyDict | null | undefined): ChangeReason[] {
  if (!actual) return [{ kind: 'param', file: dep.path, key: null, change: 'deleted' }];
  if (!locked) return [{ kind: 'param', file: dep.path, key: null, change: 'new' }];
  const keys = dep.keys ?? [...new Set([...actual.keys(), ...locked.keys()])];
  const out: ChangeReason[] = [];
  for (const key of keys) {
    const now = dep.keys ? getDotted(actual, key) : actual.has(key) ? { found: true as const, value: actual.get(key) as PyValue } : { found: false as const };
    let change: ItemChange | undefined;
    if (!now.found) change = 'deleted';
    else if (!locked.has(key)) change = 'new';
    else if (!pyEquals(now.value, locked.get(key) as PyValue)) change = 'modified';
    if (change) out.push({ kind: 'param', file: dep.path, key, change });
  }
  return out;
}

/**
 * Why `stage` is stale, in the order DVC's `status` reports it: deps (files
 * then params), outs, `always changed`, `changed command`. Empty = up to date.
 * Paths are workspace-relative, as DVC prints them from the root: a stage
 * with `wdir: work` and dep `../data/a.txt` reports `data/a.txt`.
 * `lock` is the stage's dvc.lock entry, if any.
 */
export function stageStatus(stage: Stage, lock: LockStage | undefined, obs: StageObservation): ChangeReason[] {
  const reasons: ChangeReason[] = [];
  if (!stage.frozen) {
    for (const dep of stage.deps) {
      const change = itemChange(lockEntryFor(lock?.deps, dep.defPath), obs.hashes.get(dep.path));
      if (change) reasons.push({ kind: 'dep', path: dep.path, change });
    }
    for (const p of stage.params) {
      const locked = lock?.params.get(p.defPath);
      reasons.push(...paramsChanges(p, isPyDict(locked) ? locked : undefined, obs.params.get(p.path)));
    }
  }
  for (const out of stage.outs) {
    const entry = lockEntryFor(lock?.outs, out.defPath);
    const actual = obs.hashes.get(out.path);
    // DVC checks the cache first: a committed out whose object is gone is `not in cache`.
    if (entry && entry.hash === 'md5' && out.cache && !obs.inCache(entry.md5)) {
      reasons.push({ kind: 'out', path: out.path, change: 'not in cache' });
      continue;
    }
    const change = itemChange(entry, actual);
    if (change) reasons.push({ kind: 'out', path: out.path, change });
  }
  if (stage.alwaysChanged && !stage.frozen) reasons.push({ kind: 'always' });
  if (lock && !cmdEquals(lock.cmd, stage.cmd)) reasons.push({ kind: 'cmd' });
  return reasons;
}

function cmdEquals(a: string | string[], b: string | string[]): boolean {
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

type DvcDepsStatus = Record<string, string | Record<string, string>>;
export type DvcStatusEntry = string | { 'changed deps': DvcDepsStatus } | { 'changed outs': Record<string, string> };

/**
 * Renders reasons as `dvc status --json` does for one stage, so scripts written
 * for DVC keep working; reprod's own reasons use the same style
 * (`"changed image"`).
 */
export function toDvcStatusJson(reasons: readonly ChangeReason[]): DvcStatusEntry[] {
  const deps: DvcDepsStatus = {};
  const outs: Record<string, string> = {};
  const tail: string[] = [];
  for (const r of reasons) {
    switch (r.kind) {
      case 'dep':
        deps[r.path] = r.change;
        break;
      case 'param': {
        if (r.key === null) {
          deps[r.file] = r.change;
        } else {
          const cur = deps[r.file];
          const m = typeof cur === 'object' ? cur : {};
          m[r.key] = r.change;
          deps[r.file] = m;
        }
        break;
      }
      case 'out':
        outs[r.path] = r.change;
        break;
      case 'always':
        tail.unshift('always changed');
        break;
      case 'cmd':
        tail.push('changed command');
        break;
      case 'image':
        tail.push('changed image');
        break;
    }
  }
  const res: DvcStatusEntry[] = [];
  if (Object.keys(deps).length) res.push({ 'changed deps': deps });
  if (Object.keys(outs).length) res.push({ 'changed outs': outs });
  return [...res, ...tail];
}

/** `ctx:<12 hex>` / `sha256:<12 hex>`: enough to tell two apart, short enough to read. */
function shortKey(key: string | undefined): string {
  if (key === undefined) return 'none';
  const m = /^(ctx|sha256):([0-9a-f]{12})[0-9a-f]*$/.exec(key);
  return m ? `${m[1]}:${m[2]}` : key;
}

/** One line per reason for humans: `modified: data/raw.txt`, `params.yaml: train.lr modified`. */
export function describeReason(r: ChangeReason): string {
  switch (r.kind) {
    case 'dep':
      return `dep ${r.change}: ${r.path}`;
    case 'param':
      return r.key === null ? `params ${r.change}: ${r.file}` : `param ${r.change}: ${r.file}:${r.key}`;
    case 'out':
      return `out ${r.change}: ${r.path}`;
    case 'cmd':
      return 'command changed';
    case 'always':
      return 'always changed';
    case 'image':
      return r.what === 'context'
        ? `image context changed: ${shortKey(r.from)} -> ${shortKey(r.to)}`
        : `image changed: ${shortKey(r.from)} -> ${shortKey(r.to)}`;
  }
}

/** Stable machine names for reasons (logs, status manifests, metrics). */
export function reasonCode(r: ChangeReason): string {
  switch (r.kind) {
    case 'dep':
    case 'out':
      return r.change === 'not in cache' ? 'not-in-cache' : r.change;
    case 'param':
      return 'params-changed';
    case 'cmd':
      return 'cmd-changed';
    case 'always':
      return 'always-changed';
    case 'image':
      return 'image-changed';
  }
}
