/**
 * The daemon's numbers:
 *
 *   latency   file save → stage container started, p50 and p95 over 20 edits
 *             (targets ≤ 1.0 s and ≤ 2.0 s), measured with the engine's own
 *             `start` events against the time of the write; with `--files N`
 *             the workspace also holds N other files (in 1,000 folders,
 *             watched, no stage's dep), and `docker run --rm <image> true`
 *             is timed between the edits: p50 latency against its p50
 *             (issue 16's target at 200,000 files: ≤ 1.5×)
 *   parallel  two independent 3 s stages: wall time of the pass that runs both,
 *             as a ratio of the pass that runs one (target ≤ 1.2)
 *   plan      a generated 1,000-stage foreach pipeline, up to date, warm hash
 *             state: loadSpec, then planning every stage as the daemon does
 *             (target ≤ 1 s), and a whole daemon pass over it
 *   idle      the daemon as its own process, idle on that pipeline: CPU over
 *             10 s and resident memory
 *
 *   npx tsx bench/daemon.ts [latency|parallel|plan|idle ...] [--files N]
 *
 * Stages of `latency` and `parallel` run in a tiny busybox image (built
 * locally, see test/helpers/docker.ts); `plan` and `idle` run on the host.
 * Workspaces live in bench/.data/ (gitignored).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { runDaemon } from '../src/app/daemon.js';
import { loadSpec, openProject, selectRuntime, stepDeps } from '../src/app/project.js';
import type { Logger } from '../src/core/ports.js';
import { PIPELINE_KEY, Reconciler, type PassSummary } from '../src/reconcile/reconciler.js';
import { stepEffects } from '../src/reconcile/stage-effects.js';
import { systemTimerClock } from '../src/core/ports.js';
import { StatusReporter } from '../src/status/reporter.js';
import { busyboxImage, engine, quietLogger } from '../test/helpers/docker.js';
import { loadLine } from './lib/measure.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DATA = path.join(here, '.data', 'daemon');
const REPO = path.resolve(here, '..');

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

function freshWorkspace(name: string, files: Record<string, string>): string {
  const root = path.join(DATA, name);
  rmSync(root, { recursive: true, force: true });
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
  return root;
}

function manifests(image: string, names: string[]): string {
  return names.map((n) => `apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: ${n}}\nspec: {image: "${image}"}\n`).join('---\n');
}

async function until(what: string, probe: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Runs the daemon in this process; passes are reported through the passFinished hook. */
function daemon(root: string, opts: { maxParallel?: number } = {}) {
  const ac = new AbortController();
  const passes: PassSummary[] = [];
  const done = runDaemon(
    {
      root,
      runtime: 'auto',
      log: quietLogger,
      http: null,
      hooks: { passFinished: (_id, s) => void passes.push(s) },
      ...(opts.maxParallel !== undefined ? { maxParallel: opts.maxParallel } : {}),
    },
    ac.signal,
  );
  return {
    passes,
    stop: async () => {
      ac.abort();
      await done;
    },
  };
}

function pipelineUpToDate(root: string): boolean {
  const p = path.join(root, 'status', 'pipeline.yaml');
  return existsSync(p) && /\n {2}phase: UpToDate\n/.test(readFileSync(p, 'utf8'));
}

// ------------------------------------------------------------------ latency

const BULK = (() => {
  const i = process.argv.indexOf('--files');
  return i >= 0 ? Number(process.argv[i + 1]) : 0;
})();

/** `files` files of 64 bytes under bulk/ in 1,000 folders, made once (a marker says they are complete). */
function bulkFiles(root: string, files: number): void {
  const marker = path.join(root, 'bulk', '.made');
  if (existsSync(marker)) return;
  rmSync(path.join(root, 'bulk'), { recursive: true, force: true });
  const per = Math.ceil(files / 1000);
  for (let d = 0; d < 1000 && d * per < files; d++) {
    const dir = path.join(root, 'bulk', `d${String(d).padStart(3, '0')}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < per && d * per + f < files; f++) writeFileSync(path.join(dir, `f${f}.txt`), `${d} ${f}\n`.padEnd(64, '.'));
  }
  writeFileSync(marker, '');
}

/** `docker run --rm <image> true`, as the Docker CLI runs it: its wall time. */
function dockerRunMs(image: string): number {
  const t = performance.now();
  const r = spawnSync('docker', ['run', '--rm', image, 'true'], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error('docker run failed');
  return performance.now() - t;
}

async function latency(docker: Docker, image: string): Promise<void> {
  const N = 20;
  const small = {
    'dvc.yaml': 'stages:\n  s:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n',
    'in.txt': 'start\n',
    'manifests/stages.yaml': manifests(image, ['s']),
  };
  let root: string;
  if (BULK > 0) {
    // the bulk files are kept between runs; everything else starts afresh
    root = path.join(DATA, `latency-${BULK}`);
    mkdirSync(root, { recursive: true });
    for (const e of readdirSync(root)) if (e !== 'bulk') rmSync(path.join(root, e), { recursive: true, force: true });
    for (const [p, text] of Object.entries(small)) {
      mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
      writeFileSync(path.join(root, p), text);
    }
    bulkFiles(root, BULK);
  } else {
    root = freshWorkspace('latency', small);
  }
  const runs: number[] = [];
  const starts: number[] = [];
  const events = await docker.getEvents({ filters: { type: ['container'], event: ['start'], label: [`reprod.workspace=${root}`] } });
  let buf = '';
  events.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line.trim()) continue;
      const e = JSON.parse(line) as { timeNano?: number };
      if (e.timeNano) starts.push(e.timeNano / 1e6);
    }
  });
  const d = daemon(root);
  try {
    await until('the first pass', () => pipelineUpToDate(root) && starts.length === 1);
    const lat: number[] = [];
    for (let i = 0; i < N; i++) {
      const before = starts.length;
      const passes = d.passes.length;
      // a different size each time: a same-size rewrite within one mtime tick is invisible to any stat-based check
      const t0 = Date.now();
      writeFileSync(path.join(root, 'in.txt'), `edit ${i} ${'x'.repeat(i)}\n`);
      await until(`container start after edit ${i}`, () => starts.length > before);
      lat.push((starts[before] as number) - t0);
      await until(`the pass after edit ${i}`, () => d.passes.length > passes && pipelineUpToDate(root));
      await new Promise((r) => setTimeout(r, 100));
      if (BULK > 0) runs.push(dockerRunMs(image));
    }
    console.log(`file save → container started, ${N} edits${BULK > 0 ? `, ${BULK.toLocaleString('en')} more files in the workspace` : ''} (${loadLine()}): p50 ${fmt(pct(lat, 50))}, p95 ${fmt(pct(lat, 95))}, max ${fmt(Math.max(...lat))}  (targets ≤ 1.0 s, ≤ 2.0 s)`);
    if (BULK > 0) {
      const ratio = pct(lat, 50) / pct(runs, 50);
      console.log(`  docker run --rm ${image} true, between the edits: p50 ${fmt(pct(runs, 50))}; save → started p50 / docker run p50 = ${ratio.toFixed(2)}×  (target ≤ 1.5×)`);
    }
  } finally {
    await d.stop();
    (events as unknown as { destroy(): void }).destroy();
  }
}

// ------------------------------------------------------------------ parallel

async function parallel(image: string): Promise<void> {
  const root = freshWorkspace('parallel', {
    'dvc.yaml':
      'stages:\n' +
      '  left:\n    cmd: sleep 3 && cp l.txt l.out\n    deps: [l.txt]\n    outs: [l.out]\n' +
      '  right:\n    cmd: sleep 3 && cp r.txt r.out\n    deps: [r.txt]\n    outs: [r.out]\n',
    'l.txt': 'l\n',
    'r.txt': 'r\n',
    'manifests/stages.yaml': manifests(image, ['left', 'right']),
  });
  const d = daemon(root, { maxParallel: 2 });
  try {
    await until('the first pass', () => pipelineUpToDate(root) && d.passes.some((p) => p.ran === 2));
    const pass = async (files: string[], ran: number): Promise<number> => {
      const n = d.passes.length;
      const t0 = Date.now();
      for (const f of files) writeFileSync(path.join(root, f), `${f} ${t0}\n`);
      await until('the pass', () => d.passes.slice(n).some((p) => p.ran === ran) && pipelineUpToDate(root));
      return Date.now() - t0;
    };
    const one: number[] = [];
    const two: number[] = [];
    for (let i = 0; i < 2; i++) {
      one.push(await pass(['l.txt'], 1));
      two.push(await pass(['l.txt', 'r.txt'], 2));
    }
    const o = Math.min(...one);
    const t = Math.min(...two);
    console.log(`two independent 3 s stages: ${fmt(t)} wall, one alone ${fmt(o)}: ratio ${(t / o).toFixed(2)}  (target ≤ 1.2; best of 2, edit → pass end)`);
  } finally {
    await d.stop();
  }
}

// ------------------------------------------------------------------ plan

const STAGES = 1000;

/** A 1,000-stage foreach pipeline, run once on the host so that it is up to date. */
function foreachWorkspace(): string {
  const root = path.join(DATA, 'foreach-1000');
  if (existsSync(path.join(root, 'dvc.lock'))) return root;
  const items = Array.from({ length: STAGES }, (_, i) => `s${String(i).padStart(4, '0')}`);
  const files: Record<string, string> = {
    'dvc.yaml': `stages:\n  gen:\n    foreach: [${items.join(', ')}]\n    do:\n      cmd: cp data/\${item}.txt out/\${item}.txt\n      deps: ["data/\${item}.txt"]\n      outs: ["out/\${item}.txt"]\n`,
    'out/.keep': '',
  };
  for (const it of items) files[`data/${it}.txt`] = `${it}\n`;
  freshWorkspace('foreach-1000', files);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), '-C', root, '--runtime', 'host', 'repro'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`repro of the 1,000-stage pipeline failed: ${r.stderr.slice(-2000)}`);
  return root;
}

async function plan(): Promise<void> {
  const root = foreachWorkspace();
  const log: Logger = quietLogger;
  const project = openProject(root, log);
  try {
    const t0 = performance.now();
    const spec = loadSpec(root);
    const tLoad = performance.now() - t0;
    const selected = await selectRuntime(project, spec, 'host', log);
    const reporter = new StatusReporter(project.statusStore, systemTimerClock, () => ({ kind: 'host', reason: 'bench' }));
    const effects = stepEffects(stepDeps(project, selected.runtime, log), (n) => reporter.recordedRuntime(n));
    const signal = new AbortController().signal;
    const planAll = async (): Promise<{ ms: number; stale: number }> => {
      const t = performance.now();
      let stale = 0;
      for (const s of spec.pipeline.stages) if ((await effects.plan(s, signal)).reasons.length) stale++;
      return { ms: performance.now() - t, stale };
    };
    await planAll(); // warms the hash state (as a running daemon's is)
    await project.hasher.flush();
    const runs = [await planAll(), await planAll(), await planAll()];
    const best = Math.min(...runs.map((r) => r.ms));
    console.log(
      `${STAGES}-stage foreach pipeline, warm: loadSpec ${tLoad.toFixed(0)} ms + planning every stage ${best.toFixed(0)} ms = ${(tLoad + best).toFixed(0)} ms  (target ≤ 1000 ms; ${runs[0]?.stale} stale)`,
    );

    // a whole pass of the daemon's reconciler over it: every stage looked at, status written
    const passes: PassSummary[] = [];
    const rec = new Reconciler({
      loadSpec: () => loadSpec(root),
      effects,
      status: reporter,
      clock: systemTimerClock,
      log,
      resyncMs: 0,
      hooks: { passFinished: (_id, s) => void passes.push(s) },
    });
    const ac = new AbortController();
    const running = rec.start(ac.signal);
    await until('the first pass', () => passes.length >= 1, 120_000);
    rec.enqueue(PIPELINE_KEY);
    await until('the second pass', () => passes.length >= 2, 120_000);
    ac.abort();
    await running;
    const ms = (p: PassSummary | undefined) => (p ? p.finishedAt.getTime() - p.startedAt.getTime() : NaN);
    console.log(`  daemon pass over it: first (writes ${STAGES} status files) ${fmt(ms(passes[0]))}, next (nothing changed) ${fmt(ms(passes[1]))}`);
  } finally {
    await project.hasher[Symbol.asyncDispose]();
  }
}

// ------------------------------------------------------------------ idle

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? NaN) / 1024;
}

async function idle(): Promise<void> {
  const root = foreachWorkspace();
  const ticksPerSecond = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
  for (const [label, ws] of [
    ['1-stage pipeline', freshWorkspace('idle-small', { 'dvc.yaml': 'stages:\n  a:\n    cmd: cp in out\n    deps: [in]\n    outs: [out]\n', in: 'x\n' })],
    [`${STAGES}-stage pipeline`, root],
  ] as const) {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), '-C', ws, '--runtime', 'host', 'daemon', '--port', '-1'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const pid = child.pid as number;
    try {
      await until('a pass', () => err.includes('pass finished'), 120_000);
      // idle: nothing logged for 3 s; then V8's after-start-up memory reduction is let finish
      for (let seen = -1; seen !== err.length; ) {
        seen = err.length;
        await new Promise((r) => setTimeout(r, 3000));
      }
      await new Promise((r) => setTimeout(r, 10_000));
      const c0 = cpuTicks(pid);
      const t0 = Date.now();
      await new Promise((r) => setTimeout(r, 10_000));
      const cpu = ((cpuTicks(pid) - c0) / ticksPerSecond / ((Date.now() - t0) / 1000)) * 100;
      console.log(`idle daemon, ${label}: CPU ${cpu.toFixed(2)} % over 10 s, RSS ${rssMiB(pid).toFixed(0)} MiB`);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  }
}

async function main(): Promise<void> {
  const which = process.argv.slice(2).filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--files');
  const want = (s: string) => which.length === 0 || which.includes(s);
  mkdirSync(DATA, { recursive: true });
  if (want('latency') || want('parallel')) {
    const docker = await engine();
    const image = await busyboxImage(docker);
    if (want('latency')) await latency(docker, image);
    if (want('parallel')) await parallel(image);
  }
  if (want('plan')) await plan();
  if (want('idle')) await idle();
}

await main();
