/**
 * GitIgnoreRules against git itself: on a real repository with .gitignore
 * files at several depths and .git/info/exclude, every folder and file a walk
 * reaches (one whose folders are not ignored) is ignored exactly when
 * `git check-ignore` says so.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitIgnoreRules } from '../../../../src/adapters/git/gitignore-rules.js';
import { tempDir, writeFiles } from '../../../helpers/workspace.js';

function gitIgnored(top: string, paths: string[]): Set<string> {
  let out = '';
  try {
    out = execFileSync('git', ['check-ignore', '--no-index', '--stdin'], { cwd: top, input: paths.join('\n'), encoding: 'utf8' });
  } catch (e) {
    // exit 1: none of them is ignored
    if ((e as { status?: number }).status !== 1) throw e;
  }
  return new Set(out.split('\n').filter((l) => l !== '').map((l) => l.replace(/\/$/, '')));
}

describe('GitIgnoreRules', () => {
  it('agrees with git check-ignore on every entry a walk reaches', () => {
    using ws = tempDir();
    execFileSync('git', ['init', '-q', ws.path]);
    writeFiles(ws.path, {
      '.git/info/exclude': 'secret*\n',
      '.gitignore': '# comment\n*.log\nbuild\n/only-top/\ndata/**/cache/\n!keep.log\n',
      'a/.gitignore': '!build\nlocal/\n*.tmp\n',
      'a/b/.gitignore': '!*.tmp\nx/y/\n',
      'a/build/dvc.yaml': '',
      'a/local/dvc.yaml': '',
      'a/b/t.tmp': '',
      'a/b/x/y/z': '',
      'a/b/x/w': '',
      'a/t.tmp': '',
      'build/f': '',
      'only-top/f': '',
      'sub/only-top/f': '',
      'data/1/cache/f': '',
      'data/cache/f': '',
      'run.log': '',
      'keep.log': '',
      'secret.txt': '',
      'plain/dvc.yaml': '',
    });
    const rules = GitIgnoreRules.find(ws.path);
    if (!rules) throw new Error('no repository found');
    const reached: { rel: string; ignored: boolean }[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(path.join(ws.path, dir), { withFileTypes: true })) {
        if (dir === '' && e.name === '.git') continue;
        const rel = dir === '' ? e.name : `${dir}/${e.name}`;
        const ignored = rules.ignoresChild(dir, e.name, e.isDirectory());
        reached.push({ rel, ignored });
        if (e.isDirectory() && !ignored) walk(rel);
      }
    };
    walk('');
    expect(reached.length).toBeGreaterThan(20);
    const git = gitIgnored(ws.path, reached.map((r) => r.rel));
    const disagree = reached.filter((r) => r.ignored !== git.has(r.rel)).map((r) => `${r.rel}: reprod ${r.ignored}, git ${git.has(r.rel)}`);
    expect(disagree).toEqual([]);
    // and the cases that matter, by name
    expect(reached.find((r) => r.rel === 'a/build')?.ignored).toBe(false);
    expect(reached.find((r) => r.rel === 'build')?.ignored).toBe(true);
    expect(reached.find((r) => r.rel === 'a/b/t.tmp')?.ignored).toBe(false);
    expect(reached.find((r) => r.rel === 'sub/only-top')?.ignored).toBe(false);
  });
});
