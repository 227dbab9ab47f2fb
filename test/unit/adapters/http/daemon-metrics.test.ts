import { describe, expect, it } from 'vitest';
import { DaemonMetrics } from '../../../../src/adapters/http/daemon-metrics.js';
import { Counter, Histogram, Registry } from '../../../../src/adapters/http/prometheus.js';
import type { ReconcilerStats } from '../../../../src/reconcile/reconciler.js';

describe('Prometheus text format', () => {
  it('prints HELP and TYPE, sorted series, escaped labels and cumulative buckets', () => {
    const r = new Registry();
    const c = r.register(new Counter('x_total', 'Things.\nCounted.', ['name']));
    const h = r.register(new Histogram('d_seconds', 'Durations.', ['name'], [1, 5]));
    c.inc({ name: 'b' });
    c.inc({ name: 'a"q\\' }, 2);
    h.observe({ name: 'a' }, 0.5);
    h.observe({ name: 'a' }, 3);
    h.observe({ name: 'a' }, 10);
    expect(r.render()).toBe(
      [
        '# HELP x_total Things.\\nCounted.',
        '# TYPE x_total counter',
        'x_total{name="a\\"q\\\\"} 2',
        'x_total{name="b"} 1',
        '# HELP d_seconds Durations.',
        '# TYPE d_seconds histogram',
        'd_seconds_bucket{name="a",le="1"} 1',
        'd_seconds_bucket{name="a",le="5"} 2',
        'd_seconds_bucket{name="a",le="+Inf"} 3',
        'd_seconds_sum{name="a"} 13.5',
        'd_seconds_count{name="a"} 3',
        '',
      ].join('\n'),
    );
    expect(() => c.inc({}, -1)).toThrow(RangeError);
    expect(() => r.register(new Counter('x_total', 'again'))).toThrow(/twice/);
  });
});

describe('DaemonMetrics', () => {
  it('counts runs, failures, durations and passes, and reads gauges from the reconciler at scrape time', () => {
    let stats: ReconcilerStats = {
      alive: true,
      engineUp: false,
      specValid: true,
      stages: 3,
      actors: 3,
      running: 1,
      queueDepth: 2,
      queueWaiting: 1,
      passes: 0,
      lastPassAt: undefined,
      phases: { a: 'UpToDate', b: 'Running', c: 'Failed' },
    };
    const m = new DaemonMetrics(() => stats);
    m.runFinished('a', 'ran', 2, false);
    m.runFinished('c', 'failed', 1, false);
    m.runFinished('c', 'failed', undefined, true);
    m.passFinished({ startedAt: new Date(1_000_000), finishedAt: new Date(1_004_000), ran: 1, restored: 0, failed: 1, cancelled: 0, phases: {}, decisions: [] });
    const text = m.render();
    for (const line of [
      'reprod_stage_runs_total{stage="a",outcome="ran"} 1',
      'reprod_stage_runs_total{stage="c",outcome="failed"} 2',
      'reprod_stage_failures_total{stage="c",kind="permanent"} 1',
      'reprod_stage_failures_total{stage="c",kind="transient"} 1',
      'reprod_stage_run_duration_seconds_count{stage="c"} 1',
      'reprod_passes_total 1',
      'reprod_last_pass_timestamp_seconds 1004',
      'reprod_last_pass_duration_seconds 4',
      'reprod_queue_depth 2',
      'reprod_queue_delayed 1',
      'reprod_stages_running 1',
      'reprod_stages{phase="Failed"} 1',
      'reprod_stages{phase="Queued"} 0',
      'reprod_spec_valid 1',
      'reprod_up 1',
      'reprod_engine_up 0',
    ]) {
      expect(text).toContain(`${line}\n`);
    }
    expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
    stats = { ...stats, specValid: false, alive: false };
    expect(m.render()).toContain('reprod_spec_valid 0\n');
  });
});
