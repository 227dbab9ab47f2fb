import { isPyDict, PyFloat, pyStr, type PyValue } from '../core/pyvalue.js';

/**
 * Nested mappings as flat `a.b.c` keys, the way `dvc params show` and
 * `dvc metrics show` name them.
 */

/**
 * Params: every leaf under `prefix`, its value as MLflow's Python client
 * would log it (`str()` of the Python value: `1.0`, `True`, `None`,
 * `[1, 2]`). Lists are leaves; an empty mapping has no leaves.
 */
export function flattenParams(value: PyValue, prefix: string): [string, string][] {
  if (!isPyDict(value)) return [[prefix, pyStr(value)]];
  const out: [string, string][] = [];
  for (const [k, v] of value) out.push(...flattenParams(v, prefix === '' ? k : `${prefix}.${k}`));
  return out;
}

/** A metric's number: ints, floats and bools (as 1 and 0, as `float(True)`); anything else is not a metric. */
export function metricNumber(v: PyValue): number | undefined {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof PyFloat) return v.value;
  return undefined;
}

/** Metrics: every numeric leaf of nested mappings; strings, lists and nulls are skipped. */
export function flattenMetrics(value: PyValue, prefix = ''): [string, number][] {
  if (!isPyDict(value)) {
    const n = metricNumber(value);
    return n === undefined || prefix === '' ? [] : [[prefix, n]];
  }
  const out: [string, number][] = [];
  for (const [k, v] of value) out.push(...flattenMetrics(v, prefix === '' ? k : `${prefix}.${k}`));
  return out;
}
