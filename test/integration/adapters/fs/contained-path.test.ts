/** symlinkEscape on real folders and links. */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { symlinkEscape } from '../../../../src/adapters/fs/contained-path.js';
import { LocalWorkspace } from '../../../../src/adapters/fs/local-workspace.js';
import { ReprodError } from '../../../../src/core/errors.js';
import { tempDir } from '../../../helpers/workspace.js';

function setup(): { root: string; outside: string } & Disposable {
  const dir = tempDir('reprod-escape-');
  const root = path.join(dir.path, 'ws');
  const outside = path.join(dir.path, 'outside');
  mkdirSync(path.join(root, 'real', 'sub'), { recursive: true });
  mkdirSync(path.join(root, '.git', 'hooks'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'x'), 'precious');
  return { root, outside, [Symbol.dispose]: () => dir[Symbol.dispose]() };
}

describe('symlinkEscape', () => {
  it('lets plain folders, missing folders and links that stay inside be', async () => {
    using s = setup();
    symlinkSync('../real', path.join(s.root, 'real', 'sub', 'up'));
    symlinkSync('real', path.join(s.root, 'alias'));
    symlinkSync('.', path.join(s.root, 'self'));
    for (const p of ['x', 'real/x', 'real/sub/x', 'missing/deeper/x', 'alias/sub/x', 'real/sub/up/sub/x', 'self/real/x', 'real/file.txt/x']) {
      expect(await symlinkEscape(s.root, p), p).toBeUndefined();
    }
  });

  it('finds a folder that leads out, at any depth, through a chain, or dangling', async () => {
    using s = setup();
    symlinkSync(s.outside, path.join(s.root, 'real', 'out'));
    symlinkSync('real/out', path.join(s.root, 'chain'));
    symlinkSync(path.join(s.outside, 'not-yet'), path.join(s.root, 'dangling'));
    expect(await symlinkEscape(s.root, 'real/out/x')).toEqual({ path: 'real/out/x', link: 'real/out', target: s.outside, reason: 'outside the workspace' });
    expect(await symlinkEscape(s.root, 'chain/x')).toEqual({ path: 'chain/x', link: 'chain', target: s.outside, reason: 'outside the workspace' });
    expect(await symlinkEscape(s.root, 'dangling/a/b')).toEqual({
      path: 'dangling/a/b',
      link: 'dangling',
      target: path.join(s.outside, 'not-yet'),
      reason: 'outside the workspace',
    });
  });

  it('finds a folder that leads into .git or .dvc', async () => {
    using s = setup();
    symlinkSync('../.git/hooks', path.join(s.root, 'real', 'hooks'));
    expect(await symlinkEscape(s.root, 'real/hooks/post-checkout')).toMatchObject({ link: 'real/hooks', target: path.join(s.root, '.git', 'hooks'), reason: 'into .git' });
  });

  it('does not count the path itself: replacing a link never touches its target', async () => {
    using s = setup();
    symlinkSync(path.join(s.outside, 'x'), path.join(s.root, 'link-to-file'));
    expect(await symlinkEscape(s.root, 'link-to-file')).toBeUndefined();
  });

  it('sees through a workspace that is itself reached by a symlink', async () => {
    using s = setup();
    const via = path.join(s.outside, 'ws-link');
    symlinkSync(s.root, via);
    expect(await symlinkEscape(via, 'real/sub/x')).toBeUndefined();
  });
});

describe('LocalWorkspace.remove', () => {
  it('refuses to remove through a folder that leads out, and removes nothing', async () => {
    using s = setup();
    symlinkSync(s.outside, path.join(s.root, 'out'));
    const ws = new LocalWorkspace(s.root);
    const err = await ws.remove('out/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).code).toBe('PATH_OUTSIDE');
    expect(await new LocalWorkspace(s.outside).exists('x')).toBe(true);
    await ws.remove('out');
    expect(await new LocalWorkspace(s.outside).exists('x')).toBe(true);
    expect(await ws.exists('out')).toBe(false);
  });
});
