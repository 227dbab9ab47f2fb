/**
 * The temporary files of writers killed mid-write, on real files: repro
 * removes them at start-up, the daemon once it first holds the workspace
 * lock (before its first pass), and gc lists (or with --force removes) them;
 * files younger than the minimum age, and everything that is not such a
 * file, stay.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, utimesSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { WRITERS_DIR } from '../../../src/adapters/fs/writer-marks.js';
import { runDaemon } from '../../../src/app/daemon.js';
import { cleanLeftovers, LEFTOVER_MIN_AGE_MS } from '../../../src/app/leftovers.js';
import { openWorkspaceLock } from '../../../src/app/workspace-lock.js';
import type { Logger } from '../../../src/core/ports.js';
import { objectKey } from '../../../src/remote/layout.js';
import { md5, snapshot, write } from '../../helpers/hostile.js';
import { reprod, tempDir } from '../../helpers/workspace.js';

const UUID = '0b1e2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const OBJ = md5('o\n');

/** What a kill -9 leaves, by writer: the cache (reprod's and DVC's names), status/, dvc.lock, the state cache, the MLflow outbox. */
const LEFTOVERS = [
  `.dvc/cache/${objectKey(OBJ)}.${UUID}.tmp`,
  `.dvc/cache/files/md5/ab/${'c'.repeat(30)}.dir.${UUID}.tmp`,
  `.dvc/cache/files/md5/12/${'3'.repeat(30)}.Ks3nQ7aZbXcVdWeYfUgThR.tmp`,
  `.dvc/cache/runs/ab/${'ab'.repeat(32)}/${'f'.repeat(64)}.${UUID}.tmp`,
  `status/.s.yaml.${UUID}.tmp`,
  `status/.pipeline.yaml.${UUID}.tmp`,
  `.dvc.lock.${UUID}.tmp`,
  '.dvc/tmp/reprod/state.tsv.tmp-4242',
  `.dvc/tmp/reprod/mlflow-outbox/blobs/.${UUID}.tmp`,
  `.dvc/tmp/reprod/mlflow-outbox/journal-${'a'.repeat(32)}.jsonl.${UUID}.tmp`,
  `.dvc/tmp/reprod/mlflow-outbox/.journal-${'a'.repeat(32)}.lock.${'b'.repeat(32)}.tmp`,
  `mlruns/.meta.yaml.${UUID}.tmp`,
  `mlruns/1/${'d'.repeat(32)}/.meta.yaml.${UUID}.tmp`,
];

/** Files that look close but are not leftovers, or are in places that are not cleaned. */
const KEPT = ['.dvc/tmp/reprod/mlflow-outbox/journal-x.jsonl', 'notes.tmp', `data/.x.${UUID}.tmp`, 'status/s.yaml.tmp', `.dvc/cache/${objectKey(OBJ)}`];

function plant(root: string, files: readonly string[], ageMs: number): void {
  const t = new Date(Date.now() - ageMs);
  for (const f of files) {
    write(root, { [f]: f.includes(OBJ) && !f.endsWith('.tmp') ? 'o\n' : 'partial' });
    utimesSync(path.join(root, f), t, t);
  }
}

/** A logger that keeps the messages it was given, and calls `onLine` with each. */
function watchingLogger(onLine: (msg: string) => void): Logger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    const line = `${level} ${msg ?? ''} ${JSON.stringify(obj)}`;
    lines.push(line);
    onLine(line);
  };
  const log: Logger = { debug: () => undefined, info: at('info'), warn: at('warn'), error: at('error'), child: () => log };
  return Object.assign(log, { lines });
}

/** Resolves when `pred` first holds for a line logged; rejects after `ms` with what was logged. */
function lineSeen(ms: number): { onLine: (l: string) => void; until: (what: string, pred: (l: string) => boolean, lines: () => string[]) => Promise<void> } {
  const waiters: { pred: (l: string) => boolean; resolve: () => void }[] = [];
  return {
    onLine: (l) => {
      for (const w of [...waiters]) if (w.pred(l)) w.resolve();
    },
    until: (what, pred, lines) =>
      new Promise<void>((resolve, reject) => {
        if (lines().some(pred)) return resolve();
        const timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms; logged:\n${lines().join('\n')}`)), ms);
        waiters.push({ pred, resolve: () => (clearTimeout(timer), resolve()) });
      }),
  };
}

describe('leftovers of interrupted writes', () => {
  it('repro removes them at start-up; young ones and look-alikes stay', async () => {
    using ws = tempDir();
    write(ws.path, { 'dvc.yaml': 'stages:\n  s:\n    cmd: echo o > o.txt\n    outs: [o.txt]\n' });
    plant(ws.path, LEFTOVERS, LEFTOVER_MIN_AGE_MS + 60_000);
    plant(ws.path, KEPT, LEFTOVER_MIN_AGE_MS + 60_000);
    // a writer that may still be running: its file changed a moment ago
    const young = `.dvc/cache/files/md5/99/${'9'.repeat(30)}.${UUID}.tmp`;
    plant(ws.path, [young], 1_000);

    const res = await reprod(ws.path, 'repro');
    expect(res.code, res.stderr).toBe(0);
    for (const f of LEFTOVERS) expect(existsSync(path.join(ws.path, f)), f).toBe(false);
    for (const f of [...KEPT, young]) expect(existsSync(path.join(ws.path, f)), f).toBe(true);
  });

  it('a killed writer\'s files go at once, however young; a live writer\'s, and unmarked ones, stay', async () => {
    using ws = tempDir();
    write(ws.path, { 'dvc.yaml': 'stages:\n  s:\n    cmd: echo o > o.txt\n    outs: [o.txt]\n' });
    // a writer in another process: it takes its mark, starts a temporary file in the cache and one in status/, and stays
    const script = [
      `import { markWriter } from ${JSON.stringify(path.resolve('src/adapters/fs/writer-marks.ts'))};`,
      `import { tempPathFor } from ${JSON.stringify(path.resolve('src/adapters/fs/atomic-file.ts'))};`,
      `import { mkdirSync, writeFileSync } from 'node:fs';`,
      `const root = process.argv[1];`,
      `if (!(await markWriter(root))) process.exit(3);`,
      `mkdirSync(root + '/.dvc/cache/files/md5/ab', { recursive: true }); mkdirSync(root + '/status', { recursive: true });`,
      `const files = [tempPathFor(root + '/.dvc/cache/files/md5/ab/' + 'c'.repeat(30)), tempPathFor(root + '/status/s.yaml', true)];`,
      `for (const f of files) writeFileSync(f, 'partial');`,
      `console.log(JSON.stringify(files)); setInterval(() => undefined, 1000);`,
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ws.path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((res) => child.on('close', () => res()));
    const files = await new Promise<string[]>((res, rej) => {
      child.stdout.once('data', (d: Buffer) => res(JSON.parse(d.toString()) as string[]));
      child.once('close', (code) => rej(new Error(`the writer exited ${code}`)));
    });
    const marks = () => readdirSync(path.join(ws.path, WRITERS_DIR));
    expect(marks()).toHaveLength(1);
    // young files of no known writer (DVC's, or a writer before its mark): age alone decides
    const unmarked = [`status/.t.yaml.${UUID}.tmp`, `.dvc/cache/files/md5/12/${'3'.repeat(30)}.Ks3nQ7aZbXcVdWeYfUgThR.tmp`];
    plant(ws.path, unmarked, 1_000);

    const alive = await cleanLeftovers({ root: ws.path, cache: { dir: path.join(ws.path, '.dvc/cache') } });
    expect(alive.paths).toEqual([]);
    for (const f of files) expect(existsSync(f), f).toBe(true);

    child.kill('SIGKILL');
    await exited;
    const gone = await cleanLeftovers({ root: ws.path, cache: { dir: path.join(ws.path, '.dvc/cache') } });
    expect(gone.paths.sort()).toEqual(files.map((f) => path.relative(ws.path, f)).sort());
    for (const f of files) expect(existsSync(f), f).toBe(false);
    for (const f of unmarked) expect(existsSync(path.join(ws.path, f)), f).toBe(true);
    // the dead writer's mark went with its files
    expect(marks()).toEqual([]);
  });

  it('gc lists them without --force and removes them with it', async () => {
    using ws = tempDir();
    write(ws.path, { 'dvc.yaml': 'stages:\n  s:\n    cmd: echo o > o.txt\n    outs: [o.txt]\n' });
    expect((await reprod(ws.path, 'repro')).code).toBe(0);
    plant(ws.path, LEFTOVERS, LEFTOVER_MIN_AGE_MS + 60_000);
    const before = snapshot(ws.path);

    const dry = await reprod(ws.path, 'gc');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`Would remove ${LEFTOVERS.length} temporary files left by interrupted writes (${LEFTOVERS.length * 'partial'.length} bytes):\n`);
    for (const f of LEFTOVERS) expect(dry.stdout).toContain(`  ${f}\n`);
    expect(snapshot(ws.path)).toEqual(before);

    const forced = await reprod(ws.path, 'gc', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain(`Removed ${LEFTOVERS.length} temporary files left by interrupted writes`);
    const gone = new Set(LEFTOVERS);
    const expected = before.filter((row) => !gone.has(row.split('\t')[0] as string));
    // nothing else changed (the workspace lock and state cache aside)
    const strip = (rows: string[]) => rows.filter((r) => !r.startsWith('.dvc/tmp/'));
    expect(strip(snapshot(ws.path))).toEqual(strip(expected));
  });

  it('an injected clock decides the age, and a cache outside the workspace is cleaned too', async () => {
    using ws = tempDir();
    using cache = tempDir('reprod-cache-');
    const leftover = path.join(cache.path, 'files', 'md5', '00', `${'1'.repeat(30)}.${UUID}.tmp`);
    write(cache.path, { [path.relative(cache.path, leftover)]: 'x' });
    const project = { root: ws.path, cache: { dir: cache.path } };
    const clock = (ms: number) => ({ now: () => new Date(Date.now() + ms) });
    expect((await cleanLeftovers(project, { clock: clock(0) })).paths).toEqual([]);
    const later = await cleanLeftovers(project, { clock: clock(LEFTOVER_MIN_AGE_MS + 1_000) });
    expect(later).toEqual({ paths: [leftover], bytes: 1 });
    expect(existsSync(leftover)).toBe(false);
  });

  it('the daemon removes them once it holds the workspace lock, before its first pass; never while another holds it', async () => {
    using ws = tempDir();
    write(ws.path, { 'dvc.yaml': 'stages:\n  s:\n    cmd: echo o > o.txt\n    outs: [o.txt]\n' });
    plant(ws.path, LEFTOVERS, LEFTOVER_MIN_AGE_MS + 60_000);
    plant(ws.path, KEPT, LEFTOVER_MIN_AGE_MS + 60_000);
    const other = await openWorkspaceLock(ws.path).acquire({ waitMs: 0 });
    const seen = lineSeen(20_000);
    const log = watchingLogger(seen.onLine);
    // what was still there when the first pass started
    let atFirstPass: string[] | undefined;
    const ac = new AbortController();
    const done = runDaemon(
      {
        root: ws.path,
        runtime: 'host',
        log,
        debounceMs: 50,
        http: null,
        tracking: false,
        hooks: {
          passStarted: () => void (atFirstPass ??= LEFTOVERS.filter((f) => existsSync(path.join(ws.path, f)))),
          passFinished: () => void seen.onLine('pass finished (hook)'),
        },
      },
      ac.signal,
    );
    try {
      await seen.until('wait for the lock', (l) => l.includes('waiting for the workspace lock'), () => log.lines);
      // another writer holds the workspace: its temporary files may be live, nothing is touched
      for (const f of LEFTOVERS) expect(existsSync(path.join(ws.path, f)), f).toBe(true);
      await other.release();
      await seen.until('first pass to finish', (l) => l.includes('pass finished (hook)'), () => log.lines);
      expect(atFirstPass).toEqual([]);
      for (const f of KEPT) expect(existsSync(path.join(ws.path, f)), f).toBe(true);
      expect(log.lines.some((l) => l.includes('removed temporary files left by interrupted writes') && l.includes(`"files":${LEFTOVERS.length}`))).toBe(true);
    } finally {
      await other.release();
      ac.abort();
      await done;
    }
  });
});
