/**
 * unprotectTree on real files: hardlinks and symlinks into the cache become
 * plain, writable copies; as root, the copies belong to the owner it is given.
 */
import { linkSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { unprotectTree } from '../../../../src/adapters/fs/unprotect.js';
import { tempDir } from '../../../helpers/workspace.js';

describe('unprotectTree', () => {
  it('copies hardlinked and cache-symlinked files, leaves other links, and gives the copies to the owner', async () => {
    expect(process.getuid?.()).toBe(0);
    using ws = tempDir();
    const cache = path.join(ws.path, '.dvc/cache/files/md5/ab');
    mkdirSync(cache, { recursive: true });
    writeFileSync(path.join(cache, 'c1'), 'one\n', { mode: 0o444 });
    writeFileSync(path.join(cache, 'c2'), 'two\n', { mode: 0o444 });
    writeFileSync(path.join(ws.path, 'elsewhere.txt'), 'mine\n');
    mkdirSync(path.join(ws.path, 'out'));
    linkSync(path.join(cache, 'c1'), path.join(ws.path, 'out/hard.txt'));
    symlinkSync(path.join(cache, 'c2'), path.join(ws.path, 'out/soft.txt'));
    symlinkSync('../elsewhere.txt', path.join(ws.path, 'out/other.txt'));

    const n = await unprotectTree(path.join(ws.path, 'out'), path.join(ws.path, '.dvc/cache'), { uid: 1234, gid: 4321 });

    expect(n).toBe(2);
    for (const [name, text] of [['hard.txt', 'one\n'], ['soft.txt', 'two\n']] as const) {
      const st = lstatSync(path.join(ws.path, 'out', name));
      expect(st.isFile() && st.nlink === 1, name).toBe(true);
      expect(st.mode & 0o200, name).toBe(0o200);
      expect({ uid: st.uid, gid: st.gid }, name).toEqual({ uid: 1234, gid: 4321 });
      expect(readFileSync(path.join(ws.path, 'out', name), 'utf8')).toBe(text);
    }
    expect(lstatSync(path.join(ws.path, 'out/other.txt')).isSymbolicLink()).toBe(true);
    // the cache objects are untouched
    expect(lstatSync(path.join(cache, 'c1')).uid).toBe(0);
    expect(readFileSync(path.join(cache, 'c1'), 'utf8')).toBe('one\n');
  });
});
