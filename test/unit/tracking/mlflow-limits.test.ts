import { describe, expect, it } from 'vitest';
import { aliasProblem, fitRecords, isValidMlflowKey, MLFLOW_LIMITS, mlflowKey, planLogBatches, truncateValue, type LogBatch } from '../../../src/tracking/mlflow-limits.js';

const metric = (i: number) => ({ key: `m${i}`, value: i, timestamp: 1, step: 0 });
const kv = (p: string, i: number, value = 'v') => ({ key: `${p}${i}`, value });

describe('MLflow keys and values', () => {
  it('keeps valid keys and repairs the others', () => {
    expect(mlflowKey('train.C')).toBe('train.C');
    expect(mlflowKey('reprod.dep.data/processed')).toBe('reprod.dep.data/processed');
    expect(mlflowKey('a key-with_ünïcode')).toBe('a key-with_ünïcode');
    expect(mlflowKey('reprod.dep.gen@small:x+y')).toBe('reprod.dep.gen_small_x_y');
    expect(mlflowKey('/abs//a/./b/')).toBe('abs/a/b');
    expect(mlflowKey('../up')).toBe('__/up');
    expect(mlflowKey('')).toBe('_');
  });

  it('cuts long keys to 250 characters, keeping distinct keys distinct', () => {
    const a = mlflowKey(`reprod.dep.${'x'.repeat(300)}a`);
    const b = mlflowKey(`reprod.dep.${'x'.repeat(300)}b`);
    expect([...a]).toHaveLength(250);
    expect(a).not.toBe(b);
    expect(isValidMlflowKey(a)).toBe(true);
  });

  it('cuts values by characters (code points), marking the cut', () => {
    expect(truncateValue('abc', 5)).toBe('abc');
    const cut = truncateValue('é'.repeat(600), 500);
    expect([...cut]).toHaveLength(500);
    expect(cut.endsWith('...')).toBe(true);
  });

  it('fits records: one value per param (first), per tag (last), no NaN metrics, values cut', () => {
    const { data, notes } = fitRecords({
      params: [
        { key: 'p', value: '1' },
        { key: 'p', value: '2' },
        { key: 'long', value: 'x'.repeat(501) },
      ],
      metrics: [
        { key: 'ok', value: 1.5, timestamp: 1.7, step: 0 },
        { key: 'nan', value: NaN, timestamp: 1, step: 0 },
      ],
      tags: [
        { key: 't', value: 'a' },
        { key: 't', value: 'b' },
        { key: 'big', value: 'y'.repeat(6000) },
      ],
    });
    expect(data.params.map((p) => [p.key, p.value.length])).toEqual([
      ['p', 1],
      ['long', MLFLOW_LIMITS.paramValueLength],
    ]);
    expect(data.params[0]?.value).toBe('1');
    expect(data.metrics).toEqual([{ key: 'ok', value: 1.5, timestamp: 1, step: 0 }]);
    expect(data.tags.map((t) => [t.key, t.value.length])).toEqual([
      ['t', 1],
      ['big', MLFLOW_LIMITS.tagValueLength],
    ]);
    expect(data.tags[0]?.value).toBe('b');
    expect(notes.length).toBeGreaterThanOrEqual(4);
  });
});

describe('log-batch planning', () => {
  const count = (b: LogBatch) => b.params.length + b.metrics.length + b.tags.length;
  const bytes = (b: LogBatch) => Buffer.byteLength(JSON.stringify({ run_id: 'x'.repeat(32), ...b }));

  it('splits 2500 metrics, 250 params and 150 tags within every per-request limit, in order', () => {
    const data: LogBatch = {
      params: Array.from({ length: 250 }, (_, i) => kv('p', i)),
      metrics: Array.from({ length: 2500 }, (_, i) => metric(i)),
      tags: Array.from({ length: 150 }, (_, i) => kv('t', i)),
    };
    const batches = planLogBatches(data);
    for (const b of batches) {
      expect(b.metrics.length).toBeLessThanOrEqual(1000);
      expect(b.params.length).toBeLessThanOrEqual(100);
      expect(b.tags.length).toBeLessThanOrEqual(100);
      expect(count(b)).toBeLessThanOrEqual(1000);
      expect(bytes(b)).toBeLessThanOrEqual(1_000_000);
    }
    expect(batches.flatMap((b) => b.params)).toEqual(data.params);
    expect(batches.flatMap((b) => b.metrics)).toEqual(data.metrics);
    expect(batches.flatMap((b) => b.tags)).toEqual(data.tags);
  });

  it('keeps a request under 1 MB when values are large', () => {
    const data: LogBatch = { params: [], metrics: [], tags: Array.from({ length: 400 }, (_, i) => kv('t', i, '€'.repeat(5000))) };
    const batches = planLogBatches(data);
    for (const b of batches) expect(bytes(b)).toBeLessThanOrEqual(1_000_000);
    expect(batches.flatMap((b) => b.tags)).toHaveLength(400);
    expect(batches.length).toBeGreaterThanOrEqual(6);
  });

  it('makes no request for nothing', () => {
    expect(planLogBatches({ params: [], metrics: [], tags: [] })).toEqual([]);
  });
});

describe('aliases', () => {
  it('refuses what MLflow reserves or rejects', () => {
    expect(aliasProblem('champion')).toBeUndefined();
    expect(aliasProblem('candidate-2')).toBeUndefined();
    expect(aliasProblem('latest')).toMatch(/reserved/);
    expect(aliasProblem('V12')).toMatch(/reserved/);
    expect(aliasProblem('a b')).toMatch(/only contain/);
  });
});
