import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { addressFrom, dataTarget, lockFileOf, pathFrom, resolveTarget, splitAddress, stageAddress } from '../../../src/pipeline/stage-address.js';

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

describe('targets of the data commands, from a sub-folder', () => {
  it('reads a word as a stage of the folder’s dvc.yaml and as a path from the folder', () => {
    expect(dataTarget('inner', 'sub')).toEqual({ kind: 'word', address: 'sub/dvc.yaml:inner', path: 'sub/inner' });
    expect(dataTarget('data.txt', 'sub')).toEqual({ kind: 'word', address: 'sub/dvc.yaml:data.txt', path: 'sub/data.txt' });
    expect(dataTarget('train', '.')).toEqual({ kind: 'word', address: 'train', path: 'train' });
    expect(dataTarget('gen@a', 'sub')).toEqual({ kind: 'word', address: 'sub/dvc.yaml:gen@a', path: 'sub/gen@a' });
    // a slash: only a path, which may climb but not leave the workspace
    expect(dataTarget('../top.txt', 'sub')).toEqual({ kind: 'word', address: '', path: 'top.txt' });
    expect(dataTarget('./dir/', 'sub')).toEqual({ kind: 'word', address: '', path: 'sub/dir' });
    expect(() => dataTarget('../../x', 'sub')).toThrow(/'..\/..\/x' is outside the workspace/);
    expect(() => dataTarget('/etc/passwd', 'sub')).toThrow(/outside the workspace/);
  });

  it('reads file:name as a stage and dvc.yaml or .dvc files as files, from the folder', () => {
    expect(dataTarget('dvc.yaml:inner', 'sub')).toEqual({ kind: 'stage', address: 'sub/dvc.yaml:inner' });
    expect(dataTarget('../dvc.yaml:top', 'sub')).toEqual({ kind: 'stage', address: 'top' });
    expect(dataTarget('sub/dvc.yaml:inner', '.')).toEqual({ kind: 'stage', address: 'sub/dvc.yaml:inner' });
    expect(dataTarget('dvc.yaml', 'sub')).toEqual({ kind: 'file', path: 'sub/dvc.yaml' });
    expect(dataTarget('data.txt.dvc', 'sub')).toEqual({ kind: 'file', path: 'sub/data.txt.dvc' });
    expect(dataTarget('../raw.csv.dvc', 'sub')).toEqual({ kind: 'file', path: 'raw.csv.dvc' });
    expect(() => dataTarget('../../x.dvc', 'sub')).toThrow(/outside the workspace/);
  });
});
