import type { Logger } from '../../core/ports.js';

/**
 * Wall and CPU time of each phase of `reprod exp run` (assembling the
 * workspaces, each experiment's pass, saving results, cleaning up), summed
 * per phase and logged at debug level when the run ends (`reprod -v exp
 * run`). CPU is this process's (process.cpuUsage), so phases that overlap
 * (two experiments at once) share theirs; containers' CPU is not in it.
 */
export class PhaseTimes {
  private readonly phases = new Map<string, { wallMs: number; cpuMs: number; count: number }>();

  async time<T>(phase: string, fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    try {
      return await fn();
    } finally {
      this.record(phase, t0, c0);
    }
  }

  timeSync<T>(phase: string, fn: () => T): T {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    try {
      return fn();
    } finally {
      this.record(phase, t0, c0);
    }
  }

  /** A span measured elsewhere (wall only). */
  add(phase: string, wallMs: number): void {
    this.bump(phase, wallMs, 0);
  }

  private record(phase: string, t0: number, c0: NodeJS.CpuUsage): void {
    const c = process.cpuUsage(c0);
    this.bump(phase, performance.now() - t0, (c.user + c.system) / 1000);
  }

  private bump(phase: string, wallMs: number, cpuMs: number): void {
    const p = this.phases.get(phase) ?? { wallMs: 0, cpuMs: 0, count: 0 };
    p.wallMs += wallMs;
    p.cpuMs += cpuMs;
    p.count += 1;
    this.phases.set(phase, p);
  }

  /** Per phase: total wall and CPU milliseconds (rounded) and how many times it ran. */
  summary(): Record<string, { wallMs: number; cpuMs: number; count: number }> {
    const out: Record<string, { wallMs: number; cpuMs: number; count: number }> = {};
    for (const [k, v] of this.phases) out[k] = { wallMs: Math.round(v.wallMs), cpuMs: Math.round(v.cpuMs), count: v.count };
    return out;
  }

  report(log: Logger, msg: string): void {
    log.debug({ phases: this.summary() }, msg);
  }
}
