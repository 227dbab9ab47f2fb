import { describe, expect, it } from 'vitest';
import { parseDockerIgnore } from '../../../../src/adapters/docker/dockerignore.js';

describe('parseDockerIgnore', () => {
  it('anchors patterns at the context root, unlike .gitignore', () => {
    const ig = parseDockerIgnore('data\n/*.md\n');
    expect(ig.ignores('data')).toBe(true);
    expect(ig.ignores('data/raw.csv')).toBe(true);
    expect(ig.ignores('src/data')).toBe(false);
    expect(ig.ignores('README.md')).toBe(true);
    expect(ig.ignores('docs/README.md')).toBe(false);
  });

  it('reads ** as any number of folders, * and ? within one', () => {
    const ig = parseDockerIgnore('**/*.pyc\nbuild/*/tmp\nlog?.txt\n');
    expect(ig.ignores('a.pyc')).toBe(true);
    expect(ig.ignores('pkg/sub/a.pyc')).toBe(true);
    expect(ig.ignores('build/x/tmp')).toBe(true);
    expect(ig.ignores('build/x/y/tmp')).toBe(false);
    expect(ig.ignores('log1.txt')).toBe(true);
    expect(ig.ignores('log10.txt')).toBe(false);
  });

  it('lets the last matching pattern decide, with ! re-including', () => {
    const ig = parseDockerIgnore('*.log\n!keep.log\n');
    expect(ig.hasExceptions).toBe(true);
    expect(ig.ignores('debug.log')).toBe(true);
    expect(ig.ignores('keep.log')).toBe(false);
    const again = parseDockerIgnore('*.log\n!keep.log\nkeep.log\n');
    expect(again.ignores('keep.log')).toBe(true);
  });

  it('skips comments and blank lines, trims, and cleans paths', () => {
    const ig = parseDockerIgnore('# a comment\n\n  ./out//  \n');
    expect(ig.hasExceptions).toBe(false);
    expect(ig.ignores('out/model.pkl')).toBe(true);
    expect(ig.ignores('# a comment')).toBe(false);
  });

  it('supports character classes and escapes', () => {
    const ig = parseDockerIgnore('[ab].txt\n[!c]x\nstar\\*\n');
    expect(ig.ignores('a.txt')).toBe(true);
    expect(ig.ignores('c.txt')).toBe(false);
    expect(ig.ignores('dx')).toBe(true);
    expect(ig.ignores('cx')).toBe(false);
    expect(ig.ignores('star*')).toBe(true);
    expect(ig.ignores('starx')).toBe(false);
  });

  it('always keeps the files it is told to keep (the Dockerfile, .dockerignore)', () => {
    const ig = parseDockerIgnore('*\n', ['Dockerfile', '.dockerignore']);
    expect(ig.ignores('Dockerfile')).toBe(false);
    expect(ig.ignores('.dockerignore')).toBe(false);
    expect(ig.ignores('main.py')).toBe(true);
  });
});
