import { createHash } from 'node:crypto';
import type { TrackedMetric, TrackedParam, TrackedTag } from '../core/ports.js';

/**
 * What an MLflow server accepts, and how records are fitted into it.
 *
 * Per `runs/log-batch` request (MLflow 2.x): at most 1000 metrics, 100
 * params, 100 tags, 1000 items in all and 1 MB of body. Keys are at most 250
 * characters of letters, digits, `_ - . / ` and space, and must not read as a
 * different path (`a//b`, `./a`, `/a`, `..`). Param values over 6000
 * characters are cut by MLflow 2.17 but rejected by older servers (MLflow 2.7
 * on DagsHub: 500), so reprod cuts them at 500; tag values at 5000 (older
 * servers' limit; newer accept 8000).
 */
export const MLFLOW_LIMITS = {
  metricsPerBatch: 1000,
  paramsPerBatch: 100,
  tagsPerBatch: 100,
  itemsPerBatch: 1000,
  bytesPerBatch: 1_000_000,
  keyLength: 250,
  paramValueLength: 500,
  tagValueLength: 5000,
} as const;

export type MlflowLimits = { readonly [K in keyof typeof MLFLOW_LIMITS]: number };

export interface LogBatch {
  params: TrackedParam[];
  metrics: TrackedMetric[];
  tags: TrackedTag[];
}

/** Characters MLflow allows in metric, param and tag keys (Python's `[/\w.\- ]`). */
const KEY_CHAR = /[/\p{L}\p{N}\p{M}_.\- ]/u;

function codePoints(s: string): string[] {
  return [...s];
}

/** The first `n` characters (code points, as Python counts), with a marker when cut. */
export function truncateValue(value: string, n: number): string {
  const cps = codePoints(value);
  if (cps.length <= n) return value;
  const marker = '...';
  return cps.slice(0, Math.max(0, n - marker.length)).join('') + marker;
}

/**
 * A key MLflow accepts, as close to `raw` as possible: other characters
 * become `_`, path-like oddities are smoothed (`a//b` → `a/b`, leading `/`
 * and `./` dropped, `..` segments → `__`), and an over-long key keeps its head
 * and gets a short hash of the whole, so distinct keys stay distinct.
 */
export function mlflowKey(raw: string, maxLength: number = MLFLOW_LIMITS.keyLength): string {
  let key = codePoints(raw)
    .map((c) => (KEY_CHAR.test(c) ? c : '_'))
    .join('');
  const segments = key.split('/').filter((s) => s !== '' && s !== '.');
  key = segments.map((s) => (s === '..' ? '__' : s)).join('/');
  if (key === '') key = '_';
  const cps = codePoints(key);
  if (cps.length > maxLength) {
    const hash = createHash('sha256').update(raw).digest('hex').slice(0, 8);
    key = `${cps.slice(0, maxLength - 9).join('')}-${hash}`;
  }
  return key;
}

/** Whether MLflow would accept `key` as it is. */
export function isValidMlflowKey(key: string, maxLength: number = MLFLOW_LIMITS.keyLength): boolean {
  return key !== '' && mlflowKey(key, maxLength) === key;
}

/**
 * Makes records acceptable to any MLflow 2.x server: keys made valid,
 * values cut, one value per param key (the first) and per tag key (the
 * last), metrics that JSON cannot carry (NaN, ±Infinity) dropped. Returns
 * what was changed, for the logs.
 */
export function fitRecords(data: LogBatch, limits: MlflowLimits = MLFLOW_LIMITS): { data: LogBatch; notes: string[] } {
  const notes: string[] = [];
  const params = new Map<string, TrackedParam>();
  for (const p of data.params) {
    const key = mlflowKey(p.key, limits.keyLength);
    if (key !== p.key) notes.push(`param key '${p.key}' logged as '${key}'`);
    const value = truncateValue(p.value, limits.paramValueLength);
    if (value !== p.value) notes.push(`param '${key}' cut to ${limits.paramValueLength} characters`);
    if (params.has(key)) {
      if (params.get(key)?.value !== value) notes.push(`param '${key}' given twice: the first value kept`);
      continue;
    }
    params.set(key, { key, value });
  }
  const tags = new Map<string, TrackedTag>();
  for (const t of data.tags) {
    const key = mlflowKey(t.key, limits.keyLength);
    if (key !== t.key) notes.push(`tag key '${t.key}' logged as '${key}'`);
    const value = truncateValue(t.value, limits.tagValueLength);
    if (value !== t.value) notes.push(`tag '${key}' cut to ${limits.tagValueLength} characters`);
    tags.delete(key);
    tags.set(key, { key, value });
  }
  const metrics: TrackedMetric[] = [];
  for (const m of data.metrics) {
    const key = mlflowKey(m.key, limits.keyLength);
    if (key !== m.key) notes.push(`metric key '${m.key}' logged as '${key}'`);
    if (!Number.isFinite(m.value)) {
      notes.push(`metric '${key}' is ${m.value}: not logged`);
      continue;
    }
    metrics.push({ key, value: m.value, timestamp: Math.trunc(m.timestamp), step: Math.trunc(m.step) });
  }
  return { data: { params: [...params.values()], metrics, tags: [...tags.values()] }, notes };
}

/** Bytes an item adds to a log-batch body (its JSON plus a comma). */
function itemBytes(item: TrackedParam | TrackedMetric | TrackedTag): number {
  return Buffer.byteLength(JSON.stringify(item), 'utf8') + 1;
}

/** Room kept for `{"run_id":"…","params":[],"metrics":[],"tags":[]}`. */
const BODY_OVERHEAD = 256;

/**
 * Splits records into `runs/log-batch` bodies within every limit, keeping
 * their order (params, then metrics, then tags). Fitted records
 * ({@link fitRecords}) always fit: one item is far below 1 MB.
 */
export function planLogBatches(data: LogBatch, limits: MlflowLimits = MLFLOW_LIMITS): LogBatch[] {
  const batches: LogBatch[] = [];
  let cur: LogBatch = { params: [], metrics: [], tags: [] };
  let bytes = BODY_OVERHEAD;
  const count = () => cur.params.length + cur.metrics.length + cur.tags.length;
  const flush = () => {
    if (count() > 0) batches.push(cur);
    cur = { params: [], metrics: [], tags: [] };
    bytes = BODY_OVERHEAD;
  };
  const add = <K extends keyof LogBatch>(kind: K, item: LogBatch[K][number], max: number) => {
    const size = itemBytes(item);
    if (cur[kind].length >= max || count() >= limits.itemsPerBatch || bytes + size > limits.bytesPerBatch) flush();
    (cur[kind] as LogBatch[K][number][]).push(item);
    bytes += size;
  };
  for (const p of data.params) add('params', p, limits.paramsPerBatch);
  for (const m of data.metrics) add('metrics', m, limits.metricsPerBatch);
  for (const t of data.tags) add('tags', t, limits.tagsPerBatch);
  flush();
  return batches;
}

/** MLflow reserves `latest` and `v<digits>` (any case); aliases are letters, digits, `_` and `-`. */
export function aliasProblem(alias: string): string | undefined {
  if (/^(latest|v\d+)$/i.test(alias)) return `alias '${alias}' is reserved by MLflow's registry`;
  if (!/^[\p{L}\p{N}_-]{1,255}$/u.test(alias)) return `alias '${alias}' may only contain letters, digits, '_' and '-'`;
  return undefined;
}
