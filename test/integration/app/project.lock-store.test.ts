/**
 * dvc.lock through FileLockStore, on real files: commits a stage at a time
 * give the bytes the whole-file serializer gives, an edit made between two
 * commits (by hand, or by DVC) is kept, and concurrent commits are
 * serialized with none lost.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalWorkspace } from '../../../src/adapters/fs/local-workspace.js';
import { FileLockStore } from '../../../src/app/project.js';
import type { LockStage } from '../../../src/core/types.js';
import { parseLockfile, serializeLockfile } from '../../../src/lock/lockfile.js';
import { tempDir } from '../../helpers/workspace.js';

function entry(i: number, cmd = `cp in/${i} out/${i}`): LockStage {
  const md5 = (i + 1).toString(16).padStart(32, '0');
  return {
    cmd,
    deps: [{ path: `in/${i}`, hash: 'md5', md5, size: i }],
    params: new Map(),
    outs: [{ path: `out/${i}`, hash: 'md5', md5, size: i }],
  };
}

describe('FileLockStore', () => {
  it('commits stage after stage to the bytes of the whole lock, and reads back what it wrote', async () => {
    using ws = tempDir('reprod-lock-');
    const store = new FileLockStore(new LocalWorkspace(ws.path));
    const expected = new Map<string, LockStage>();
    for (let i = 0; i < 30; i++) {
      await store.commit(`s${i}`, entry(i));
      expected.set(`s${i}`, entry(i));
    }
    // a stage committed again stays where it stands
    await store.commit('s3', entry(3, 'cp again'));
    expected.set('s3', entry(3, 'cp again'));
    const text = readFileSync(path.join(ws.path, 'dvc.lock'), 'utf8');
    expect(text).toBe(serializeLockfile({ stages: expected }));
    expect(serializeLockfile(parseLockfile(text))).toBe(text);
    expect([...(await store.read()).stages.keys()]).toEqual([...expected.keys()]);
  });

  it('keeps an edit made to dvc.lock between two commits', async () => {
    using ws = tempDir('reprod-lock-');
    const file = path.join(ws.path, 'dvc.lock');
    const store = new FileLockStore(new LocalWorkspace(ws.path));
    await store.commit('a', entry(1));
    await store.commit('b', entry(2));
    // by hand: a's command changed, a stage of DVC's own added
    const edited = serializeLockfile({ stages: new Map([['a', entry(1, 'edited by hand')], ['b', entry(2)], ['dvc-own', entry(9)]]) });
    writeFileSync(file, edited);
    expect((await store.read()).stages.get('a')?.cmd).toBe('edited by hand');
    await store.commit('c', entry(3));
    expect(readFileSync(file, 'utf8')).toBe(
      serializeLockfile({ stages: new Map([['a', entry(1, 'edited by hand')], ['b', entry(2)], ['dvc-own', entry(9)], ['c', entry(3)]]) }),
    );
    // an edit of the same size as what was there
    writeFileSync(file, readFileSync(file, 'utf8').replace('edited by hand', 'EDITED BY HAND'));
    await store.commit('d', entry(4));
    expect(readFileSync(file, 'utf8')).toContain('cmd: EDITED BY HAND');
  });

  it('serializes concurrent commits: none is lost', async () => {
    using ws = tempDir('reprod-lock-');
    const store = new FileLockStore(new LocalWorkspace(ws.path));
    await Promise.all(Array.from({ length: 40 }, (_, i) => store.commit(`s${i}`, entry(i))));
    const lock = parseLockfile(readFileSync(path.join(ws.path, 'dvc.lock'), 'utf8'));
    expect([...lock.stages.keys()]).toEqual(Array.from({ length: 40 }, (_, i) => `s${i}`));
  });
});
