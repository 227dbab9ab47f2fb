import { isPyDict, PyFloat, type PyDict, type PyValue } from '../core/pyvalue.js';
import type { Pipeline } from '../core/types.js';
import { isFalsy } from '../pipeline/params-file.js';
import { metricsFiles, paramsFiles, type ParamsSelection } from './collect.js';
import { loadDataFile, type EncodedError, type Loaded } from './data-file.js';
import type { RevTree } from './rev-tree.js';

/**
 * What `metrics show` and `params show` gather at one revision, shaped as
 * DVC's `Result`: `{"data": {path: {"data": ...} | {"error": ...}}}`, or an
 * error for the whole revision (its dvc.yaml did not load).
 */
export type RevResult = { data: Map<string, Loaded> } | { error: EncodedError };

/** DVC's `_extract_metrics`: numbers, strings and booleans, in mappings; lists and nulls dropped. */
export function extractMetrics(v: PyValue): PyValue | undefined {
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean' || typeof v === 'string' || v instanceof PyFloat) return v;
  if (!isPyDict(v)) return undefined;
  const out: PyDict = new Map();
  for (const [k, x] of v) {
    const m = extractMetrics(x);
    if (m !== undefined && !(isPyDict(m) && m.size === 0)) out.set(k, m);
  }
  return out;
}

/** Every metrics file of this revision (or the targets), read. */
export function gatherMetrics(tree: RevTree, pipelines: readonly Pipeline[], targets: readonly string[]): Map<string, Loaded> {
  const data = new Map<string, Loaded>();
  for (const file of metricsFiles(tree, pipelines, targets)) {
    const loaded = loadDataFile(tree, file);
    if ('error' in loaded) {
      data.set(file, loaded);
      continue;
    }
    const m = extractMetrics(loaded.data);
    data.set(file, { data: m === undefined || isFalsy(m) ? new Map() : m });
  }
  return data;
}

/** Every params file of this revision, read, keeping only the keys asked for (all when none are). */
export function gatherParams(tree: RevTree, pipelines: readonly Pipeline[], sel: ParamsSelection): Map<string, Loaded> {
  const data = new Map<string, Loaded>();
  for (const [file, keys] of paramsFiles(tree, pipelines, sel)) {
    const loaded = loadDataFile(tree, file);
    data.set(file, 'error' in loaded || keys.length === 0 ? loaded : { data: selectKeys(loaded.data, keys) });
  }
  return data;
}

/**
 * DVC's `read_param_file` with key paths: the dotted keys found, merged into
 * one mapping in the order they are asked for, each under its full path
 * (`train.lr` → `{train: {lr: ...}}`). Keys not in the file are left out.
 */
export function selectKeys(config: PyValue, keys: readonly string[]): PyDict {
  const out: PyDict = new Map();
  for (const key of new Set(keys)) {
    const parts = key.split('.');
    let cur: PyValue = config;
    let found = true;
    for (const part of parts) {
      if (isPyDict(cur) && cur.has(part)) cur = cur.get(part) as PyValue;
      else {
        found = false;
        break;
      }
    }
    if (!found) continue;
    let into = out;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) {
        into.set(part, deepCopy(cur));
        return;
      }
      const next = into.get(part);
      if (isPyDict(next)) into = next;
      else {
        const fresh: PyDict = new Map();
        into.set(part, fresh);
        into = fresh;
      }
    });
  }
  return out;
}

function deepCopy(v: PyValue): PyValue {
  if (Array.isArray(v)) return v.map(deepCopy);
  if (isPyDict(v)) return new Map([...v].map(([k, x]) => [k, deepCopy(x)]));
  return v;
}

/** The `--json` shape of one revision's result. */
export function revResultJson(r: RevResult): PyDict {
  if ('error' in r) return new Map([['error', errorJson(r.error)]]);
  const files: PyDict = new Map();
  for (const [path, loaded] of r.data) files.set(path, loadedJson(loaded));
  return new Map([['data', files]]);
}

export function loadedJson(l: Loaded): PyDict {
  return 'error' in l ? new Map([['error', errorJson(l.error)]]) : new Map([['data', l.data]]);
}

export function errorJson(e: EncodedError): PyDict {
  return new Map([
    ['type', e.type],
    ['msg', e.msg],
  ]);
}

/** True when any file (or the revision itself) failed to load: DVC then names the revision on stderr. */
export function hasErrors(r: RevResult): boolean {
  return 'error' in r || [...r.data.values()].some((l) => 'error' in l);
}
