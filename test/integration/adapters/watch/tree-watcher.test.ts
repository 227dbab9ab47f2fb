/**
 * The folder-tree watcher on real files and the real kernel: one inotify
 * watch per folder whatever the number of files (counted in this process's
 * /proc fdinfo), every change seen down to the deepest file, folders that
 * appear, vanish or are replaced, folders it is told to leave alone, and
 * the same in poll mode. Waits poll with a deadline for the kernel's events;
 * that nothing more was reported is known from a sync cookie written after
 * the change (its report means every event before it has arrived).
 */
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TreeWatcher } from '../../../../src/adapters/watch/tree-watcher.js';
import { inotifyWatches } from '../../../helpers/proc.js';
import { tempDir } from '../../../helpers/workspace.js';

function write(root: string, p: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
  writeFileSync(path.join(root, p), text);
}

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

interface Seen {
  rel: string;
  isDir: boolean;
}

async function watcherOn(root: string, opts: { skip?: (rel: string) => boolean; pollMs?: number } = {}) {
  const seen: Seen[] = [];
  const errors: unknown[] = [];
  let cookies = 0;
  mkdirSync(path.join(root, 'cookies'), { recursive: true });
  const tree = new TreeWatcher({
    root,
    descend: (rel) => !(opts.skip?.(rel) ?? false),
    onChange: (rel, isDir) => void seen.push({ rel, isDir }),
    onError: (err) => void errors.push(err),
    ...(opts.pollMs !== undefined ? { pollMs: opts.pollMs } : {}),
  });
  await tree.refresh();
  /** Runs `act`, then waits for a cookie written after it; returns what was reported meanwhile. */
  const settle = async (act: () => void, waitFor?: Seen): Promise<Seen[]> => {
    seen.length = 0;
    act();
    if (waitFor) await until(`a report of ${waitFor.rel}`, () => seen.some((s) => s.rel === waitFor.rel && s.isDir === waitFor.isDir));
    const cookie = `cookies/${++cookies}`;
    write(root, cookie, 'x');
    await until('the sync cookie', () => seen.some((s) => s.rel === cookie));
    return seen.filter((s) => !s.rel.startsWith('cookies'));
  };
  /** Runs `act` and waits until `rel` is reported; returns all that `act` caused to be reported. */
  const expectSeen = (act: () => void, rel: string, isDir = false): Promise<Seen[]> => settle(act, { rel, isDir });
  return { tree, seen, errors, settle, expectSeen, [Symbol.asyncDispose]: () => tree.close() };
}

const deep = (depth: number) => Array.from({ length: depth }, (_, i) => `d${i}`).join('/');

describe('TreeWatcher', () => {
  it('takes one inotify watch per folder, not per file, and sees an edit of the deepest file', async () => {
    using ws = tempDir('reprod-tree-');
    const root = ws.path;
    // 20 folders of 100 files, and one chain 16 folders deep
    for (let d = 0; d < 20; d++) for (let f = 0; f < 100; f++) write(root, `data/g${d}/f${f}.txt`, `${d} ${f}\n`);
    write(root, `${deep(16)}/leaf.txt`, 'leaf\n');
    const before = inotifyWatches();
    await using w = await watcherOn(root);
    // root, data, 20 groups, 16 chained folders, cookies
    const folders = 1 + 1 + 20 + 16 + 1;
    expect(w.tree.watched()).toHaveLength(folders);
    expect(inotifyWatches() - before).toBe(folders);
    expect(w.errors).toEqual([]);

    const got = await w.expectSeen(() => write(root, `${deep(16)}/leaf.txt`, 'edited\n'), `${deep(16)}/leaf.txt`);
    expect(new Set(got.map((s) => s.rel))).toEqual(new Set([`${deep(16)}/leaf.txt`]));
    await w.expectSeen(() => write(root, 'data/g19/f99.txt', 'edited\n'), 'data/g19/f99.txt');
    await w.expectSeen(() => rmSync(path.join(root, 'data/g3/f0.txt')), 'data/g3/f0.txt');
    // an editor's atomic save: both names are reported
    const save = await w.expectSeen(() => {
      write(root, 'data/g4/.f1.txt.swp', 'new\n');
      renameSync(path.join(root, 'data/g4/.f1.txt.swp'), path.join(root, 'data/g4/f1.txt'));
    }, 'data/g4/f1.txt');
    expect(save.map((s) => s.rel)).toContain('data/g4/.f1.txt.swp');
  });

  it('watches a folder that appears, with what is written into it at once, and drops one that goes', async () => {
    using ws = tempDir('reprod-tree-');
    const root = ws.path;
    write(root, 'in.txt', 'a\n');
    await using w = await watcherOn(root);
    const watchesAtStart = inotifyWatches();

    await w.expectSeen(() => write(root, 'new/a/b/c.txt', 'c\n'), 'new', true);
    await until('the new folders watched', () => w.tree.watched().includes('new/a/b'));
    expect(inotifyWatches() - watchesAtStart).toBe(3);
    await w.expectSeen(() => write(root, 'new/a/b/c.txt', 'c2\n'), 'new/a/b/c.txt');

    await w.expectSeen(() => rmSync(path.join(root, 'new'), { recursive: true }), 'new', true);
    expect(w.tree.watched().filter((r) => r.startsWith('new'))).toEqual([]);
    await until('the watches released', () => inotifyWatches() === watchesAtStart);

    // replaced under the same name: the new folder is watched, not the old one
    await w.expectSeen(() => mkdirSync(path.join(root, 'swap')), 'swap', true);
    await w.expectSeen(() => write(root, 'swap/x', 'x'), 'swap/x');
    await w.expectSeen(() => {
      mkdirSync(path.join(root, 'swap.next'));
      rmSync(path.join(root, 'swap'), { recursive: true });
      renameSync(path.join(root, 'swap.next'), path.join(root, 'swap'));
    }, 'swap', true);
    await w.expectSeen(() => write(root, 'swap/y', 'y'), 'swap/y');
  });

  it('leaves alone the folders it is told to, and follows a change of mind on refresh', async () => {
    using ws = tempDir('reprod-tree-');
    const root = ws.path;
    for (let f = 0; f < 50; f++) write(root, `skip/sub/f${f}`, 'x');
    write(root, 'keep/k', 'k');
    let skipping = true;
    const before = inotifyWatches();
    await using w = await watcherOn(root, { skip: (rel) => skipping && rel.startsWith('skip') });
    expect(w.tree.watched()).toEqual(['', 'cookies', 'keep']);
    expect(inotifyWatches() - before).toBe(3);
    expect(await w.settle(() => write(root, 'skip/sub/f1', 'y'))).toEqual([]);
    // its own entry in the root is still reported, what is inside it is not
    expect(await w.settle(() => write(root, 'skip/new', 'y'))).toEqual([]);
    // (a folder never watched is not known to have been one)
    expect(await w.expectSeen(() => rmSync(path.join(root, 'skip'), { recursive: true }), 'skip', false)).toEqual([{ rel: 'skip', isDir: false }]);
    for (let f = 0; f < 50; f++) write(root, `skip/sub/f${f}`, 'x');

    skipping = false;
    await w.tree.refresh();
    expect(w.tree.watched()).toEqual(['', 'cookies', 'keep', 'skip', 'skip/sub']);
    await w.expectSeen(() => write(root, 'skip/sub/f2', 'y'), 'skip/sub/f2');
    skipping = true;
    await w.tree.refresh();
    expect(w.tree.watched()).toEqual(['', 'cookies', 'keep']);
    expect(inotifyWatches() - before).toBe(3);
  });

  it('follows a link to a folder, but not back up the tree', async () => {
    using ws = tempDir('reprod-tree-');
    const root = ws.path;
    write(root, 'real/r.txt', 'r');
    symlinkSync('real', path.join(root, 'linked'));
    symlinkSync('..', path.join(root, 'real', 'up'));
    await using w = await watcherOn(root);
    expect(w.tree.watched()).toEqual(['', 'cookies', 'linked', 'real']);
    const got = await w.expectSeen(() => write(root, 'real/r.txt', 'r2'), 'real/r.txt');
    expect(got.map((s) => s.rel)).toContain('linked/r.txt');
  });

  it('sees the same changes by polling, with no inotify watch', async () => {
    using ws = tempDir('reprod-tree-');
    const root = ws.path;
    write(root, 'a/b/c.txt', 'c\n');
    const before = inotifyWatches();
    await using w = await watcherOn(root, { pollMs: 20 });
    expect(inotifyWatches()).toBe(before);
    await w.expectSeen(() => write(root, 'a/b/c.txt', 'c22\n'), 'a/b/c.txt');
    await w.expectSeen(() => write(root, 'a/n/m.txt', 'm\n'), 'a/n', true);
    await w.expectSeen(() => write(root, 'a/n/m.txt', 'mm\n'), 'a/n/m.txt');
    await w.expectSeen(() => rmSync(path.join(root, 'a/b/c.txt')), 'a/b/c.txt');
    await w.expectSeen(() => rmSync(path.join(root, 'a/n'), { recursive: true }), 'a/n', true);
    expect(w.tree.watched()).toEqual(['', 'a', 'a/b', 'cookies']);
  });
});
