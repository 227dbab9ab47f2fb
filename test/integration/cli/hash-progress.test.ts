/**
 * Progress while hashing large inputs: `reprod status` on a real terminal
 * (a pseudo-terminal made by util-linux `script`) draws a bar (cli-progress)
 * while it reads a 256 MiB dependency, and erases it; on a pipe it writes no
 * bar; a warm status (hashes from the state) draws nothing. The plain lines
 * off a terminal are timed: they are checked with a driven clock.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashDisplay } from '../../../src/app/hash-progress.js';
import { tempDir, writeFiles } from '../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const CLI = `${process.execPath} --import tsx ${path.join(REPO, 'src/cli/run.ts')}`;

/** `reprod ARGS` in `cwd` on a pseudo-terminal: what the terminal got. */
function onTerminal(cwd: string, args: string): { code: number; out: string } {
  const r = spawnSync('script', ['-qec', `${CLI} -C ${cwd} ${args}`, '/dev/null'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, COLUMNS: '120' } });
  return { code: r.status ?? -1, out: r.stdout };
}

describe('hashing progress', () => {
  it('reprod status on a terminal draws a bar while it reads a large input, and none once its hash is known', () => {
    using ws = tempDir('reprod-hashbar-');
    writeFiles(ws.path, { 'dvc.yaml': 'stages:\n  count:\n    cmd: wc -c < big.bin > n.txt\n    deps: [big.bin]\n    outs: [n.txt]\n' });
    execFileSync('dd', ['if=/dev/urandom', `of=${path.join(ws.path, 'big.bin')}`, 'bs=1M', 'count=256', 'status=none']);
    const cold = onTerminal(ws.path, '--runtime host status');
    expect(cold.out).toMatch(/hashing \[[=\- ]*\] \d+% \| [\d.]+ (KiB|MiB)\/256\.0 MiB {2}big\.bin/);
    // the staleness itself comes after, the bar erased
    expect(cold.out).toContain('count:');
    expect(cold.code).toBe(0);
    const warm = onTerminal(ws.path, '--runtime host status');
    expect(warm.out).not.toContain('hashing');
    expect(warm.out).toContain('count:');
    // on a pipe: no bar, no escape codes
    using ws2 = tempDir('reprod-hashbar-pipe-');
    writeFiles(ws2.path, { 'dvc.yaml': 'stages:\n  count:\n    cmd: wc -c < big.bin > n.txt\n    deps: [big.bin]\n    outs: [n.txt]\n' });
    execFileSync('dd', ['if=/dev/urandom', `of=${path.join(ws2.path, 'big.bin')}`, 'bs=1M', 'count=64', 'status=none']);
    const piped = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), '-C', ws2.path, '--runtime', 'host', 'status'], { cwd: REPO, encoding: 'utf8' });
    expect(piped.stderr).not.toMatch(/hashing \[|\x1b\[/);
  }, 120_000);

  it('off a terminal: a plain line once hashing has taken 2 s, then one every 5 s; nothing for a small read', () => {
    let now = 0;
    const lines: string[] = [];
    const d = hashDisplay({ write: (s) => lines.push(s), tty: false }, { now: () => new Date(now) });
    d.reading('small.txt', 1, 1024);
    d.read(1024);
    expect(lines).toEqual([]);
    d.reading('data', 20_000, 1536 * 1024 * 1024);
    for (let t = 0; t <= 12_000; t += 500) {
      now = t;
      d.read(32 * 1024 * 1024);
    }
    d.finish();
    expect(lines).toEqual([
      'hashing: 160.0 MiB/1.5 GiB  data (20000 files)\n',
      'hashing: 480.0 MiB/1.5 GiB  data (20000 files)\n',
      'hashing: 800.0 MiB/1.5 GiB  data (20000 files)\n',
    ]);
  });

  it('on a terminal: the bar follows the bytes read and is erased once all is read, so that the lines of the command that follow stand alone', () => {
    const calls: string[] = [];
    const d = hashDisplay({ write: () => undefined, tty: true, bar: (label) => ({ update: (done, total, text) => void calls.push(`${label} ${done}/${total} ${text}`), stop: () => void calls.push('stop') }) });
    const MiB = 1024 * 1024;
    d.reading('big.bin', 1, 16 * MiB);
    d.read(8 * MiB);
    d.read(8 * MiB);
    d.reading('small.txt', 1, 10);
    d.read(10);
    d.finish();
    expect(calls).toEqual(['hashing 0/16777216 0 B/16.0 MiB  big.bin', 'hashing 8388608/16777216 8.0 MiB/16.0 MiB  big.bin', 'hashing 16777216/16777216 16.0 MiB/16.0 MiB  big.bin', 'stop', 'stop', 'stop']);
  });
});
