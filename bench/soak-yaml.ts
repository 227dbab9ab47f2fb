/**
 * Soak of the spec loader against hostile input (not run in CI): 1,000
 * random mutations of a dvc.yaml and its params.yaml (alias bombs, matrix
 * and foreach bombs, deep nesting in YAML, JSON and TOML, bytes that are not
 * UTF-8, self-referring and unknown aliases, text amplified by `${}`, and
 * plain damage: flipped bytes, cut and repeated lines), each loaded as
 * `reprod status` loads it (dvc.yaml, params and vars files, manifests, every
 * stage's params files, dvc.lock), and `reprod validate` run as a command on
 * a sample of them.
 *
 *   npx tsx bench/soak-yaml.ts [--cases 1000] [--seed 1] [--cli-every 20]
 *
 * It prints what each case ended as and the counts that must all be zero:
 * crashes (a throw that is not a ReprodError), hangs (over 5 s), and
 * JavaScript stack traces in the command's output. It exits 1 if any is not.
 * A command's time is counted beyond what `reprod validate` of a one-stage
 * pipeline takes in the same run (Node's start-up and reprod's modules), so
 * that a busy machine's start-up is not taken for a hang; both are printed.
 *
 * The loader runs in a child process that takes one case at a time: a case
 * that does not answer within 5 s is a hang, and its child is killed and
 * replaced (sync work cannot be interrupted in-process).
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { aliasBombLines, deepBlockLines, deepFlow, dvcYamlMatrixBomb } from '../test/helpers/hostile-yaml.js';
import { rng } from './lib/measure.js';

const HANG_MS = 5_000;
const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');
const STACK = /^\s+at |unexpected:|RangeError|TypeError|ReferenceError/m;

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  return Number.isFinite(v) && v > 0 ? v : dflt;
}

// ------------------------------------------------------------------ the child: one case per message

interface Outcome {
  ok: boolean;
  /** The ReprodError's code, or the class of what else was thrown. */
  code: string;
  crash: boolean;
  message: string;
  ms: number;
}

async function child(): Promise<void> {
  const { loadSpec, openProject } = await import('../src/app/project.js');
  const { ReprodError } = await import('../src/core/errors.js');
  const { parseParamsText } = await import('../src/pipeline/params-file.js');
  process.on('message', (root: string) => {
    const t0 = performance.now();
    const done = (o: Omit<Outcome, 'ms'>) => process.send?.({ ...o, ms: performance.now() - t0 });
    (async () => {
      const project = openProject(root);
      try {
        const spec = loadSpec(root, project.limits);
        await project.lockStore.read();
        // what observing the stages reads: every params file (each once: its cost is the file's, not the bombs')
        for (const file of new Set(spec.pipeline.stages.flatMap((s) => s.params.map((p) => p.path)))) {
          const text = await project.ws.readText(file);
          if (text !== undefined) parseParamsText(text, file, project.limits);
        }
      } finally {
        await project.hasher[Symbol.asyncDispose]();
      }
    })().then(
      () => done({ ok: true, code: 'OK', crash: false, message: '' }),
      (e: unknown) => {
        if (e instanceof ReprodError) done({ ok: false, code: e.code, crash: false, message: e.format().split('\n')[0] ?? '' });
        else done({ ok: false, code: e instanceof Error ? e.name : typeof e, crash: true, message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      },
    );
  });
  process.send?.('ready');
}

// ------------------------------------------------------------------ mutations


const BASE_DVC = `stages:
  prepare:
    cmd: python prepare.py --seed \${seed}
    deps: [prepare.py]
    params: [seed, prepare.split]
    outs: [data/prepared]
  train:
    foreach: \${models}
    do:
      cmd: python train.py --C \${item.C}
      deps: [data/prepared]
      params: [train.lr]
      outs: ['model-\${key}.pkl']
  grid:
    matrix:
      depth: [1, 2]
      lr: [0.1, 0.01]
    cmd: echo \${item.depth} \${item.lr}
`;

const BASE_PARAMS = `seed: 42
prepare:
  split: 0.2
train:
  lr: 0.01
models:
  small: {C: 0.1}
  large: {C: 10}
`;

interface Case {
  kind: string;
  files: Record<string, string | Buffer>;
}

type Pick = <T>(xs: readonly T[]) => T;

function mutations(r: () => number): ((c: Case) => Case)[] {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick: Pick = (xs) => xs[Math.floor(r() * xs.length)] as (typeof xs)[number];
  const text = (c: Case, f: string) => String(c.files[f] ?? '');
  const inMeta = (c: Case, lines: string[]) => text(c, 'dvc.yaml').replace('  prepare:\n', `  prepare:\n    meta:\n${lines.map((l) => `      ${l}`).join('\n')}\n`);
  return [
    (c) => ({ kind: 'alias bomb in dvc.yaml', files: { ...c.files, 'dvc.yaml': inMeta(c, aliasBombLines(int(1, 15), '', int(2, 12))) } }),
    (c) => ({ kind: 'alias bomb in params.yaml', files: { ...c.files, 'params.yaml': `${aliasBombLines(int(1, 15), '', int(2, 12)).join('\n')}\n${text(c, 'params.yaml')}` } }),
    (c) => ({ kind: 'alias bomb in a vars file', files: { ...c.files, 'dvc.yaml': `vars: [extra.yaml]\n${text(c, 'dvc.yaml')}`, 'extra.yaml': `${aliasBombLines(int(2, 14)).join('\n')}\n` } }),
    (c) => ({ kind: 'matrix bomb', files: { ...c.files, 'dvc.yaml': `${text(c, 'dvc.yaml')}${dvcYamlMatrixBomb(int(2, 12), int(2, 20)).replace('stages:\n  s:', '  bomb:')}` } }),
    (c) => ({
      kind: 'foreach over a long list in params.yaml',
      files: { ...c.files, 'params.yaml': `${text(c, 'params.yaml')}many: [${Array.from({ length: int(100, 12_000) }, (_, i) => i).join(', ')}]\n`, 'dvc.yaml': `${text(c, 'dvc.yaml')}  each:\n    foreach: \${many}\n    do:\n      cmd: echo \${item}\n` },
    }),
    (c) => ({
      kind: 'foreach over a long list in a vars file',
      files: { ...c.files, 'many.yaml': `many: [${Array.from({ length: int(5_000, 30_000) }, (_, i) => i).join(', ')}]\n`, 'dvc.yaml': `vars: [many.yaml]\n${text(c, 'dvc.yaml')}  each:\n    foreach: \${many}\n    do:\n      cmd: echo \${item}\n` },
    }),
    (c) => ({ kind: 'deep flow nesting in dvc.yaml', files: { ...c.files, 'dvc.yaml': inMeta(c, [`deep: ${deepFlow(int(50, 5000))}`]) } }),
    (c) => ({ kind: 'deep block nesting in dvc.yaml', files: { ...c.files, 'dvc.yaml': inMeta(c, deepBlockLines(int(50, 3000))) } }),
    (c) => ({ kind: 'deep nesting in params.yaml', files: { ...c.files, 'params.yaml': `${text(c, 'params.yaml')}deep: ${deepFlow(int(50, 5000))}\n` } }),
    (c) => ({
      kind: 'deep nesting in a JSON params file',
      files: { ...c.files, 'p.json': `{"a": ${deepFlow(int(50, 5000))}}`, 'dvc.yaml': text(c, 'dvc.yaml').replace('params: [train.lr]', 'params: [train.lr, {p.json: [a]}]') },
    }),
    (c) => ({
      kind: 'deep nesting in a TOML params file',
      files: { ...c.files, 'p.toml': r() < 0.5 ? `a = ${deepFlow(int(50, 5000))}\n` : `[${Array.from({ length: int(50, 3000) }, (_, i) => `k${i}`).join('.')}]\nv = 1\n`, 'dvc.yaml': text(c, 'dvc.yaml').replace('params: [seed, prepare.split]', 'params: [seed, prepare.split, {p.toml: }]') },
    }),
    (c) => {
      // nesting made of aliases: each level a one-item list of the level before
      const n = int(50, 3000);
      return { kind: 'deep nesting through aliases', files: { ...c.files, 'params.yaml': `x0: &x0 [leaf]\n${Array.from({ length: n }, (_, i) => `x${i + 1}: &x${i + 1} [*x${i}]`).join('\n')}\n${text(c, 'params.yaml')}` } };
    },
    (c) => ({ kind: 'alias to its own anchor', files: { ...c.files, 'dvc.yaml': inMeta(c, ['loop: &loop [a, *loop]']) } }),
    (c) => ({ kind: 'alias to no anchor', files: { ...c.files, 'params.yaml': `${text(c, 'params.yaml')}ghost: *nowhere\n` } }),
    (c) => {
      const s = `&s ${'x'.repeat(int(100, 5000))}`;
      return {
        kind: 'text amplified by ${}',
        files: { ...c.files, 'dvc.yaml': `vars:\n  - d: {k0: ${s}, ${Array.from({ length: int(10, 200) }, (_, i) => `k${i + 1}: *s`).join(', ')}}\n${text(c, 'dvc.yaml')}${dvcYamlMatrixBomb(int(1, 3), int(10, 30)).replace('stages:\n  s:', '  amp:').replace('echo ${item.k0}', 'echo ${d} ${item.k0}')}` },
      };
    },
    (c) => {
      const f = pick(['dvc.yaml', 'params.yaml']);
      const b = Buffer.from(text(c, f));
      const at = int(0, Math.max(0, b.length - 1));
      const bad = pick([[0xff], [0xfe, 0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0x80]]);
      return { kind: `bytes that are not UTF-8 in ${f}`, files: { ...c.files, [f]: Buffer.concat([b.subarray(0, at), Buffer.from(bad), b.subarray(at)]) } };
    },
    (c) => {
      const f = pick(['dvc.yaml', 'params.yaml']);
      const b = Buffer.from(text(c, f));
      for (let k = int(1, 8); k > 0 && b.length > 0; k--) b[int(0, b.length - 1)] = int(0, 255);
      return { kind: `flipped bytes in ${f}`, files: { ...c.files, [f]: b } };
    },
    (c) => {
      const f = pick(['dvc.yaml', 'params.yaml']);
      const lines = text(c, f).split('\n');
      const i = int(0, lines.length - 1);
      const op = pick(['cut', 'repeat', 'indent', 'truncate']);
      if (op === 'cut') lines.splice(i, 1);
      else if (op === 'repeat') lines.splice(i, 0, ...Array.from({ length: int(1, 50) }, () => lines[i] ?? ''));
      else if (op === 'indent') lines[i] = `${' '.repeat(int(1, 9))}${lines[i] ?? ''}`;
      else return { kind: `truncated ${f}`, files: { ...c.files, [f]: text(c, f).slice(0, int(0, text(c, f).length)) } };
      return { kind: `${op} a line of ${f}`, files: { ...c.files, [f]: lines.join('\n') } };
    },
    // yaml's own repeated-key check compared each key with all before it: 10,000 keys took 7 s, 20,000 about 30 s
    (c) => ({ kind: 'a params.yaml of many keys', files: { ...c.files, 'params.yaml': `${text(c, 'params.yaml')}${Array.from({ length: int(1_000, 10_000) }, (_, i) => `k${i}: ${i}`).join('\n')}\n` } }),
    (c) => ({ kind: 'missing params key', files: { ...c.files, 'dvc.yaml': text(c, 'dvc.yaml').replace('params: [train.lr]', 'params: [train.lr, train.nope]') } }),
    (c) => ({ kind: 'non-UTF-8 dvc.lock', files: { ...c.files, 'dvc.lock': Buffer.concat([Buffer.from("schema: '2.0'\nstages:\n  prepare:\n    cmd: "), Buffer.from([0xff]), Buffer.from('\n')]) } }),
  ];
}

function makeCases(n: number, seed: number): Case[] {
  const r = rng(seed);
  const muts = mutations(r);
  const cases: Case[] = [];
  for (let i = 0; i < n; i++) {
    let c: Case = { kind: '', files: { 'dvc.yaml': BASE_DVC, 'params.yaml': BASE_PARAMS } };
    // mostly one mutation, sometimes two or three on top of each other
    const k = r() < 0.7 ? 1 : r() < 0.7 ? 2 : 3;
    const kinds: string[] = [];
    for (let j = 0; j < k; j++) {
      c = (muts[Math.floor(r() * muts.length)] as (c: Case) => Case)(c);
      kinds.push(c.kind);
    }
    cases.push({ kind: kinds.join(' + '), files: c.files });
  }
  return cases;
}

// ------------------------------------------------------------------ the parent

class Loader {
  private proc: ChildProcess | undefined;
  restarts = 0;

  private async start(): Promise<ChildProcess> {
    const p = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      p.once('message', () => resolve());
      p.once('exit', (code) => reject(new Error(`the loader child exited (${code}) before it was ready`)));
    });
    return p;
  }

  /** The outcome of loading `root`, or 'hang' after HANG_MS (the child is then replaced). */
  async load(root: string): Promise<Outcome | 'hang'> {
    this.proc ??= await this.start();
    const p = this.proc;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        p.removeAllListeners('message');
        p.kill('SIGKILL');
        this.proc = undefined;
        this.restarts++;
        resolve('hang');
      }, HANG_MS);
      p.once('message', (o: Outcome) => {
        clearTimeout(timer);
        resolve(o);
      });
      p.send(root);
    });
  }

  stop(): void {
    this.proc?.kill();
  }
}

/** The built command when there is one (its start-up is a user's: run `npm run build` first), else the sources through tsx. */
function cliCommand(): string[] {
  return existsSync(path.join(repo, 'dist', 'cli', 'run.js')) ? [path.join(repo, 'bin', 'reprod.js')] : ['--import', 'tsx', path.join(repo, 'src', 'cli', 'run.ts')];
}

async function parent(): Promise<void> {
  const n = arg('--cases', 1000);
  const seed = arg('--seed', 1);
  const cliEvery = arg('--cli-every', 20);
  const cases = makeCases(n, seed);
  const loader = new Loader();
  const cli = cliCommand();
  const byCode = new Map<string, number>();
  const byKind = new Map<string, Map<string, number>>();
  let crashes = 0;
  let hangs = 0;
  let slowest = { ms: 0, kind: '' };
  const cliStats = { runs: 0, stackTraces: 0, hangs: 0, badExit: 0, unlocated: 0, slowestMs: 0, slowestKind: '' };
  const examples: string[] = [];
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'reprod-soak-'));
  const validate = (root: string) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [...cli, '-C', root, 'validate'], { encoding: 'utf8', timeout: 60_000 });
    return { r, ms: performance.now() - t0 };
  };
  let startupMs = 0;
  try {
    mkdirSync(path.join(tmp, 'trivial'));
    writeFileSync(path.join(tmp, 'trivial', 'dvc.yaml'), 'stages:\n  s:\n    cmd: echo\n');
    const startups = [0, 1, 2].map(() => validate(path.join(tmp, 'trivial')).ms).sort((a, b) => a - b);
    startupMs = startups[1] ?? 0;
    // the unmutated pipeline must load, or every case would fail on the same error
    mkdirSync(path.join(tmp, 'base'));
    writeFileSync(path.join(tmp, 'base', 'dvc.yaml'), BASE_DVC);
    writeFileSync(path.join(tmp, 'base', 'params.yaml'), BASE_PARAMS);
    const base = await loader.load(path.join(tmp, 'base'));
    if (base === 'hang' || !base.ok) throw new Error(`the base pipeline does not load: ${base === 'hang' ? 'hang' : base.message}`);
    for (const [i, c] of cases.entries()) {
      const root = path.join(tmp, `case-${i}`);
      mkdirSync(root);
      for (const [f, content] of Object.entries(c.files)) writeFileSync(path.join(root, f), content);
      const out = await loader.load(root);
      const code = out === 'hang' ? 'HANG' : out.code;
      byCode.set(code, (byCode.get(code) ?? 0) + 1);
      const first = c.kind.split(' + ')[0] ?? c.kind;
      const kinds = byKind.get(first) ?? new Map<string, number>();
      kinds.set(code, (kinds.get(code) ?? 0) + 1);
      byKind.set(first, kinds);
      if (out === 'hang') {
        hangs++;
        examples.push(`hang: case ${i} (${c.kind})`);
      } else {
        if (out.crash) {
          crashes++;
          examples.push(`crash: case ${i} (${c.kind}): ${out.message.split('\n').slice(0, 3).join(' | ')}`);
        }
        if (out.ms > slowest.ms) slowest = { ms: out.ms, kind: c.kind };
      }
      if (i % cliEvery === 0) {
        const { r, ms } = validate(root);
        cliStats.runs++;
        if (ms > cliStats.slowestMs) Object.assign(cliStats, { slowestMs: ms, slowestKind: c.kind });
        if (r.error || r.signal || ms - startupMs > HANG_MS) {
          cliStats.hangs++;
          examples.push(`command over ${HANG_MS} ms: case ${i} (${c.kind}): ${ms.toFixed(0)} ms`);
        }
        else if (![0, 1, 2].includes(r.status ?? -1)) cliStats.badExit++;
        if (STACK.test(r.stderr) || STACK.test(r.stdout)) {
          cliStats.stackTraces++;
          examples.push(`stack trace: case ${i} (${c.kind}): ${r.stderr.split('\n').slice(0, 3).join(' | ')}`);
        }
        if (r.status !== 0 && !/^ERROR: \S/.test(r.stderr)) cliStats.unlocated++;
      }
      rmSync(root, { recursive: true, force: true });
    }
  } finally {
    loader.stop();
    rmSync(tmp, { recursive: true, force: true });
  }

  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  console.log(`soak-yaml: ${n} cases (seed ${seed}); each loaded as status loads it, with a ${HANG_MS} ms limit`);
  console.log(`outcomes: ${sorted(byCode).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  for (const [kind, codes] of [...byKind].sort()) console.log(`  ${kind}: ${sorted(codes).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`slowest load: ${slowest.ms.toFixed(0)} ms (${slowest.kind})`);
  console.log(`reprod validate as a command (${cli.join(' ')}): ${cliStats.runs} runs, slowest ${cliStats.slowestMs.toFixed(0)} ms (${cliStats.slowestKind}) against ${startupMs.toFixed(0)} ms for a one-stage pipeline, exits other than 0/1/2: ${cliStats.badExit}, errors not starting 'ERROR: <where>': ${cliStats.unlocated}`);
  for (const e of examples.slice(0, 20)) console.log(`  ${e}`);
  console.log(`crashes: ${crashes}`);
  console.log(`hangs over ${HANG_MS / 1000} s: ${hangs + cliStats.hangs} (loader ${hangs}, command ${cliStats.hangs})`);
  console.log(`JS stack traces in output: ${cliStats.stackTraces}`);
  const bad = crashes + hangs + cliStats.hangs + cliStats.stackTraces + cliStats.badExit + cliStats.unlocated;
  process.exitCode = bad === 0 ? 0 : 1;
}

if (process.argv.includes('--child')) await child();
else await parent();
