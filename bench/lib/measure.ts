/**
 * Measuring commands side by side, for the benchmarks of bench/: wall time
 * and CPU time of one run of a command, the machine's load, and the DVC
 * command to compare with when REPROD_BENCH_DVC names one. Linux only (CPU
 * comes from /proc).
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';

const TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

export interface Run {
  wallMs: number;
  /** User + system CPU of the command and its children, to the kernel's tick (10 ms here). */
  cpuMs: number;
}

/**
 * Runs `cmd` once through `sh`, output discarded; the shell's own /proc
 * stat, read after the command ended, holds the CPU of the children it
 * waited for. Throws when the command fails.
 */
export function runOnce(cmd: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Run {
  const script = '"$@" >/dev/null; rc=$?; read -r stat </proc/$$/stat; echo "$stat"; exit $rc';
  const t = performance.now();
  const r = spawnSync('sh', ['-c', script, 'sh', ...cmd], { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const wallMs = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  const fields = (r.stdout.trim().split('\n').pop() ?? '').split(') ')[1]?.split(' ') ?? [];
  // after "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14
  const ticks = Number(fields[13]) + Number(fields[14]);
  return { wallMs, cpuMs: (ticks * 1000) / TICKS_PER_SECOND };
}

export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Runs each command `n` times, interleaved (a, b, c, a, b, c, ...) so that a
 * change of the machine's load falls on all of them alike; returns each
 * one's median wall time and mean CPU time.
 */
export function sideBySide(cmds: Record<string, { cmd: readonly string[]; cwd?: string; env?: NodeJS.ProcessEnv }>, n: number): Record<string, { wallMs: number; cpuMs: number }> {
  const runs: Record<string, Run[]> = Object.fromEntries(Object.keys(cmds).map((k) => [k, []]));
  for (let i = 0; i < n; i++) for (const [k, c] of Object.entries(cmds)) runs[k]?.push(runOnce(c.cmd, { ...(c.cwd ? { cwd: c.cwd } : {}), ...(c.env ? { env: c.env } : {}) }));
  return Object.fromEntries(Object.entries(runs).map(([k, rs]) => [k, { wallMs: median(rs.map((r) => r.wallMs)), cpuMs: mean(rs.map((r) => r.cpuMs)) }]));
}

/** "load average 1.2 3.4 5.6 (2 CPUs)", for every benchmark's report: the machine is shared. */
export function loadLine(): string {
  const [a, b, c] = loadavg();
  return `load average ${a?.toFixed(2)} ${b?.toFixed(2)} ${c?.toFixed(2)}`;
}

/** The DVC command REPROD_BENCH_DVC names (`dvc`, `/venv/bin/dvc`, `python3 -m dvc`), split into words; undefined when unset. */
export function dvcCommand(): string[] | undefined {
  const v = process.env['REPROD_BENCH_DVC']?.trim();
  return v ? v.split(/\s+/) : undefined;
}

export const fmtMs = (ms: number): string => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);

/** `--flag N` from the command line, a positive whole number, else `dflt`; anything else is refused. */
export function intArg(flag: string, dflt: number): number {
  const i = process.argv.indexOf(flag);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isInteger(v) || v < 1) throw new Error(`${flag} takes a positive integer`);
  return v;
}

/** mulberry32: a small seeded generator, so that a run can be repeated. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
