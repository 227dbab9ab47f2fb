/**
 * fetch, pull and push against a hostile local remote and a hostile
 * dvc.lock, on real files: a listing named by its true md5 whose rows leave
 * the directory or reach into .git/.dvc, a run-cache entry recording a path
 * as an md5, an md5 in dvc.lock that is a path. Each is refused with the
 * object and the reason; nothing outside the workspace, in .git or in .dvc
 * (bar its lock and state files) is created or changed, and nothing hostile
 * enters the cache.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCacheEntryYaml, runCacheKey, runCacheValue } from '../../../src/lock/run-cache.js';
import { runKey } from '../../../src/remote/layout.js';
import type { LockStage } from '../../../src/core/types.js';
import { HOSTILE_RELPATHS, hostileWorkspace, PATH_MD5, pipelineRecording, plantListing, snapshot, write } from '../../helpers/hostile.js';
import { reprod } from '../../helpers/workspace.js';

function useRemote(ws: string, remote: string): void {
  writeFileSync(path.join(ws, '.dvc', 'config'), `[core]\n    no_scm = True\n    remote = r\n['remote "r"']\n    url = ${remote}\n`);
}

describe('a hostile remote', () => {
  it.each(HOSTILE_RELPATHS)('a listing naming %j: fetch and pull refuse it, and it never enters the cache', async (relpath) => {
    using h = hostileWorkspace();
    const remote = path.join(h.outer, 'remote');
    const oid = plantListing(remote, relpath);
    pipelineRecording(h.ws, oid);
    useRemote(h.ws, remote);
    const before = h.untouchable();

    for (const cmd of [['fetch'], ['pull', '--force']]) {
      const res = await reprod(h.ws, ...cmd);
      expect(res.code, cmd.join(' ')).toBe(1);
      expect(res.stderr, cmd.join(' ')).toContain(`data: refused: the listing on the remote is not one DVC writes: row 0 names ${JSON.stringify(relpath)}`);
      expect(h.untouchable(), cmd.join(' ')).toEqual(before);
      expect(existsSync(path.join(h.ws, 'data')), cmd.join(' ')).toBe(false);
      expect(snapshot(path.join(h.ws, '.dvc', 'cache')), cmd.join(' ')).toEqual([]);
    }
  });

  it('a run-cache entry that records a path as an md5: fetch --run-cache refuses it', async () => {
    using h = hostileWorkspace();
    const remote = path.join(h.outer, 'remote');
    const entry: LockStage = { cmd: 'echo x > o', deps: [{ path: 'in', hash: 'md5', md5: 'd41d8cd98f00b204e9800998ecf8427e', size: 0 }], params: new Map(), outs: [{ path: 'o', hash: 'md5', md5: PATH_MD5, size: 2 }] };
    const key = runKey(runCacheKey(entry), runCacheValue(entry));
    write(remote, { [key]: runCacheEntryYaml(entry) });
    write(h.ws, { 'dvc.yaml': 'stages: {}\n' });
    useRemote(h.ws, remote);
    const before = h.untouchable();
    const res = await reprod(h.ws, 'fetch', '--run-cache');
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${key}: refused: the entry on the remote is not one DVC writes: output 'o': '${PATH_MD5}' is not an md5`);
    expect(snapshot(path.join(h.ws, '.dvc', 'cache'))).toEqual([]);
    expect(h.untouchable()).toEqual(before);
  });
});

it('push --run-cache does not spread such an entry from the cache to the remote', async () => {
  using h = hostileWorkspace();
  const remote = path.join(h.outer, 'remote');
  const entry: LockStage = { cmd: 'echo x > o', deps: [], params: new Map([['params.yaml', new Map([['a', 1]])]]), outs: [{ path: 'o', hash: 'md5', md5: PATH_MD5, size: 2 }] };
  const key = runKey(runCacheKey(entry), runCacheValue(entry));
  write(path.join(h.ws, '.dvc', 'cache'), { [key]: runCacheEntryYaml(entry) });
  write(h.ws, { 'dvc.yaml': 'stages: {}\n' });
  write(remote, { 'files/md5/.keep': '' });
  useRemote(h.ws, remote);
  const res = await reprod(h.ws, 'push', '--run-cache');
  expect(res.code).toBe(1);
  expect(res.stderr).toContain(`${key}: not pushed: not an entry DVC writes: output 'o': '${PATH_MD5}' is not an md5`);
  expect(snapshot(remote).map((row) => row.split('\t')[0])).toEqual(['files/', 'files/md5/', 'files/md5/.keep']);
});

describe('an md5 in dvc.lock that is a path', () => {
  it.each(['fetch', 'pull', 'push', 'checkout'])('%s refuses it with the file, key and line, reading and writing nothing', async (cmd) => {
    using h = hostileWorkspace();
    const remote = path.join(h.outer, 'remote');
    write(remote, { 'files/md5/.keep': '' });
    write(h.ws, {
      'dvc.yaml': 'stages:\n  s:\n    cmd: echo x > host.txt\n    outs: [host.txt]\n',
      'dvc.lock': `schema: '2.0'\nstages:\n  s:\n    cmd: echo x > host.txt\n    outs:\n    - path: host.txt\n      hash: md5\n      md5: ${PATH_MD5}\n      size: 1\n`,
    });
    useRemote(h.ws, remote);
    const before = h.untouchable();
    const res = await reprod(h.ws, cmd);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`ERROR: dvc.lock:8: stages.s.outs[0].md5: stage 's': output 'host.txt': '${PATH_MD5}' is not an md5`);
    expect(existsSync(path.join(h.ws, 'host.txt'))).toBe(false);
    expect(snapshot(path.join(h.ws, '.dvc', 'cache'))).toEqual([]);
    expect(h.untouchable()).toEqual(before);
    expect(readFileSync(path.join(remote, 'files/md5/.keep'), 'utf8')).toBe('');
  });
});
