import { describe, expect, it } from 'vitest';
import { dvcInternalPart, normalizeWsPath, relpathProblem } from '../../../src/pipeline/paths.js';

describe('relpathProblem: what a .dir listing may name', () => {
  it.each(['a', 'a/b.txt', 'deep/er/file', 'name with spaces', 'a\\b', 'x\\', '.gitignore', 'sub/.dvc', 'sub/.hg', 'ü/😀', '...', '..a', 'a..'])('accepts %j', (p) => {
    expect(relpathProblem(p)).toBeUndefined();
  });

  it.each([
    ['', 'it is empty'],
    ['/etc/passwd', 'it is absolute'],
    ['a//b', 'it has an empty segment'],
    ['a/', 'it has an empty segment'],
    ['./a', "it has a '.' segment"],
    ['a/./b', "it has a '.' segment"],
    ['../x', "it has a '..' segment"],
    ['a/../../x', "it has a '..' segment"],
    ['..\\..\\x', "it has a '..\\..\\x' segment, which Windows reads as a relative step"],
    ['a\\..\\b', "it has a 'a\\..\\b' segment, which Windows reads as a relative step"],
    ['\\x', "it has a '\\x' segment, which Windows reads as a relative step"],
    ['a\0b', 'it contains a NUL character'],
    ['.git/hooks/post-checkout', 'it reaches into .git, which DVC never tracks'],
    ['sub/.git', 'it reaches into .git, which DVC never tracks'],
    ['.dvc/config', 'it reaches into .dvc, which DVC never tracks'],
    ['x/.hg/store', 'it reaches into .hg, which DVC never tracks'],
  ])('refuses %j: %s', (p, why) => {
    expect(relpathProblem(p)).toBe(why);
  });

  it('accepts exactly the normalised relative paths (those normalizeWsPath keeps as they are)', () => {
    for (const p of ['a', 'a/b', 'a/../b', './a', 'a/', '/a']) {
      expect(relpathProblem(p) === undefined, p).toBe(normalizeWsPath(p) === p);
    }
  });
});

describe('dvcInternalPart: workspace paths DVC never tracks', () => {
  it('names the folder at any depth, the last segment included', () => {
    expect(dvcInternalPart('.git')).toBe('.git');
    expect(dvcInternalPart('.git/hooks/x')).toBe('.git');
    expect(dvcInternalPart('a/.dvc/config')).toBe('.dvc');
    expect(dvcInternalPart('.dvc')).toBe('.dvc');
    expect(dvcInternalPart('a/.hg')).toBe('.hg');
    expect(dvcInternalPart('data/.gitignore')).toBeUndefined();
    expect(dvcInternalPart('x.dvc')).toBeUndefined();
  });
});
