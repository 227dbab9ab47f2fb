/**
 * The state cache on real files: what makes WorkspaceHasher read a file again
 * and what does not, asserted on its read counters, never on timing.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/core/ports.js';
import { StateCache } from '../../../src/hashing/state-cache.js';
import { WorkspaceHasher } from '../../../src/hashing/workspace-hasher.js';

let ws: string;

beforeEach(() => {
  ws = mkdtempSync(path.join(os.tmpdir(), 'reprod-state-'));
  mkdirSync(path.join(ws, '.dvc'));
});

afterEach(() => {
  rmSync(ws, { recursive: true, force: true });
});

function write(rel: string, content: string): void {
  const abs = path.join(ws, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, content);
}

/** Sets a file's mtime to a fixed, distinct instant (no sleeping for the clock to move). */
function setMtime(rel: string, secondsSinceEpoch: number): void {
  utimesSync(path.join(ws, rel), secondsSinceEpoch, secondsSinceEpoch);
}

/** Hashes with a fresh hasher that loads the persisted state, then persists it again. */
async function pass(rel: string, jobs = 1): Promise<{ md5: string | undefined; hasher: WorkspaceHasher }> {
  await using hasher = new WorkspaceHasher({ root: ws, jobs });
  const r = await hasher.hash(rel);
  await hasher.flush();
  return { md5: r?.info.md5, hasher };
}

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger & { warnings: string[] } = {
    warnings,
    debug: () => undefined,
    info: () => undefined,
    warn: (_obj, msg) => void warnings.push(msg ?? ''),
    error: () => undefined,
    child: () => logger,
  };
  return logger;
}

describe('files', () => {
  it('reads an unchanged file once across passes', async () => {
    write('a.txt', 'alpha\n');
    const first = await pass('a.txt');
    expect(first.hasher.counters.filesHashed).toBe(1);
    const second = await pass('a.txt');
    expect(second.md5).toBe(first.md5);
    expect(second.hasher.counters).toMatchObject({ filesHashed: 0, filesFromState: 1 });
  });

  it('rereads a touched file (new mtime) and finds the same hash, as DVC does', async () => {
    write('a.txt', 'alpha\n');
    setMtime('a.txt', 1_700_000_000);
    const first = await pass('a.txt');
    setMtime('a.txt', 1_700_000_100);
    const second = await pass('a.txt');
    expect(second.hasher.counters.filesHashed).toBe(1);
    expect(second.md5).toBe(first.md5);
  });

  it('rehashes a file whose inode changed, even with the same size, mtime and bytes', async () => {
    write('a.txt', 'alpha\n');
    setMtime('a.txt', 1_700_000_000);
    const first = await pass('a.txt');
    write('a.txt.new', 'alpha\n');
    setMtime('a.txt.new', 1_700_000_000);
    renameSync(path.join(ws, 'a.txt.new'), path.join(ws, 'a.txt'));
    const second = await pass('a.txt');
    expect(second.hasher.counters.filesHashed).toBe(1);
    expect(second.md5).toBe(first.md5);
  });

  it('trusts mtime like DVC: a same-size rewrite in place with the old mtime put back goes unseen', async () => {
    write('a.txt', 'alpha\n');
    setMtime('a.txt', 1_700_000_000);
    const first = await pass('a.txt');
    writeFileSync(path.join(ws, 'a.txt'), 'omega\n'); // same inode, same size
    setMtime('a.txt', 1_700_000_000);
    const second = await pass('a.txt');
    expect(second.hasher.counters.filesHashed).toBe(0);
    expect(second.md5).toBe(first.md5); // stale, knowingly: see state-cache.ts
    setMtime('a.txt', 1_700_000_001);
    expect((await pass('a.txt')).md5).not.toBe(first.md5);
  });

  it('reports isexec from the current mode, not from the state', async () => {
    write('tool.sh', '#!/bin/sh\n');
    await using h = new WorkspaceHasher({ root: ws, statePath: null });
    expect((await h.hash('tool.sh'))?.info).toEqual({ md5: expect.any(String), size: 10 });
    chmodSync(path.join(ws, 'tool.sh'), 0o744);
    expect((await h.hash('tool.sh'))?.info).toEqual({ md5: expect.any(String), size: 10, isexec: true });
    chmodSync(path.join(ws, 'tool.sh'), 0o654); // group exec only: DVC's is_exec says yes too
    expect((await h.hash('tool.sh'))?.info.isexec).toBe(true);
    expect(h.counters.filesHashed).toBe(1);
  });

  it('answers null for a missing path and forgets it', async () => {
    write('a.txt', 'alpha\n');
    await pass('a.txt');
    rmSync(path.join(ws, 'a.txt'));
    expect((await pass('a.txt')).md5).toBeUndefined();
    const { state } = StateCache.load(path.join(ws, '.dvc/tmp/reprod/state.tsv'));
    expect(state.getFile('a.txt')).toBeUndefined();
  });
});

describe('directories', () => {
  const N = 60; // enough files for the worker pool to take part when jobs > 1

  function makeDir(): void {
    for (let i = 0; i < N; i++) write(`d/f${i}.txt`, `file ${i}\n`);
    write('d/sub/deep.txt', 'deep\n');
    for (let i = 0; i < N; i++) setMtime(`d/f${i}.txt`, 1_700_000_000);
  }

  it.each([1, 2])('answers an unchanged directory from the state with stats only (jobs=%i)', async (jobs) => {
    makeDir();
    const cold = await pass('d', jobs);
    expect(cold.hasher.counters.filesHashed).toBe(N + 1);
    const warm = await pass('d', jobs);
    expect(warm.md5).toBe(cold.md5);
    expect(warm.hasher.counters).toMatchObject({ filesHashed: 0, dirsFromState: 1 });
  });

  it('rereads only the touched file; the directory hash stays', async () => {
    makeDir();
    const cold = await pass('d');
    setMtime('d/f7.txt', 1_700_000_500);
    const warm = await pass('d');
    expect(warm.hasher.counters).toMatchObject({ filesHashed: 1, dirsFromState: 0 });
    expect(warm.md5).toBe(cold.md5);
    expect((await pass('d')).hasher.counters).toMatchObject({ filesHashed: 0, dirsFromState: 1 });
  });

  it('reads only an added file, none for a removed one, and the hash follows', async () => {
    makeDir();
    const cold = await pass('d');
    write('d/sub/new.txt', 'new\n');
    const added = await pass('d');
    expect(added.hasher.counters.filesHashed).toBe(1);
    expect(added.md5).not.toBe(cold.md5);
    rmSync(path.join(ws, 'd/sub/new.txt'));
    const removed = await pass('d');
    expect(removed.hasher.counters.filesHashed).toBe(0);
    expect(removed.md5).toBe(cold.md5);
  });

  it('sees a chmod +x without rereading and without changing the hash', async () => {
    makeDir();
    const cold = await pass('d');
    chmodSync(path.join(ws, 'd/f3.txt'), 0o755);
    await using h = new WorkspaceHasher({ root: ws, jobs: 1 });
    const r = await h.hash('d');
    expect(h.counters.filesHashed).toBe(0);
    expect(r?.info.md5).toBe(cold.md5);
    expect(r?.entries?.find((e) => e.relpath === 'f3.txt')?.isexec).toBe(true);
  });

  it('reuses what a file hash learnt when the directory is hashed later', async () => {
    makeDir();
    await using h = new WorkspaceHasher({ root: ws, jobs: 1 });
    await h.hash('d/sub/deep.txt');
    await h.hash('d');
    expect(h.counters.filesHashed).toBe(N + 1);
  });
});

describe('the state file', () => {
  it('lives in .dvc/tmp/reprod and round-trips paths with tabs, newlines and backslashes', async () => {
    const names = ['tab\there.txt', 'new\nline.txt', 'back\\slash.txt', 'caf\u00e9 \u{1F600}.txt'];
    for (const n of names) write(`odd/${n}`, n);
    write('odd\tdir/x.txt', 'x');
    const cold = await pass('odd');
    await pass('odd\tdir');
    const file = path.join(ws, '.dvc/tmp/reprod/state.tsv');
    expect(statSync(file).isFile()).toBe(true);
    const warm = await pass('odd');
    expect(warm.md5).toBe(cold.md5);
    expect(warm.hasher.counters.filesHashed).toBe(0);
    const { state, problem } = StateCache.load(file);
    expect(problem).toBeUndefined();
    expect(state.getDir('odd')?.entries.map((e) => e.relpath).sort()).toEqual([...names].sort());
    expect(state.getDir('odd\tdir')?.info.nfiles).toBe(1);
  });

  it('is written only when something changed', async () => {
    write('a.txt', 'alpha\n');
    await pass('a.txt');
    const file = path.join(ws, '.dvc/tmp/reprod/state.tsv');
    writeFileSync(file, readFileSync(file, 'utf8') + '\n');
    await pass('a.txt');
    expect(readFileSync(file, 'utf8').endsWith('\n\n')).toBe(true);
  });

  it('starts empty, with a warning, when the file is corrupt, and then repairs it', async () => {
    write('a.txt', 'alpha\n');
    const file = path.join(ws, '.dvc/tmp/reprod/state.tsv');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'reprod-state\t1\nD\td\tx.dir\t5\n');
    const logger = recordingLogger();
    {
      await using h = new WorkspaceHasher({ root: ws, logger });
      await h.hash('a.txt');
      await h.flush();
      expect(h.counters.filesHashed).toBe(1);
    }
    expect(logger.warnings).toEqual([expect.stringContaining('bad directory record')]);
    expect(StateCache.load(file).problem).toBeUndefined();
  });

  it.each([
    ['a record with a field too few', 'F\ta.txt\tmd5\n', /bad record at line 2/],
    ['a record with a field too many', 'F\ta.txt\tmd5\t1:2:3\textra\n', /bad record at line 2/],
    ['an unknown record', 'X\ta\tb\tc\n', /bad record at line 2/],
    ['an entry with a field too few', 'D\td\tx.dir\t1\nE\tf\tmd5\t1:2:3\n', /bad entry at line 3/],
    ['an entry that is not an E line', 'D\td\tx.dir\t1\nF\tf\tmd5\t1:2:3\n', /bad entry at line 3/],
    ['an entry with a bad stamp', 'D\td\tx.dir\t1\nE\tf\tmd5\tsize:2:3\t0\n', /bad stamp at line 3/],
    ['a negative count', 'D\td\tx.dir\t-1\n', /bad directory record at line 2/],
  ])('refuses %s, naming its line', (_what, body, problem) => {
    const file = path.join(ws, 'state.tsv');
    writeFileSync(file, `reprod-state\t1\n${body}`);
    expect(StateCache.load(file).problem).toMatch(problem);
  });

  it('reads back what it wrote: files, directories with their entries and stamps, blank lines skipped', () => {
    const file = path.join(ws, 'state.tsv');
    writeFileSync(file, 'reprod-state\t1\nF\ta\\tb\tm1\t3:4:5\n\nD\td\tm2.dir\t2\nE\tx\tm3\t7:8:9\t1\nE\ty/z\tm4\t2:3:4\t0\n');
    const { state, problem } = StateCache.load(file);
    expect(problem).toBeUndefined();
    expect(state.getFile('a\tb')).toEqual({ md5: 'm1', stamp: '3:4:5' });
    expect(state.getDir('d')).toEqual({
      info: { md5: 'm2.dir', size: 9, nfiles: 2 },
      entries: [
        { relpath: 'x', md5: 'm3', size: 7, isexec: true },
        { relpath: 'y/z', md5: 'm4', size: 2, isexec: false },
      ],
      stamps: ['7:8:9', '2:3:4'],
    });
    expect(state.serialize()).toBe('reprod-state\t1\nF\ta\\tb\tm1\t3:4:5\nD\td\tm2.dir\t2\nE\tx\tm3\t7:8:9\t1\nE\ty/z\tm4\t2:3:4\t0\n');
  });

  it('ignores a state file of another format version', async () => {
    const file = path.join(ws, 'state.tsv');
    writeFileSync(file, 'reprod-state\t999\n');
    expect(StateCache.load(file).problem).toMatch(/unknown format/);
  });
});
