/**
 * .gitignore entries as DVC keeps them, in a real git repository: `/<name>`
 * beside the output, skipped when git already ignores it, appended on its
 * own line, removed again, and the file deleted when nothing is left.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GitIgnores, gitignoreEntry, withEntry, withoutEntry } from '../../../../src/adapters/git/gitignore.js';
import { tempDir, writeFiles } from '../../../helpers/workspace.js';

function gitInit(root: string): void {
  execFileSync('git', ['init', '-q', root]);
}

describe('gitignore entries', () => {
  it('entries and texts as DVC writes them', () => {
    expect(gitignoreEntry('model.pkl')).toEqual({ file: '.gitignore', entry: '/model.pkl' });
    expect(gitignoreEntry('data/prepared')).toEqual({ file: 'data/.gitignore', entry: '/prepared' });
    expect(withEntry(undefined, '/a')).toBe('/a\n');
    expect(withEntry('/b', '/a')).toBe('/b\n/a\n');
    expect(withEntry('/b\n', '/a')).toBe('/b\n/a\n');
    expect(withEntry('/a\n/b\n', '/a')).toBeUndefined();
    expect(withoutEntry('/a\n/b\n', '/a')).toBe('/b\n');
    expect(withoutEntry('/a\n', '/a')).toBeNull();
    expect(withoutEntry('/b\n', '/a')).toBeUndefined();
  });

  it('in a repository: adds beside the output, leaves what git ignores already, removes and deletes', async () => {
    using ws = tempDir();
    gitInit(ws.path);
    writeFiles(ws.path, { '.gitignore': '# mine\n*.log', 'data/prepared/x': '1', 'model.pkl': 'm', 'run.log': 'l' });
    const g = GitIgnores.open(ws.path);
    expect(g).toBeDefined();
    expect(await g?.ignore('model.pkl')).toBe('.gitignore');
    expect(readFileSync(path.join(ws.path, '.gitignore'), 'utf8')).toBe('# mine\n*.log\n/model.pkl\n');
    expect(await g?.ignore('data/prepared')).toBe('data/.gitignore');
    expect(readFileSync(path.join(ws.path, 'data/.gitignore'), 'utf8')).toBe('/prepared\n');
    // ignored by *.log already: nothing written
    expect(await g?.ignore('run.log')).toBeUndefined();
    expect(await g?.ignore('model.pkl')).toBeUndefined();
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: ws.path, encoding: 'utf8' })).not.toMatch(/model\.pkl|prepared/);

    expect(await g?.unignore('data/prepared')).toBe('data/.gitignore');
    expect(existsSync(path.join(ws.path, 'data/.gitignore'))).toBe(false);
    expect(await g?.unignore('model.pkl')).toBe('.gitignore');
    expect(readFileSync(path.join(ws.path, '.gitignore'), 'utf8')).toBe('# mine\n*.log\n');
  });

  it('as root in a workspace someone else owns: the .gitignore files written are the owner\'s', async () => {
    expect(process.getuid?.()).toBe(0);
    using ws = tempDir();
    gitInit(ws.path);
    writeFiles(ws.path, { '.gitignore': '# mine\n', 'data/prepared/x': '1', 'model.pkl': 'm' });
    execFileSync('chown', ['-R', '1234:1234', ws.path]);
    const g = GitIgnores.open(ws.path);
    // an existing file rewritten, and a new one in an existing folder
    expect(await g?.ignore('model.pkl')).toBe('.gitignore');
    expect(await g?.ignore('data/prepared')).toBe('data/.gitignore');
    for (const f of ['.gitignore', 'data/.gitignore']) expect(statSync(path.join(ws.path, f)).uid, f).toBe(1234);
  });

  it('outside a repository: nothing to keep', () => {
    using ws = tempDir();
    expect(GitIgnores.open(ws.path)).toBeUndefined();
  });
});
