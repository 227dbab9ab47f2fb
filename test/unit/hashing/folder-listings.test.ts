/**
 * Folder listings shared by a read-only command's walks: each folder is read
 * from disk once, by whichever walk comes first (dvc.yaml files, `.dvc`
 * files, hashing), and a folder that cannot be read is not remembered.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findPipelineFiles } from '../../../src/app/pipeline-files.js';
import { findDvcFiles } from '../../../src/app/tracked-data.js';
import { FolderListings, freshListings } from '../../../src/hashing/folder-listings.js';
import { WorkspaceHasher } from '../../../src/hashing/workspace-hasher.js';
import { tempDir, writeFiles } from '../../helpers/workspace.js';

const names = (entries: readonly { name: string }[]) => entries.map((e) => e.name).sort();

describe('FolderListings', () => {
  it('reads a folder once: what it held then, with the entries’ types', () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'd/a.txt': 'a', 'd/sub/b.txt': 'b' });
    const listings = new FolderListings();
    const first = listings.list(path.join(ws.path, 'd'));
    expect(names(first)).toEqual(['a.txt', 'sub']);
    expect(first.find((e) => e.name === 'sub')?.isDirectory()).toBe(true);
    writeFileSync(path.join(ws.path, 'd', 'c.txt'), 'c');
    expect(listings.list(path.join(ws.path, 'd'))).toBe(first);
    expect(names(freshListings.list(path.join(ws.path, 'd')))).toEqual(['a.txt', 'c.txt', 'sub']);
  });

  it('does not remember a folder it could not read', () => {
    using ws = tempDir();
    const listings = new FolderListings();
    const d = path.join(ws.path, 'later');
    expect(() => listings.list(d)).toThrow(/ENOENT/);
    mkdirSync(d);
    writeFileSync(path.join(d, 'x'), 'x');
    expect(names(listings.list(d))).toEqual(['x']);
  });

  it('serves the dvc.yaml walk, the .dvc walk and the hasher from one reading of each folder', async () => {
    using ws = tempDir();
    writeFiles(ws.path, {
      '.dvc/config': '',
      'dvc.yaml': 'stages:\n  s:\n    cmd: "true"\n    deps: [data]\n',
      'data/a.bin': 'a',
      'data/b.bin': 'b',
    });
    const listings = new FolderListings();
    expect(findPipelineFiles(ws.path, undefined, undefined, listings)).toEqual(['dvc.yaml']);
    // written after the first walk: the walks sharing the listings do not see them
    writeFiles(ws.path, { 'data/c.bin': 'c', 'data/more/dvc.yaml': 'stages: {}\n', 'x.dvc': 'outs:\n- path: x\n  md5: 0123456789abcdef0123456789abcdef\n' });
    expect(findPipelineFiles(ws.path, undefined, undefined, listings)).toEqual(['dvc.yaml']);
    expect(await findDvcFiles(ws.path, new Set(), listings)).toEqual([]);
    const shared = new WorkspaceHasher({ root: ws.path, statePath: null, jobs: 1, listings });
    const fresh = new WorkspaceHasher({ root: ws.path, statePath: null, jobs: 1 });
    try {
      expect((await shared.hash('data'))?.entries?.map((e) => e.relpath)).toEqual(['a.bin', 'b.bin']);
      expect((await fresh.hash('data'))?.entries?.map((e) => e.relpath)).toEqual(['a.bin', 'b.bin', 'c.bin', 'more/dvc.yaml']);
    } finally {
      await shared[Symbol.asyncDispose]();
      await fresh[Symbol.asyncDispose]();
    }
    // without them, each walk reads the folders anew
    expect(findPipelineFiles(ws.path)).toEqual(['dvc.yaml', 'data/more/dvc.yaml']);
    expect((await findDvcFiles(ws.path)).map((f) => f.file)).toEqual(['x.dvc']);
  });
});
