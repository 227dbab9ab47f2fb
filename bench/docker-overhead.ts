/**
 * Per-stage overhead of reprod's Docker runtime against the Docker CLI, side
 * by side in one run: the same image (a static busybox, built locally), the
 * same command, the same container settings, N runs each, alternating so that
 * the engine's warm-up and noise fall on both alike.
 *
 *   node --import tsx bench/docker-overhead.ts [N]
 *
 * Target: reprod's median ≤ 1.15 × `docker run --rm`'s.
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { DockerRuntime } from '../src/adapters/docker/docker-runtime.js';
import type { Stage } from '../src/core/types.js';
import { busyboxImage, engine, quietLogger, testStage } from '../test/helpers/docker.js';

const run = promisify(execFile);
const N = Number(process.argv[2] ?? 20);
const WARMUP = 2;
const COMMANDS = ['true', 'sleep 0.2'];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await f();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function main(): Promise<void> {
  const docker = await engine();
  const image = await busyboxImage(docker);
  const ws = mkdtempSync(path.join(os.tmpdir(), 'reprod-bench-'));
  chownSync(ws, 1234, 1234);
  try {
    const rt = new DockerRuntime({
      docker,
      workspace: ws,
      logger: quietLogger,
      resolve: () => ({ kind: 'container', image: { kind: 'image', name: image }, settings: { network: 'none', env: {} }, reason: 'bench' }),
    });
    const sink = { write: () => undefined };
    // the image is made ready once, as a pass does before a run; the bench measures the runs
    const prepared = await rt.prepare(testStage('bench', 'true'), new AbortController().signal);
    const reprod = async (stage: Stage): Promise<void> => {
      const res = await rt.run({ stage, prepared, workspace: ws, runId: 'bench', env: {}, log: sink, signal: new AbortController().signal });
      if (res.outcome.kind !== 'exited' || res.outcome.exitCode !== 0) throw new Error(`reprod run failed: ${JSON.stringify(res.outcome)}`);
    };
    // The container reprod creates, as CLI flags.
    const same = (cmd: string) => [
      'run', '--rm', '--init', '--network', 'none', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
      '-u', '1234:1234', '-e', 'HOME=/tmp', '-v', `${ws}:${ws}`, '-w', ws, '--entrypoint', '', image, '/bin/sh', '-c', cmd,
    ];
    const bare = (cmd: string) => ['run', '--rm', image, '/bin/sh', '-c', cmd];

    console.log(`docker overhead: ${N} runs each, alternating (+${WARMUP} warm-up), image ${image}, engine ${(await docker.version()).Version}`);
    console.log('');
    console.log('command      runner                          median ms   p90 ms   ratio');
    for (const cmd of COMMANDS) {
      const stage = testStage('bench', cmd);
      await rt.prepare(stage, new AbortController().signal);
      const times = { reprod: [] as number[], same: [] as number[], bare: [] as number[] };
      for (let i = 0; i < WARMUP + N; i++) {
        const r = await timed(() => reprod(stage));
        const s = await timed(() => run('docker', same(cmd)));
        const b = await timed(() => run('docker', bare(cmd)));
        if (i >= WARMUP) {
          times.reprod.push(r);
          times.same.push(s);
          times.bare.push(b);
        }
      }
      const base = median(times.same);
      const row = (name: string, xs: number[]) =>
        console.log(
          `${cmd.padEnd(12)} ${name.padEnd(31)} ${median(xs).toFixed(1).padStart(9)} ${pct(xs, 90).toFixed(1).padStart(8)}   ${(median(xs) / base).toFixed(3)}×`,
        );
      row('reprod DockerRuntime.run', times.reprod);
      row('docker run --rm (same settings)', times.same);
      row('docker run --rm (bare)', times.bare);
    }
    console.log('');
    console.log('ratio = median / median of `docker run --rm` with the settings reprod uses (target ≤ 1.15×)');
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

await main();
