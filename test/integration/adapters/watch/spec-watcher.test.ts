/**
 * The daemon's file watcher on real files: which keys each kind
 * of change asks for, what it never reports, and that it follows a new plan.
 * Waits poll with a deadline: they wait for the kernel's events, nothing else.
 * That a change asks for nothing more is known from a sync cookie (as
 * watchman does it): a new file in a folder watched for the purpose, written
 * after the change; its key arriving means every event before it has
 * arrived.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecWatcher } from '../../../../src/adapters/watch/spec-watcher.js';
import { watchPlan } from '../../../../src/adapters/watch/watch-plan.js';
import type { Pipeline, Stage } from '../../../../src/core/types.js';
import { PIPELINE_KEY } from '../../../../src/reconcile/reconciler.js';
import { quietLogger } from '../../../helpers/docker.js';
import { inotifyWatches } from '../../../helpers/proc.js';
import { tempDir } from '../../../helpers/workspace.js';
import { fileStage } from '../../../helpers/stages.js';

const st = (name: string, deps: string[], outs: string[]): Stage => fileStage(name, deps, outs, { cmd: 'x', source: { file: 'dvc.yaml' } });


const pipeline = (stages: Stage[]): Pipeline => ({ file: 'dvc.yaml', stages, params: [], metrics: [], plots: [] });

function write(root: string, p: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
  writeFileSync(path.join(root, p), text);
}

/** Sync cookies: new files in a folder that is the dep of a stage of its own, in every plan. */
const COOKIES = 'sync-cookies';
const COOKIE_KEY = 'sync-cookie';

/** Polls (the kernel's events come when they come) until `probe` holds, or fails naming `what`. */
async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function watcherOn(root: string, stages: Stage[], writing: Set<string> = new Set()) {
  const keys: { key: string; at: number }[] = [];
  let cookies = 0;
  mkdirSync(path.join(root, COOKIES), { recursive: true });
  const w = new SpecWatcher({
    root,
    onKeys: (ks) => ks.forEach((key) => keys.push({ key, at: Date.now() })),
    isBeingWritten: (p) => [...writing].some((o) => p === o || p.startsWith(`${o}/`)),
    log: quietLogger,
  });
  const follow = (next: Stage[]) => w.update(watchPlan({ pipeline: pipeline([...next, st(COOKIE_KEY, [COOKIES], [])]) }));
  await follow(stages);
  keys.length = 0; // the `pipeline` key asked for when ready
  /** Writes the cookie and waits for its key: every event before it has been reported. */
  const sync = async (): Promise<void> => {
    const from = keys.length;
    write(root, `${COOKIES}/${++cookies}`, 'x');
    await until('the sync cookie', () => keys.slice(from).some((k) => k.key === COOKIE_KEY));
  };
  /**
   * Checks that `act` asks for exactly the keys `expected`: it waits for
   * them, then for the cookie, so that any other key it asked for is in.
   */
  const expectKeys = async (act: () => void, expected: string[]): Promise<void> => {
    keys.length = 0;
    act();
    await until(`the keys ${expected.join(', ')}`, () => expected.every((e) => keys.some((k) => k.key === e)));
    await sync();
    expect([...new Set(keys.map((k) => k.key).filter((k) => k !== COOKIE_KEY))].sort()).toEqual(expected);
  };
  return { w, keys, follow, sync, expectKeys, [Symbol.asyncDispose]: () => w.close() };
}

describe('SpecWatcher', () => {
  it('turns changes into the keys of the stages they affect', async () => {
    using ws = tempDir('reprod-watch-');
    const root = ws.path;
    write(root, 'dvc.yaml', 'stages: {}\n');
    write(root, 'in.txt', 'a\n');
    write(root, 'data/raw/1.csv', '1\n');
    await using w = await watcherOn(root, [st('prep', ['data/raw'], ['data/clean']), st('use', ['in.txt', 'data/clean'], ['out.txt']), st('late', ['later/x.txt'], ['y'])]);

    await w.expectKeys(() => write(root, 'in.txt', 'b\n'), ['use']);
    await w.expectKeys(() => write(root, 'data/raw/2.csv', '2\n'), ['prep']);
    // deleted, then created again: still watched
    await w.expectKeys(() => rmSync(path.join(root, 'in.txt')), ['use']);
    await w.expectKeys(() => write(root, 'in.txt', 'c\n'), ['use']);
    await w.expectKeys(() => write(root, 'in.txt', 'dd\n'), ['use']);
    // a dep that does not exist yet, in a folder that does not exist yet
    await w.expectKeys(() => write(root, 'later/x.txt', 'x\n'), ['late']);
    // an editor's atomic save of the spec
    await w.expectKeys(() => {
      write(root, '.dvc.yaml.swp', 'stages: {a: 1}\n');
      renameSync(path.join(root, '.dvc.yaml.swp'), path.join(root, 'dvc.yaml'));
    }, [PIPELINE_KEY]);
    await w.expectKeys(() => write(root, 'manifests/x.yaml', 'kind: Stage\n'), [PIPELINE_KEY]);
    // an out changed by hand: its stage looks (and so does the stage that reads it)
    await w.expectKeys(() => write(root, 'data/clean/part.csv', 'hand\n'), ['prep', 'use']);
  });

  it('never reports its own bookkeeping, unrelated files, or outputs a running stage is writing', async () => {
    using ws = tempDir('reprod-watch-');
    const root = ws.path;
    write(root, 'in.txt', 'a\n');
    mkdirSync(path.join(root, '.dvc')); // a DVC project has it: its appearance would mean a config may have come
    const writing = new Set<string>();
    await using w = await watcherOn(root, [st('s', ['in.txt'], ['out'])], writing);
    await w.expectKeys(() => {
      write(root, 'status/s.yaml', 'x');
      write(root, '.dvc/cache/files/md5/ab/cdef', 'x');
      write(root, '.dvc/tmp/reprod/state.tsv', 'x');
      write(root, 'mlruns/0/meta.yaml', 'x');
      write(root, '.git/index', 'x');
      write(root, 'notes.txt', 'x');
    }, []);
    writing.add('out');
    await w.expectKeys(() => write(root, 'out/part-1', 'x'), []);
    writing.clear();
    await w.expectKeys(() => write(root, 'out/part-2', 'x'), ['s']);
  });

  it('follows a new plan, and asks for `pipeline` once the new paths are watched', async () => {
    using ws = tempDir('reprod-watch-');
    const root = ws.path;
    write(root, 'a.txt', 'a\n');
    write(root, 'b/b.txt', 'b\n');
    await using w = await watcherOn(root, [st('a', ['a.txt'], ['a.out'])]);
    await w.expectKeys(() => write(root, 'b/b.txt', 'b2\n'), []);
    w.keys.length = 0;
    await w.follow([st('b', ['b'], ['b.out'])]);
    expect(w.keys.map((k) => k.key)).toEqual([PIPELINE_KEY]);
    await w.expectKeys(() => write(root, 'b/b.txt', 'b3\n'), ['b']);
    await w.expectKeys(() => write(root, 'a.txt', 'a2\n'), []);
  });

  it('watches only the folders on the way to a target or inside one, and sees the deepest file in a dep', async () => {
    using ws = tempDir('reprod-watch-');
    const root = ws.path;
    const deepest = `data/${Array.from({ length: 12 }, (_, i) => `l${i}`).join('/')}/x.bin`;
    write(root, deepest, 'x');
    for (let d = 0; d < 30; d++) for (let f = 0; f < 20; f++) write(root, `data/g${d}/f${f}`, 'x');
    for (let d = 0; d < 30; d++) write(root, `unrelated/u${d}/f`, 'x');
    write(root, 'status/pipeline.yaml', 'x');
    const before = inotifyWatches();
    await using w = await watcherOn(root, [st('s', ['data'], ['out'])]);
    // root, data, its 12 chained and 30 flat folders, the cookies' folder
    expect(inotifyWatches() - before).toBe(1 + 1 + 12 + 30 + 1);
    await w.expectKeys(() => write(root, deepest, 'edited'), ['s']);
    await w.expectKeys(() => write(root, 'unrelated/u3/f', 'edited'), []);
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
      // the save's trailing events are in before the next save is timed
      await w.sync();
    }
    lat.sort((a, b) => a - b);
    expect(lat[lat.length - 1]).toBeLessThan(500);
  });
});
