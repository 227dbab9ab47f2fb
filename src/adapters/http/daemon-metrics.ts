import type { PassSummary, ReconcilerMetrics, ReconcilerStats } from '../../reconcile/reconciler.js';
import type { StageOutcome } from '../../reconcile/outcome.js';
import { Counter, Gauge, Histogram, Registry } from './prometheus.js';

const PHASES = ['UpToDate', 'Stale', 'Hashing', 'Queued', 'Building', 'Running', 'Failed', 'Blocked', 'Cancelled', 'Frozen', 'Backoff', 'EngineUnavailable'] as const;

/**
 * The daemon's Prometheus metrics: counters and histograms fed by the
 * reconciler as runs and passes end, gauges read from its stats at scrape
 * time, and the process's own CPU and memory.
 */
export class DaemonMetrics implements ReconcilerMetrics {
  private readonly registry = new Registry();
  private readonly runs = this.registry.register(new Counter('reprod_stage_runs_total', 'Stage runs that ended, by stage and outcome (ran, restored, failed, cancelled).', ['stage', 'outcome']));
  private readonly failures = this.registry.register(
    new Counter('reprod_stage_failures_total', 'Failed stage runs, by stage and kind (transient: retried with backoff; permanent: waits for new inputs).', ['stage', 'kind']),
  );
  private readonly duration = this.registry.register(
    new Histogram('reprod_stage_run_duration_seconds', 'Wall time of stage runs (container or process), by stage.', ['stage'], [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]),
  );
  private readonly passes = this.registry.register(new Counter('reprod_passes_total', 'Reconcile passes completed.'));
  private readonly lastPass = this.registry.register(new Gauge('reprod_last_pass_timestamp_seconds', 'When the last reconcile pass ended (Unix time).'));
  private readonly lastPassDuration = this.registry.register(new Gauge('reprod_last_pass_duration_seconds', 'How long the last reconcile pass took.'));
  private readonly queueDepth = this.registry.register(new Gauge('reprod_queue_depth', 'Work-queue keys ready to be reconciled.'));
  private readonly queueDelayed = this.registry.register(new Gauge('reprod_queue_delayed', 'Work-queue keys waiting for their debounce or backoff delay.'));
  private readonly running = this.registry.register(new Gauge('reprod_stages_running', 'Stages running now.'));
  private readonly stages = this.registry.register(new Gauge('reprod_stages', 'Stages by status phase.', ['phase']));
  private readonly specValid = this.registry.register(new Gauge('reprod_spec_valid', '1 when dvc.yaml and the manifests are valid, 0 while the last good spec is kept.'));
  private readonly up = this.registry.register(new Gauge('reprod_up', '1 while the reconcile loop runs.'));
  private readonly engineUp = this.registry.register(new Gauge('reprod_engine_up', '1 while the container engine answers (or none is used), 0 while stages wait for it.'));
  private readonly cpu = this.registry.register(new Counter('process_cpu_seconds_total', 'User and system CPU time of the daemon process.'));
  private readonly rss = this.registry.register(new Gauge('process_resident_memory_bytes', 'Resident memory of the daemon process.'));
  private readonly heap = this.registry.register(new Gauge('nodejs_heap_used_bytes', 'V8 heap in use.'));
  private readonly startTime = this.registry.register(new Gauge('process_start_time_seconds', 'When the daemon process started (Unix time).'));
  private cpuSeen = 0;

  constructor(private readonly stats: () => ReconcilerStats) {
    this.startTime.set({}, Math.round(Date.now() / 1000 - process.uptime()));
  }

  runFinished(stage: string, outcome: StageOutcome['kind'], durationSeconds: number | undefined, transient: boolean): void {
    this.runs.inc({ stage, outcome });
    if (outcome === 'failed') this.failures.inc({ stage, kind: transient ? 'transient' : 'permanent' });
    if (durationSeconds !== undefined) this.duration.observe({ stage }, durationSeconds);
  }

  passFinished(summary: PassSummary): void {
    this.passes.inc();
    this.lastPass.set({}, summary.finishedAt.getTime() / 1000);
    this.lastPassDuration.set({}, (summary.finishedAt.getTime() - summary.startedAt.getTime()) / 1000);
  }

  /** The exposition text of a scrape. */
  render(): string {
    const s = this.stats();
    this.queueDepth.set({}, s.queueDepth);
    this.queueDelayed.set({}, s.queueWaiting);
    this.running.set({}, s.running);
    this.specValid.set({}, s.specValid ? 1 : 0);
    this.up.set({}, s.alive ? 1 : 0);
    this.engineUp.set({}, s.engineUp ? 1 : 0);
    this.stages.reset();
    const counts = new Map<string, number>(PHASES.map((p) => [p, 0]));
    for (const p of Object.values(s.phases)) counts.set(p, (counts.get(p) ?? 0) + 1);
    for (const [phase, n] of counts) this.stages.set({ phase }, n);
    const u = process.cpuUsage();
    const cpu = (u.user + u.system) / 1e6;
    if (cpu > this.cpuSeen) this.cpu.inc({}, cpu - this.cpuSeen);
    this.cpuSeen = Math.max(this.cpuSeen, cpu);
    const mem = process.memoryUsage();
    this.rss.set({}, mem.rss);
    this.heap.set({}, mem.heapUsed);
    return this.registry.render();
  }
}
