import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { addressFrom, lockFileOf, pathFrom, resolveTarget, splitAddress, stageAddress } from '../../../src/pipeline/stage-address.js';

describe('stage addresses', () => {
  it('names root stages bare and others by file and name, as DVC', () => {
    expect(stageAddress('dvc.yaml', 'train')).toBe('train');
    expect(stageAddress('sub/dvc.yaml', 'inner')).toBe('sub/dvc.yaml:inner');
    expect(stageAddress('a/b/dvc.yaml', 'gen@small')).toBe('a/b/dvc.yaml:gen@small');
  });

  it('splits an address back into its file and bare name', () => {
    expect(splitAddress('train')).toEqual({ file: 'dvc.yaml', name: 'train' });
    expect(splitAddress('sub/dvc.yaml:inner')).toEqual({ file: 'sub/dvc.yaml', name: 'inner' });
    // a generated name may hold a colon after its `@` (foreach over a dict of keys with colons)
    expect(splitAddress('gen@a:b')).toEqual({ file: 'dvc.yaml', name: 'gen@a:b' });
    expect(splitAddress('sub/dvc.yaml:gen@a:b')).toEqual({ file: 'sub/dvc.yaml', name: 'gen@a:b' });
  });

  it('puts each dvc.lock beside its dvc.yaml', () => {
    expect(lockFileOf('dvc.yaml')).toBe('dvc.lock');
    expect(lockFileOf('sub/dvc.yaml')).toBe('sub/dvc.lock');
    expect(lockFileOf('a/b/dvc.yaml')).toBe('a/b/dvc.lock');
  });
});

describe('resolveTarget: command-line targets, from the folder started in', () => {
  it('takes a bare name as a stage of the dvc.yaml in that folder', () => {
    expect(resolveTarget('train', '.')).toBe('train');
    expect(resolveTarget('inner', 'sub')).toBe('sub/dvc.yaml:inner');
    expect(resolveTarget('gen@small', 'a/b')).toBe('a/b/dvc.yaml:gen@small');
  });

  it('takes file:name with the file relative to that folder', () => {
    expect(resolveTarget('sub/dvc.yaml:inner', '.')).toBe('sub/dvc.yaml:inner');
    expect(resolveTarget('./sub/dvc.yaml:inner', '.')).toBe('sub/dvc.yaml:inner');
    expect(resolveTarget('../dvc.yaml:top', 'sub')).toBe('top');
    expect(resolveTarget('dvc.yaml:inner', 'sub')).toBe('sub/dvc.yaml:inner');
    expect(resolveTarget(':inner', 'sub')).toBe('sub/dvc.yaml:inner');
    expect(resolveTarget('../other/dvc.yaml:x@1', 'sub')).toBe('other/dvc.yaml:x@1');
  });

  it('takes a dvc.yaml path as the whole file', () => {
    expect(resolveTarget('dvc.yaml', '.')).toBe('dvc.yaml');
    expect(resolveTarget('dvc.yaml', 'sub')).toBe('sub/dvc.yaml');
    expect(resolveTarget('sub/dvc.yaml', '.')).toBe('sub/dvc.yaml');
    expect(resolveTarget('../dvc.yaml', 'sub')).toBe('dvc.yaml');
    expect(resolveTarget('sub/dvc.yaml:', '.')).toBe('sub/dvc.yaml');
  });

  it('refuses a lock file and a path above the workspace', () => {
    expect(() => resolveTarget('sub/dvc.lock:inner', '.')).toThrow(/names a lock file/);
    expect(() => resolveTarget('../dvc.yaml:top', '.')).toThrow(ReprodError);
    expect(() => resolveTarget('../../dvc.yaml', 'sub')).toThrow(/outside the workspace/);
  });
});

describe('addresses and paths as DVC prints them in a sub-folder', () => {
  it('makes workspace paths relative to the folder', () => {
    expect(pathFrom('top.txt', '.')).toBe('top.txt');
    expect(pathFrom('top.txt', 'sub')).toBe('../top.txt');
    expect(pathFrom('sub/sin.txt', 'sub')).toBe('sin.txt');
    expect(pathFrom('sub', 'sub')).toBe('.');
    expect(pathFrom('a/x', 'b/c')).toBe('../../a/x');
    expect(pathFrom('subway/x', 'sub')).toBe('../subway/x');
  });

  it('names a stage of the folder’s own dvc.yaml bare, others by their file from there', () => {
    expect(addressFrom('sub/dvc.yaml:inner', 'sub')).toBe('inner');
    expect(addressFrom('top', 'sub')).toBe('../dvc.yaml:top');
    expect(addressFrom('sub/dvc.yaml:inner', '.')).toBe('sub/dvc.yaml:inner');
    expect(addressFrom('other/dvc.yaml:x@1', 'sub')).toBe('../other/dvc.yaml:x@1');
  });
});
