/**
 * The daemon's file watcher (chokidar) on real files: which keys each kind
 * of change asks for, what it never reports, and that it follows a new plan.
 * Waits poll with a deadline: they wait for the kernel's events, nothing else.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecWatcher } from '../../../../src/adapters/watch/spec-watcher.js';
import { watchPlan } from '../../../../src/adapters/watch/watch-plan.js';
import type { Pipeline, Stage } from '../../../../src/core/types.js';
import { PIPELINE_KEY } from '../../../../src/reconcile/reconciler.js';
import { quietLogger } from '../../../helpers/docker.js';
import { tempDir } from '../../../helpers/workspace.js';
import { fileStage } from '../../../helpers/stages.js';

const st = (name: string, deps: string[], outs: string[]): Stage => fileStage(name, deps, outs, { cmd: 'x', source: { file: 'dvc.yaml' } });


const pipeline = (stages: Stage[]): Pipeline => ({ file: 'dvc.yaml', stages, params: [], metrics: [], plots: [] });

function write(root: string, p: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
  writeFileSync(path.join(root, p), text);
}

async function watcherOn(root: string, stages: Stage[], writing: Set<string> = new Set()) {
  const keys: { key: string; at: number }[] = [];
  const w = new SpecWatcher({
    root,
    onKeys: (ks) => ks.forEach((key) => keys.push({ key, at: Date.now() })),
    isBeingWritten: (p) => [...writing].some((o) => p === o || p.startsWith(`${o}/`)),
    log: quietLogger,
  });
  await w.update(watchPlan({ pipeline: pipeline(stages) }));
  keys.length = 0; // the `pipeline` key asked for when ready
  /** The keys asked for after `act`, once events have stopped for a moment. */
  const after = async (act: () => void): Promise<string[]> => {
    keys.length = 0;
    const t0 = Date.now();
    act();
    const deadline = t0 + 2000;
    let last = -1;
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 150));
      if (keys.length > 0 && keys.length === last) break;
      last = keys.length;
    }
    return [...new Set(keys.map((k) => k.key))].sort();
  };
  return { w, keys, after, [Symbol.asyncDispose]: () => w.close() };
}

describe('SpecWatcher', () => {
  it('turns changes into the keys of the stages they affect', async () => {
    using ws = tempDir('reprod-watch-');
    const root = ws.path;
    write(root, 'dvc.yaml', 'stages: {}\n');
    write(root, 'in.txt', 'a\n');
    write(root, 'data/raw/1.csv', '1\n');
    await using w = await watcherOn(root, [st('prep', ['data/raw'], ['data/clean']), st('use', ['in.txt', 'data/clean'], ['out.txt']), st('late', ['later/x.txt'], ['y'])]);

    expect(await w.after(() => write(root, 'in.txt', 'b\n'))).toEqual(['use']);
    expect(await w.after(() => write(root, 'data/raw/2.csv', '2\n'))).toEqual(['prep']);
    // deleted, then created again: still watched
    expect(await w.after(() => rmSync(path.join(root, 'in.txt')))).toEqual(['use']);
    expect(await w.after(() => write(root, 'in.txt', 'c\n'))).toEqual(['use']);
    expect(await w.after(() => write(root, 'in.txt', 'dd\n'))).toEqual(['use']);
    // a dep that does not exist yet, in a folder that does not exist yet
    expect(await w.after(() => write(root, 'later/x.txt', 'x\n'))).toEqual(['late']);
    // an editor's atomic save of the spec
    expect(
      await w.after(() => {
        write(root, '.dvc.yaml.swp', 'stages: {a: 1}\n');
        renameSync(path.join(root, '.dvc.yaml.swp'), path.join(root, 'dvc.yaml'));
      }),
    ).toEqual([PIPELINE_KEY]);
    expect(await w.after(() => write(root, 'manifests/x.yaml', 'kind: Stage\n'))).toEqual([PIPELINE_KEY]);
    // an out changed by hand: its stage looks (and so does the stage that reads it)
    expect(await w.after(() => write(root, 'data/clean/part.csv', 'hand\n'))).toEqual(['prep', 'use']);
  });

  it('never reports its own bookkeeping, unrelated files, or outputs a running stage is writing', async () => {
    using ws = tempDir('reprod-watch-');
    const root = ws.path;
    write(root, 'in.txt', 'a\n');
    mkdirSync(path.join(root, '.dvc')); // a DVC project has it: its appearance would mean a config may have come
    const writing = new Set<string>();
    await using w = await watcherOn(root, [st('s', ['in.txt'], ['out'])], writing);
    const quiet = await w.after(() => {
      write(root, 'status/s.yaml', 'x');
      write(root, '.dvc/cache/files/md5/ab/cdef', 'x');
      write(root, '.dvc/tmp/reprod/state.tsv', 'x');
      write(root, 'mlruns/0/meta.yaml', 'x');
      write(root, '.git/index', 'x');
      write(root, 'notes.txt', 'x');
    });
    expect(quiet).toEqual([]);
    writing.add('out');
    expect(await w.after(() => write(root, 'out/part-1', 'x'))).toEqual([]);
    writing.clear();
    expect(await w.after(() => write(root, 'out/part-2', 'x'))).toEqual(['s']);
  });

  it('follows a new plan, and asks for `pipeline` once the new paths are watched', async () => {
    using ws = tempDir('reprod-watch-');
    const root = ws.path;
    write(root, 'a.txt', 'a\n');
    write(root, 'b/b.txt', 'b\n');
    await using w = await watcherOn(root, [st('a', ['a.txt'], ['a.out'])]);
    expect(await w.after(() => write(root, 'b/b.txt', 'b2\n'))).toEqual([]);
    await w.w.update(watchPlan({ pipeline: pipeline([st('b', ['b'], ['b.out'])]) }));
    expect(w.keys.map((k) => k.key)).toEqual([PIPELINE_KEY]);
    expect(await w.after(() => write(root, 'b/b.txt', 'b3\n'))).toEqual(['b']);
    expect(await w.after(() => write(root, 'a.txt', 'a2\n'))).toEqual([]);
  });

  it('reports a save within a few milliseconds', async () => {
    using ws = tempDir('reprod-watch-');
    const root = ws.path;
    write(root, 'in.txt', 'a\n');
    await using w = await watcherOn(root, [st('s', ['in.txt'], ['out'])]);
    const lat: number[] = [];
    for (let i = 0; i < 10; i++) {
      w.keys.length = 0;
      const t0 = Date.now();
      write(root, 'in.txt', `edit ${i}\n`);
      while (w.keys.length === 0 && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 2));
      lat.push((w.keys[0]?.at ?? Infinity) - t0);
      await new Promise((r) => setTimeout(r, 50));
    }
    lat.sort((a, b) => a - b);
    expect(lat[lat.length - 1]).toBeLessThan(500);
  });
});
