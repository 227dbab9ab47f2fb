/**
 * Build-context hashing over real files: a context whose files' stats are
 * unchanged is not read again (the memo answers), and any edit, even one
 * that keeps the size, gives the hash a fresh scan gives.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ContextMemo, scanBuildContext } from '../../../../src/adapters/docker/build-context.js';
import { tempDir } from '../../../helpers/workspace.js';

class CountingMemo extends ContextMemo {
  hits = 0;
  override hashOf(root: string, signature: string): string | undefined {
    const h = super.hashOf(root, signature);
    if (h !== undefined) this.hits++;
    return h;
  }
}

describe('scanBuildContext with a memo', () => {
  it('answers from the memo while nothing changed, and rescans after any edit', async () => {
    using ws = tempDir('reprod-ctx-');
    mkdirSync(path.join(ws.path, 'src'));
    writeFileSync(path.join(ws.path, 'Dockerfile'), 'FROM scratch\nCOPY src /src\n');
    writeFileSync(path.join(ws.path, 'src/a.py'), 'print(1)\n');
    const memo = new CountingMemo();
    const first = await scanBuildContext(ws.path, 'Dockerfile', { X: '1' }, memo);
    const again = await scanBuildContext(ws.path, 'Dockerfile', { X: '1' }, memo);
    expect(memo.hits).toBe(1);
    expect(again.hash).toBe(first.hash);
    expect(again.entries).toEqual(first.entries);

    // other build args: another hash, not the memo's
    const otherArgs = await scanBuildContext(ws.path, 'Dockerfile', { X: '2' }, memo);
    expect(otherArgs.hash).not.toBe(first.hash);
    expect(memo.hits).toBe(1);

    // the same size, other bytes: ctime moves, the memo misses, the hash is a fresh scan's
    writeFileSync(path.join(ws.path, 'src/a.py'), 'print(2)\n');
    const edited = await scanBuildContext(ws.path, 'Dockerfile', { X: '1' }, memo);
    expect(memo.hits).toBe(1);
    expect(edited.hash).not.toBe(first.hash);
    expect(edited.hash).toBe((await scanBuildContext(ws.path, 'Dockerfile', { X: '1' })).hash);
  });
});
