import { describe, expect, it } from 'vitest';
import type { Workspace } from '../../../src/core/ports.js';
import { readGitCommit } from '../../../src/tracking/git-commit.js';

/** A workspace of literal files; a folder is a path with files below it (reading it fails as on disk). */
function ws(files: Record<string, string>): Workspace {
  const isDir = (p: string) => Object.keys(files).some((f) => f.startsWith(`${p}/`));
  return {
    root: '/w',
    async readText(p) {
      if (p in files) return files[p];
      if (isDir(p)) throw Object.assign(new Error(`EISDIR: ${p}`), { code: 'EISDIR' });
      return undefined;
    },
    async exists(p) {
      return p in files || isDir(p);
    },
    async writeTextAtomic() {},
    async remove() {},
    async escapeOf() {
      return undefined;
    },
  };
}

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('git commit of the workspace', () => {
  it('follows HEAD to a loose ref', async () => {
    expect(await readGitCommit(ws({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/refs/heads/main': `${A}\n` }))).toBe(A);
  });

  it('falls back to packed-refs', async () => {
    const packed = `# pack-refs with: peeled fully-peeled sorted\n${B} refs/heads/main\n^${A}\n`;
    expect(await readGitCommit(ws({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/packed-refs': packed }))).toBe(B);
  });

  it('reads a detached HEAD', async () => {
    expect(await readGitCommit(ws({ '.git/HEAD': `${A.toUpperCase()}\n` }))).toBe(A);
  });

  it('follows a .git file into a worktree folder and its commondir', async () => {
    const files = {
      '.git': 'gitdir: .repo/worktrees/wt\n',
      '.repo/worktrees/wt/HEAD': 'ref: refs/heads/feature\n',
      '.repo/worktrees/wt/commondir': '../..\n',
      '.repo/refs/heads/feature': `${B}\n`,
    };
    expect(await readGitCommit(ws(files))).toBe(B);
  });

  it('has none without a checkout, on an unborn branch, or with a gitdir outside the workspace', async () => {
    expect(await readGitCommit(ws({}))).toBeUndefined();
    expect(await readGitCommit(ws({ '.git/HEAD': 'ref: refs/heads/main\n', '.git/config': '' }))).toBeUndefined();
    expect(await readGitCommit(ws({ '.git': 'gitdir: /elsewhere/.git\n' }))).toBeUndefined();
  });
});
