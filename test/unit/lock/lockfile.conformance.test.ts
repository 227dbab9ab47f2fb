import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLockfile, serializeLockfile } from '../../../src/lock/lockfile.js';
import { conformance } from '../../helpers/conformance.js';

// Every dvc.lock that real DVC 3.64 wrote in the conformance cases must come
// back byte for byte from its parsed model.
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

const locks = findLocks(CONFORMANCE);

describe('dvc.lock conformance: byte-exact round trip', () => {
  it('finds the recorded lock files', () => {
    expect(locks.length).toBeGreaterThanOrEqual(40);
  });

  it.each(locks.map((p) => [path.relative(CONFORMANCE, p), p]))('%s', (_rel, file) => {
    const text = readFileSync(file, 'utf8');
    const lock = parseLockfile(text);
    expect(lock.stages.size).toBeGreaterThan(0);
    expect(serializeLockfile(lock)).toBe(text);
  });
});
