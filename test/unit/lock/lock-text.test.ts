import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PyDict, PyValue } from '../../../src/core/pyvalue.js';
import type { LockStage } from '../../../src/core/types.js';
import { LockTextCache } from '../../../src/lock/lock-text.js';
import { emptyLockfile, parseLockfile, serializeLockfile, upsertStage } from '../../../src/lock/lockfile.js';
import { conformance } from '../../helpers/conformance.js';

// The lock written a stage at a time must be the bytes serializeLockfile
// (and so DVC 3) writes for the whole lock, on every lock real DVC wrote and
// on layouts at the edges of the emitter: entries ending in an empty mapping,
// keys too long for the simple form, folded and quoted commands.

function findLocks(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findLocks(p));
    else if (name === 'dvc.lock') out.push(p);
  }
  return out;
}

const locks = findLocks(conformance());
const map = (entries: [string, PyValue][]): PyDict => new Map(entries);

function stage(cmd: string | string[], params: [string, PyDict][] = [], outs = 1): LockStage {
  return {
    cmd,
    deps: [{ path: 'in.txt', hash: 'md5', md5: 'b026324c6904b2a9cb4b88d6d61c81d1', size: 2 }],
    params: new Map(params),
    outs: Array.from({ length: outs }, (_, i) => ({ path: `out/${i}.txt`, hash: 'md5', md5: '26ab0db90d72e28ad0ba1e22ee510510', size: 2 })),
  };
}

const edgeStages: [string, LockStage][] = [
  ['plain', stage('cp in.txt out.txt')],
  ['empty-params-last', { ...stage('true', [['params.yaml', map([])]]), outs: [] }],
  ['after-empty', stage('echo after an entry that ended in {}')],
  [`long-${'x'.repeat(140)}`, stage('a key written in the explicit form')],
  ['folded', stage(`python train.py ${'--flag value '.repeat(12)}`)],
  ['quoted', stage("echo 'it''s: #1' && echo \"two\"\ttabs")],
  ['list-cmd', stage(['make a', 'make b: c'], [['params.yaml', map([['lr', 0.1], ['name', 'yes']])]], 3)],
  ['nested-params', stage('t', [['params.yaml', map([['train', map([['deep', map([])]])]])]], 0)],
];

describe('LockTextCache', () => {
  it('finds the recorded lock files', () => {
    expect(locks.length).toBeGreaterThanOrEqual(40);
  });

  it.each(locks.map((p) => [path.relative(conformance(), p), p]))('writes %s as DVC did, whole and a stage at a time', (_rel, file) => {
    const text = readFileSync(file, 'utf8');
    const whole = parseLockfile(text);
    const texts = new LockTextCache();
    expect(texts.text(whole)).toBe(text);
    let lock = emptyLockfile();
    for (const [name, entry] of whole.stages) {
      lock = upsertStage(lock, name, entry);
      expect(texts.text(lock)).toBe(serializeLockfile(lock));
    }
    expect(texts.text(lock)).toBe(text);
  });

  it('writes the edge layouts as the whole-file emitter does, in any order and after replacing an entry', () => {
    const texts = new LockTextCache();
    for (const order of [edgeStages, [...edgeStages].reverse()]) {
      let lock = emptyLockfile();
      for (const [name, entry] of order) {
        lock = upsertStage(lock, name, entry);
        expect(texts.text(lock)).toBe(serializeLockfile(lock));
      }
      // a middle entry replaced where it stands
      const [name] = order[3] as [string, LockStage];
      lock = upsertStage(lock, name, stage('replaced', [['params.yaml', map([])]], 0));
      expect(texts.text(lock)).toBe(serializeLockfile(lock));
      expect(texts.text(lock)).toContain('replaced');
    }
  });

  it('writes a lock with no stages as the whole-file emitter does', () => {
    expect(new LockTextCache().text(emptyLockfile())).toBe(serializeLockfile(emptyLockfile()));
  });

  it('writes an entry object kept under another name under that name', () => {
    const texts = new LockTextCache();
    let lock = emptyLockfile();
    for (const [name, entry] of edgeStages) lock = upsertStage(lock, name, entry);
    const first = texts.text(lock);
    // an entry of the same object under another name is emitted under that name
    const renamed = upsertStage(lock, 'renamed', lock.stages.get('plain') as LockStage);
    expect(texts.text(renamed)).toBe(serializeLockfile(renamed));
    expect(texts.text(lock)).toBe(first);
  });
});
