import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PyFloat, type PyDict, type PyValue } from '../../../src/core/pyvalue.js';
import type { LockStage, Stage } from '../../../src/core/types.js';
import { parseLockfile } from '../../../src/lock/lockfile.js';
import { pyJsonDumpsSorted } from '../../../src/lock/py-json.js';
import {
  runCacheEntryYaml,
  runCacheKey,
  runCachePath,
  runCacheSkipReason,
  runCacheValue,
} from '../../../src/lock/run-cache.js';
import { conformance } from '../../helpers/conformance.js';

const map = (entries: [string, PyValue][]): PyDict => new Map(entries);

// a-linear-chain's `prepare`, as DVC 3.64 recorded it.
const PREPARE: LockStage = {
  cmd: 'sort data/raw.txt > sorted.txt',
  deps: [{ path: 'data/raw.txt', hash: 'md5', md5: '8d31a1baf2445767218ddc0a7689a0d0', size: 42 }],
  params: new Map(),
  outs: [{ path: 'sorted.txt', hash: 'md5', md5: '4ca7f99bc21a2f84d2e22c225c3e309c', size: 42 }],
};

describe('run-cache entry of a recorded run', () => {
  it('has the key, value, path and bytes DVC wrote', () => {
    expect(runCacheKey(PREPARE)).toBe('1b356a8bf21a54cf3770ba494ecff1ab9f3aaadd062294725be68c645cfb1738');
    expect(runCacheValue(PREPARE)).toBe('1623b4fbe07ccddd60e154a7e3da23dcbafb6f766acef14e2d46677af61e04c8');
    expect(runCachePath(PREPARE)).toBe(
      'runs/1b/1b356a8bf21a54cf3770ba494ecff1ab9f3aaadd062294725be68c645cfb1738/1623b4fbe07ccddd60e154a7e3da23dcbafb6f766acef14e2d46677af61e04c8',
    );
    const yaml = runCacheEntryYaml(PREPARE);
    expect(yaml).toBe(`cmd: sort data/raw.txt > sorted.txt
deps:
- path: data/raw.txt
  hash: md5
  md5: 8d31a1baf2445767218ddc0a7689a0d0
  size: 42
outs:
- path: sorted.txt
  hash: md5
  md5: 4ca7f99bc21a2f84d2e22c225c3e309c
  size: 42
`);
    expect(Buffer.byteLength(yaml)).toBe(214);
  });

  it('keys a run by its inputs and the paths of its outs, not by what they hold', () => {
    const otherOut: LockStage = { ...PREPARE, outs: [{ path: 'sorted.txt', hash: 'md5', md5: 'ffff', size: 1 }] };
    expect(runCacheKey(otherOut)).toBe(runCacheKey(PREPARE));
    expect(runCacheValue(otherOut)).not.toBe(runCacheValue(PREPARE));
    // The key needs only the outs' paths, as before a run.
    expect(runCacheKey({ ...PREPARE, outs: [{ path: 'sorted.txt' }] })).toBe(runCacheKey(PREPARE));
    expect(runCacheKey({ ...PREPARE, cmd: 'sort -r data/raw.txt > sorted.txt' })).not.toBe(runCacheKey(PREPARE));
    expect(runCacheKey({ ...PREPARE, outs: [{ path: 'other.txt' }] })).not.toBe(runCacheKey(PREPARE));
  });

  it('ignores every `size` and `nfiles`, even inside params values, as DVC does', () => {
    const withParams = (size: number): LockStage => ({
      ...PREPARE,
      params: new Map([['params.yaml', map([['model', map([['size', size], ['depth', 2]])]])]]),
    });
    expect(runCacheKey(withParams(1))).toBe(runCacheKey(withParams(2)));
    const deeper: LockStage = { ...withParams(1), params: new Map([['params.yaml', map([['model', map([['size', 1], ['depth', 3]])]])]]) };
    expect(runCacheKey(deeper)).not.toBe(runCacheKey(withParams(1)));
    const bigger: LockStage = { ...PREPARE, deps: [{ ...PREPARE.deps[0]!, size: 43 }] };
    expect(runCacheKey(bigger)).toBe(runCacheKey(PREPARE));
  });

  it('counts the exec bit and the hash name', () => {
    const exec: LockStage = { ...PREPARE, deps: [{ ...PREPARE.deps[0]!, isexec: true }] };
    expect(runCacheKey(exec)).not.toBe(runCacheKey(PREPARE));
    const legacy: LockStage = { ...PREPARE, deps: [{ path: 'data/raw.txt', md5: '8d31a1baf2445767218ddc0a7689a0d0', size: 42 }] };
    expect(runCacheKey(legacy)).not.toBe(runCacheKey(PREPARE));
  });
});

describe('pyJsonDumpsSorted (Python json.dumps, sort_keys=True)', () => {
  it.each<[string, PyValue, string]>([
    ['scalars', [null, true, false, 1, -2, 12345678901234567890n, 'a'], '[null, true, false, 1, -2, 12345678901234567890, "a"]'],
    ['floats by repr', [new PyFloat(1), new PyFloat(0.1), new PyFloat(1e-5), new PyFloat(1e16), new PyFloat(NaN), new PyFloat(-Infinity)], '[1.0, 0.1, 1e-05, 1e+16, NaN, -Infinity]'],
    ['keys sorted at every level', map([['b', map([['y', 1], ['x', 2]])], ['a', []], ['B', map([])]]), '{"B": {}, "a": [], "b": {"x": 2, "y": 1}}'],
    ['escapes and non-ASCII', 'q"\\\n\t\r\b\f\x01\x7fé日😀', '"q\\"\\\\\\n\\t\\r\\b\\f\\u0001\\u007f\\u00e9\\u65e5\\ud83d\\ude00"'],
    ['keys by code point', map([['\uff5e', 1], ['😀', 2], ['~', 3]]), '{"~": 3, "\\uff5e": 1, "\\ud83d\\ude00": 2}'],
  ])('%s', (_name, value, expected) => {
    expect(pyJsonDumpsSorted(value)).toBe(expected);
  });
});

describe('runCacheSkipReason', () => {
  const stage: Stage = {
    name: 's',
    group: 's',
    cmd: 'run',
    wdir: '.',
    deps: [{ defPath: 'in', path: 'in' }],
    params: [],
    outs: [{ defPath: 'out', path: 'out', kind: 'out', cache: true, persist: false, push: true }],
    frozen: false,
    alwaysChanged: false,
    source: { file: 'dvc.yaml' },
  };
  const entry: LockStage = {
    cmd: 'run',
    deps: [{ path: 'in', hash: 'md5', md5: 'a', size: 1 }],
    params: new Map(),
    outs: [{ path: 'out', hash: 'md5', md5: 'b', size: 1 }],
  };

  it('records an ordinary run', () => {
    expect(runCacheSkipReason(stage, entry)).toBeUndefined();
  });

  it('records a run whose only dependency is a params file', () => {
    const params: Stage = { ...stage, deps: [], params: [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['lr'] }] };
    expect(runCacheSkipReason(params, { ...entry, deps: [], params: new Map([['params.yaml', map([['lr', 1]])]]) })).toBeUndefined();
  });

  it.each<[string, Stage, LockStage]>([
    ['no deps', { ...stage, deps: [] }, { ...entry, deps: [] }],
    ['no outs', { ...stage, outs: [] }, { ...entry, outs: [] }],
    ['always_changed', { ...stage, alwaysChanged: true }, entry],
    ['a persist out', { ...stage, outs: [{ ...stage.outs[0]!, persist: true }] }, entry],
    ['an uncached out', { ...stage, outs: [{ ...stage.outs[0]!, cache: false }] }, entry],
    ['a params dep without values', { ...stage, params: [{ defPath: 'p.yaml', path: 'p.yaml', keys: null }] }, { ...entry, params: new Map([['p.yaml', map([])]]) }],
  ])('skips a stage with %s', (_name, s, e) => {
    expect(runCacheSkipReason(s, e)).toBeTypeOf('string');
  });

  it('records a run whose uncached outs are only metrics or plots', () => {
    const metric: Stage = { ...stage, outs: [...stage.outs, { defPath: 'm.json', path: 'm.json', kind: 'metric', cache: false, persist: false, push: true }] };
    expect(runCacheSkipReason(metric, entry)).toBeUndefined();
  });
});

// Conformance: from each recorded dvc.lock, the run-cache files DVC wrote
// (path and size in the cache listing beside it).
const CONFORMANCE = conformance();

function findLocks(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findLocks(p));
    else if (name === 'dvc.lock') out.push(p);
  }
  return out;
}

/** The conformance pipelines use no persist, cache: false or always_changed, so the lock alone decides. */
function recordable(entry: LockStage): boolean {
  return (entry.deps.length > 0 || entry.params.size > 0) && entry.outs.length > 0;
}

describe('run-cache conformance: paths and sizes in the recorded cache listings', () => {
  const locks = findLocks(CONFORMANCE);

  it('finds the recorded lock files', () => {
    expect(locks.length).toBeGreaterThanOrEqual(40);
  });

  const recorded = (file: string): string[] =>
    [...parseLockfile(readFileSync(file, 'utf8')).stages.values()]
      .filter(recordable)
      .map((e) => `${runCachePath(e)}\t${Buffer.byteLength(runCacheEntryYaml(e))}`);

  it.each(locks.map((p) => [path.relative(CONFORMANCE, p), p]))('%s', (_rel, file) => {
    const listed = readFileSync(path.join(path.dirname(file), 'cache-listing.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('runs/'));
    const computed = new Set(recorded(file));
    expect(computed.size).toBeGreaterThan(0);
    // After a modification the cache also keeps the runs of the first repro.
    const mod = /^(.*)\/expected\/mods\/[^/]+\/after-repro\/dvc\.lock$/.exec(file);
    if (mod) for (const line of recorded(path.join(mod[1] as string, 'expected', 'dvc.lock'))) computed.add(line);
    expect([...computed].sort()).toEqual([...listed].sort());
  });
});
