/**
 * Soak of reprod's promises under kill -9, an edit storm and hostile YAML
 * (issue 11, not run in CI):
 *
 *   kill-repro   N trials: `reprod repro` SIGKILLed after a seeded random delay
 *   kill-daemon  N trials: `reprod daemon --port -1` SIGKILLed the same way
 *   storm        a running daemon, params.yaml edited E times 5–40 ms apart
 *   yaml         bench/soak-yaml.ts with --cases E (alias, matrix, nesting bombs)
 *
 *   npx tsx bench/soak-kill.ts [--trials 50] [--edits 1000] [--seed 1]
 *
 * After each kill: dvc.lock is absent or parses, and every object under
 * .dvc/cache/files/md5 has the md5 its name says. Then a recovery `reprod
 * repro` must exit 0 (else a crash) within the clean run's time + 5 s (else a
 * hang); `reprod status --json` must print `{}` and every output must equal
 * what the stage commands produce when run by hand in a scratch folder (else
 * data lost); no `*.tmp` file may remain in the workspace (leftovers). A
 * stage command the kill left running (orphans) is not waited for: the
 * recovery repro must stop it before it runs a stage, and none may still be
 * running once the recovery is done (survivors). The workspace lives inside a sentinel folder next to a sibling folder: anything
 * new in the sentinel, or any change in the sibling, is a file outside.
 *
 * Stages run on the host (`--runtime host`), so no image is needed. The CLI is
 * bin/reprod.js (run `npm run build` first). Everything is written under one
 * mkdtemp folder in os.tmpdir(), removed at the end. Every wait is bounded.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { rng } from './lib/measure.js';

const HANG_MS = 5_000;
const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const CLI = path.join(REPO, 'bin', 'reprod.js');

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}


// ------------------------------------------------------------------ the pipeline

// .cjs: the workspace may sit under a package.json that says "type": "module"
const SCRIPTS: Record<string, string> = {
  'gen.cjs': `const fs = require('fs'), crypto = require('crypto');
const [, , name, mb, seed] = process.argv;
let h = crypto.createHash('sha256').update(String(seed)).digest();
const fd = fs.openSync(name, 'w');
for (let i = 0; i < Number(mb) * 64; i++) { h = crypto.createHash('sha256').update(h).digest(); fs.writeSync(fd, Buffer.alloc(16384, h)); }
fs.closeSync(fd);
`,
  'split.cjs': `const fs = require('fs');
const n = Number(/^n: (\\d+)/m.exec(fs.readFileSync('params.yaml', 'utf8'))[1]);
const raw = fs.readFileSync('raw.bin');
fs.rmSync('parts', { recursive: true, force: true });
fs.mkdirSync('parts/sub', { recursive: true });
const k = Math.ceil(raw.length / n);
for (let i = 0; i < n; i++) fs.writeFileSync('parts/' + (i % 2 ? 'sub/' : '') + 'p' + i + '.bin', raw.subarray(i * k, (i + 1) * k));
`,
  'model.cjs': `const fs = require('fs'), path = require('path'), crypto = require('crypto');
const files = [];
const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name < b.name ? -1 : 1)) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else files.push(p); } };
walk('parts');
const out = fs.openSync('model.bin', 'w');
for (const f of files) { const b = fs.readFileSync(f); for (let i = 0; i < b.length; i++) b[i] ^= 0x5a; fs.writeSync(out, b); }
fs.closeSync(out);
`,
  'score.cjs': `const fs = require('fs'), crypto = require('crypto');
const md5 = crypto.createHash('md5').update(fs.readFileSync('model.bin')).digest('hex');
fs.writeFileSync('metrics.json', JSON.stringify({ md5, size: fs.statSync('model.bin').size }) + '\\n');
`,
};

const DVC_YAML = `stages:
  gen:
    cmd: node gen.cjs raw.bin 3 \${seed}
    deps: [gen.cjs]
    params: [seed]
    outs: [raw.bin]
  split:
    cmd: node split.cjs
    deps: [split.cjs, raw.bin]
    params: [n]
    outs: [parts]
  model:
    cmd: node model.cjs
    deps: [model.cjs, parts]
    outs: [model.bin]
  score:
    cmd: node score.cjs
    deps: [score.cjs, model.bin]
    metrics: [metrics.json]
`;
const OUTS = ['raw.bin', 'parts', 'model.bin', 'metrics.json'];
const CMDS = (seed: number) => [['gen.cjs', 'raw.bin', '3', String(seed)], ['split.cjs'], ['model.cjs'], ['score.cjs']];
const paramsText = (seed: number, n: number) => `seed: ${seed}\nn: ${n}\n`;

function writeFiles(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
}

/** Every file under `root` (relative path → md5), skipping the names in `skip` at the top. */
function tree(root: string, skip: ReadonlySet<string> = new Set()): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (!existsSync(abs)) return;
    const st = statSync(abs);
    if (st.isDirectory()) for (const e of readdirSync(abs).sort()) walk(rel === '' ? e : path.join(rel, e));
    else out.set(rel, createHash('md5').update(readFileSync(abs)).digest('hex'));
  };
  for (const e of existsSync(root) ? readdirSync(root).sort() : []) if (!skip.has(e)) walk(e);
  return out;
}

/** The outputs of the pipeline for these params, by running its commands by hand. */
const refs = new Map<string, Map<string, string>>();
function reference(scratch: string, seed: number, n: number): Map<string, string> {
  const key = `${seed}/${n}`;
  const known = refs.get(key);
  if (known) return known;
  const dir = path.join(scratch, `ref-${seed}-${n}`);
  writeFiles(dir, { ...SCRIPTS, 'params.yaml': paramsText(seed, n) });
  for (const argv of CMDS(seed)) {
    const r = spawnSync(process.execPath, argv, { cwd: dir, timeout: 60_000 });
    if (r.status !== 0) throw new Error(`reference run of ${argv.join(' ')} failed: ${String(r.stderr)}`);
  }
  const outs = new Map([...tree(dir)].filter(([p]) => OUTS.some((o) => p === o || p.startsWith(`${o}/`))));
  rmSync(dir, { recursive: true, force: true });
  refs.set(key, outs);
  return outs;
}

// ------------------------------------------------------------------ checks

interface Counts {
  trials: number;
  crashes: number;
  hangs: number;
  dataLost: number;
  outside: number;
  leftovers: number;
  badLock: number;
  badCache: number;
  /** Stage commands still running just after the kill (a host stage is its own process group). */
  orphans: number;
  /** Of those, alive after the recovery repro, which must have stopped them (target 0). */
  survivors: number;
}
const zero = (): Counts => ({ trials: 0, crashes: 0, hangs: 0, dataLost: 0, outside: 0, leftovers: 0, badLock: 0, badCache: 0, orphans: 0, survivors: 0 });
const notes: string[] = [];

/** dvc.lock absent, or YAML with a `stages` map. */
function lockValid(ws: string): boolean {
  const f = path.join(ws, 'dvc.lock');
  if (!existsSync(f)) return true;
  try {
    const doc: unknown = parseYaml(readFileSync(f, 'utf8'));
    return typeof doc === 'object' && doc !== null && 'stages' in doc && typeof doc.stages === 'object';
  } catch {
    return false; // counted as a bad lock by the caller
  }
}

/** Cache objects whose content does not hash to their name (temporary files are not objects). */
function badCacheObjects(ws: string): string[] {
  const bad: string[] = [];
  const base = path.join(ws, '.dvc', 'cache', 'files', 'md5');
  for (const [rel, md5] of tree(base)) {
    const name = rel.replace(/\.dir$/, '');
    if (/\.tmp($|-)|\/\./.test(rel)) continue;
    if (name.replace('/', '') !== md5) bad.push(rel);
  }
  return bad;
}

/** Temporary files anywhere in the workspace. */
function tmpFiles(ws: string): string[] {
  return [...tree(ws).keys()].filter((p) => /\.tmp($|-)/.test(path.basename(p)));
}

/** Processes whose working directory is inside `ws` (stages orphaned by the kill). */
function processesIn(ws: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cwd = readlinkSync(`/proc/${e}/cwd`);
      if (cwd === ws || cwd.startsWith(`${ws}/`)) pids.push(Number(e));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/** What is left running in `ws` once a recovery is done: counted, then SIGKILLed so the next trial starts clean. */
function killSurvivors(ws: string): number {
  const left = processesIn(ws);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  return left.length;
}

function reprod(ws: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, '-C', ws, '--runtime', 'host', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command to its end (SIGKILL after `killMs`); exit code, output and wall time. */
async function run(ws: string, args: string[], killMs: number): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  const t0 = performance.now();
  const p = reprod(ws, args);
  let out = '';
  let err = '';
  p.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
  p.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  const timer = setTimeout(() => p.kill('SIGKILL'), killMs);
  const code = await new Promise<number | null>((r) => p.on('close', (c) => r(c)));
  clearTimeout(timer);
  return { code, out, err, ms: performance.now() - t0 };
}

/** Snapshot of the sentinel (all but the workspace) and the sibling: names, sizes and mtimes. */
function outsideSnapshot(sentinel: string, sibling: string): string {
  const list = (d: string, skip: string[]) => (existsSync(d) ? readdirSync(d).filter((e) => !skip.includes(e)).sort().map((e) => {
    const st = statSync(path.join(d, e));
    return `${d}/${e}:${st.size}:${st.mtimeMs}`;
  }) : []);
  return [...list(sentinel, ['ws']), ...list(sibling, [])].join('\n');
}

/** The checks after a recovery run; adds to `c`. */
async function recover(ctx: Ctx, c: Counts, label: string, seed: number, n: number): Promise<void> {
  const { ws } = ctx;
  const r = await run(ws, ['repro'], ctx.cleanMs + 60_000);
  if (r.ms > ctx.cleanMs + HANG_MS) {
    c.hangs++;
    notes.push(`${label}: recovery repro took ${(r.ms / 1000).toFixed(1)} s (clean run ${(ctx.cleanMs / 1000).toFixed(1)} s)`);
  }
  if (r.code !== 0) {
    c.crashes++;
    notes.push(`${label}: recovery repro exited ${r.code}: ${r.err.trim().split('\n').slice(0, 3).join(' | ')}`);
  }
  const s = await run(ws, ['status', '--json'], 30_000);
  const want = reference(ctx.scratch, seed, n);
  const got = tree(ws);
  const lost = [...want].filter(([p, md5]) => got.get(p) !== md5).map(([p]) => p);
  const extra = [...got.keys()].filter((p) => OUTS.some((o) => p.startsWith(`${o}/`)) && !want.has(p));
  if (s.out.trim() !== '{}' || lost.length + extra.length > 0) {
    c.dataLost++;
    notes.push(`${label}: status --json ${JSON.stringify(s.out.trim().slice(0, 120))}, differing outputs: ${[...lost, ...extra].join(', ') || 'none'}`);
  }
  if (!lockValid(ws)) c.badLock++;
  // each leftover file counts once, in the trial after which it first remains
  const left = tmpFiles(ws).filter((f) => !ctx.seen.has(f));
  for (const f of left) ctx.seen.add(f);
  if (left.length > 0) {
    c.leftovers += left.length;
    notes.push(`${label}: temporary files after recovery: ${left.slice(0, 4).join(', ')}${left.length > 4 ? ` (+${left.length - 4})` : ''}`);
  }
  const now = outsideSnapshot(ctx.sentinel, ctx.sibling);
  if (now !== ctx.outside) {
    c.outside++;
    notes.push(`${label}: files outside the workspace changed:\n${now}`);
    ctx.outside = now;
  }
}

interface Ctx {
  scratch: string;
  sentinel: string;
  sibling: string;
  ws: string;
  cleanMs: number;
  outside: string;
  /** Temporary files already counted as leftovers. */
  seen: Set<string>;
}

function newWorkspace(base: string, name: string, seed: number): Ctx {
  const sentinel = path.join(base, name, 'sentinel');
  const sibling = path.join(base, name, 'sibling');
  const ws = path.join(sentinel, 'ws');
  writeFiles(ws, { ...SCRIPTS, 'dvc.yaml': DVC_YAML, 'params.yaml': paramsText(seed, 4) });
  writeFiles(sibling, { 'canary.txt': 'must stay as it is\n' });
  return { scratch: base, sentinel, sibling, ws, cleanMs: 0, outside: outsideSnapshot(sentinel, sibling), seen: new Set() };
}

// ------------------------------------------------------------------ kill trials

async function killTrials(base: string, mode: 'repro' | 'daemon', trials: number, r: () => number, cleanMs: number): Promise<Counts> {
  const ctx = newWorkspace(base, `kill-${mode}`, 0);
  ctx.cleanMs = cleanMs;
  const c = zero();
  for (let i = 0; i < trials; i++) {
    const seed = 1000 + i;
    const n = 2 + (i % 4);
    // a params edit makes every stage stale: the kill lands over existing outputs and a lock
    writeFileSync(path.join(ctx.ws, 'params.yaml'), paramsText(seed, n));
    const delay = Math.floor(r() * (cleanMs + (mode === 'daemon' ? 1_500 : 300)));
    const p = reprod(ctx.ws, mode === 'repro' ? ['repro'] : ['daemon', '--port', '-1']);
    p.stdout?.resume();
    p.stderr?.resume();
    const closed = new Promise<void>((res) => p.on('close', () => res()));
    await sleep(delay);
    p.kill('SIGKILL');
    await closed;
    c.trials++;
    const label = `${mode} #${i} (killed at ${delay} ms)`;
    // the stage commands the kill left running are not waited for: the recovery repro must stop them before it runs a stage
    c.orphans += processesIn(ctx.ws).length;
    if (!lockValid(ctx.ws)) {
      c.badLock++;
      notes.push(`${label}: dvc.lock does not parse after the kill`);
    }
    const bad = badCacheObjects(ctx.ws);
    if (bad.length > 0) {
      c.badCache++;
      notes.push(`${label}: cache objects not matching their name: ${bad.join(', ')}`);
    }
    await recover(ctx, c, label, seed, n);
    const survivors = killSurvivors(ctx.ws);
    if (survivors > 0) {
      c.survivors += survivors;
      notes.push(`${label}: ${survivors} stage command(s) from before the kill still running after the recovery`);
    }
    process.stderr.write(`\r${mode} kill trials: ${i + 1}/${trials}`);
  }
  process.stderr.write('\n');
  return c;
}

// ------------------------------------------------------------------ the edit storm

async function storm(base: string, edits: number, r: () => number, cleanMs: number): Promise<Counts & { failedNoCause: number; failedStages: number; edits: number }> {
  const ctx = newWorkspace(base, 'storm', 0);
  ctx.cleanMs = cleanMs;
  const c = { ...zero(), failedNoCause: 0, failedStages: 0, edits: 0 };
  const d = reprod(ctx.ws, ['daemon', '--port', '-1']);
  let log = '';
  d.stderr?.setEncoding('utf8').on('data', (s: string) => (log += s));
  d.stdout?.resume();
  const closed = new Promise<void>((res) => d.on('close', () => res()));
  let seed = 0;
  let n = 4;
  const stormEnd = Date.now() + edits * 60; // bounded even if timers run late
  for (let i = 0; i < edits && Date.now() < stormEnd; i++) {
    seed = 1 + Math.floor(r() * 50);
    n = 2 + Math.floor(r() * 4);
    writeFileSync(path.join(ctx.ws, 'params.yaml'), paramsText(seed, n));
    c.edits++;
    await sleep(5 + Math.floor(r() * 36));
  }
  // up to date for the final params: the pipeline says so, and status agrees
  const deadline = Date.now() + 180_000;
  let settled = false;
  while (Date.now() < deadline && !settled) {
    await sleep(250);
    try {
      const doc = parseYaml(readFileSync(path.join(ctx.ws, 'status', 'pipeline.yaml'), 'utf8')) as { status?: { phase?: string } };
      if (doc.status?.phase !== 'UpToDate') continue;
    } catch {
      continue; // not written yet, or being replaced: look again
    }
    settled = (await run(ctx.ws, ['status', '--json'], 30_000)).out.trim() === '{}';
  }
  if (!settled) {
    c.hangs++;
    notes.push('storm: the pipeline did not reach UpToDate for the final params within 180 s');
  }
  d.kill('SIGTERM');
  const stopped = await Promise.race([closed.then(() => true), sleep(15_000).then(() => false)]);
  if (!stopped) {
    c.hangs++;
    notes.push('storm: the daemon did not stop within 15 s of SIGTERM');
    d.kill('SIGKILL');
    await closed;
  }
  c.trials = 1;
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    let rec: { msg?: string; outcome?: string; err?: unknown; level?: number };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      continue; // a line cut by the kill at the end
    }
    if (rec.msg === 'stage finished' && rec.outcome === 'failed') {
      c.failedStages++;
      if (rec.err === undefined || rec.err === null) c.failedNoCause++;
    }
  }
  for (const f of existsSync(path.join(ctx.ws, 'status')) ? readdirSync(path.join(ctx.ws, 'status')) : []) {
    if (!f.endsWith('.yaml') || f === 'pipeline.yaml') continue;
    const doc = parseYaml(readFileSync(path.join(ctx.ws, 'status', f), 'utf8')) as { status?: { phase?: string } };
    if (doc.status?.phase === 'Failed') {
      c.crashes++;
      notes.push(`storm: status/${f} says Failed`);
    }
  }
  const want = reference(ctx.scratch, seed, n);
  const got = tree(ctx.ws);
  const lost = [...want].filter(([p, md5]) => got.get(p) !== md5).map(([p]) => p);
  if (lost.length > 0) {
    c.dataLost++;
    notes.push(`storm: outputs differ from a clean run for seed ${seed}, n ${n}: ${lost.join(', ')}`);
  }
  if (!lockValid(ctx.ws)) c.badLock++;
  if (badCacheObjects(ctx.ws).length > 0) c.badCache++;
  const left = tmpFiles(ctx.ws);
  if (left.length > 0) {
    c.leftovers += left.length;
    notes.push(`storm: temporary files: ${left.slice(0, 4).join(', ')}`);
  }
  if (outsideSnapshot(ctx.sentinel, ctx.sibling) !== ctx.outside) c.outside++;
  return c;
}

// ------------------------------------------------------------------ hostile YAML

function yamlSoak(cases: number, seed: number): { crashes: number; hangs: number; stacks: number; exit: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(here, 'soak-yaml.ts'), '--cases', String(cases), '--seed', String(seed)], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 30 * 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const num = (re: RegExp) => Number(re.exec(r.stdout)?.[1] ?? NaN);
  return { crashes: num(/^crashes: (\d+)/m), hangs: num(/^hangs over \d+ s: (\d+)/m), stacks: num(/^JS stack traces in output: (\d+)/m), exit: r.status, out: r.stdout };
}

// ------------------------------------------------------------------ main

async function main(): Promise<void> {
  if (!existsSync(path.join(REPO, 'dist', 'cli', 'run.js'))) throw new Error('bin/reprod.js needs dist/: run `npm run build` first');
  const trials = arg('--trials', 50);
  const edits = arg('--edits', 1000);
  const seed = arg('--seed', 1);
  const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const want = (part: string) => only === undefined || only.includes(part);
  const r = rng(seed);
  const base = mkdtempSync(path.join(os.tmpdir(), 'reprod-soak-kill-'));
  const rows: [string, Counts][] = [];
  let stormRow: Awaited<ReturnType<typeof storm>> | undefined;
  let yaml: ReturnType<typeof yamlSoak> | undefined;
  try {
    // the clean run: its time bounds the kill delays and the hang threshold, its outputs must equal the reference
    const clean = newWorkspace(base, 'clean', 1);
    const cr = await run(clean.ws, ['repro'], 120_000);
    if (cr.code !== 0) throw new Error(`the clean run failed (${cr.code}): ${cr.err}`);
    const ref = reference(base, 1, 4);
    const got = tree(clean.ws);
    if ([...ref].some(([p, m]) => got.get(p) !== m)) throw new Error('the clean run does not produce what the stage commands produce by hand');
    const cleanMs = cr.ms;
    console.log(`clean run: ${(cleanMs / 1000).toFixed(1)} s; seed ${seed}; workspaces in ${base}`);
    if (want('repro')) rows.push([`kill -9 repro (${trials})`, await killTrials(base, 'repro', trials, r, cleanMs)]);
    if (want('daemon')) rows.push([`kill -9 daemon (${trials})`, await killTrials(base, 'daemon', trials, r, cleanMs)]);
    if (want('storm')) stormRow = await storm(base, edits, r, cleanMs);
    if (want('yaml')) yaml = yamlSoak(edits, seed);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }

  const cols: (keyof Counts)[] = ['trials', 'crashes', 'hangs', 'dataLost', 'outside', 'leftovers', 'badLock', 'badCache', 'orphans', 'survivors'];
  console.log(`\n${'part'.padEnd(28)}${cols.map((k) => k.padStart(10)).join('')}`);
  for (const [name, c] of rows) console.log(`${name.padEnd(28)}${cols.map((k) => String(c[k]).padStart(10)).join('')}`);
  if (stormRow) {
    console.log(`${`storm (${stormRow.edits} edits)`.padEnd(28)}${cols.map((k) => String(stormRow[k]).padStart(10)).join('')}`);
    console.log(`storm: 'stage finished' failed ${stormRow.failedStages}, of which without err ${stormRow.failedNoCause}`);
  }
  if (yaml) {
    console.log(`yaml (${edits} mutations, bench/soak-yaml.ts, exit ${yaml.exit}): crashes ${yaml.crashes}, hangs ${yaml.hangs}, JS stack traces ${yaml.stacks}`);
    for (const l of yaml.out.split('\n').filter((l) => /^outcomes:|^slowest|^reprod validate/.test(l))) console.log(`  ${l}`);
  }
  for (const note of notes.slice(0, 40)) console.log(`  ${note}`);
  if (notes.length > 40) console.log(`  (+${notes.length - 40} more)`);
  const all = [...rows.map(([, c]) => c), ...(stormRow ? [stormRow] : [])];
  const sum = (k: keyof Counts) => all.reduce((s, c) => s + c[k], 0);
  const crashes = sum('crashes') + (yaml?.crashes ?? 0);
  const hangs = sum('hangs') + (yaml?.hangs ?? 0);
  console.log(`\ncrashes: ${crashes}`);
  console.log(`hangs over ${HANG_MS / 1000} s: ${hangs}`);
  console.log(`data lost: ${sum('dataLost') + sum('badLock') + sum('badCache')} (outputs/status ${sum('dataLost')}, dvc.lock ${sum('badLock')}, cache objects ${sum('badCache')})`);
  console.log(`files outside the workspace: ${sum('outside')}`);
  console.log(`leftovers: ${sum('leftovers')}`);
  console.log(`stage commands left running by a kill: ${sum('orphans')}, still running after the recovery: ${sum('survivors')}`);
  console.log(`failures without a cause (storm): ${stormRow?.failedNoCause ?? 0}`);
  const bad = crashes + hangs + sum('dataLost') + sum('badLock') + sum('badCache') + sum('outside') + sum('leftovers') + (stormRow?.failedNoCause ?? 0) + (yaml && yaml.stacks !== 0 ? 1 : 0);
  process.exitCode = bad === 0 ? 0 : 1;
}

await main();
