/**
 * Exit codes of the command line (README: 0 success, 1 a stage failed or is
 * stale, 2 the pipeline or the command line is invalid): every usage error
 * exits 2 for every command, so that `status -q` keeps 1 for "stale" alone.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { Io } from '../../../src/cli/commands.js';
import { tempDir } from '../../helpers/workspace.js';

async function run(cwd: string, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { out: (s) => void (out += s), err: (s) => void (err += s), exitCode: 0 };
  const code = await main(['-C', cwd, ...args], io);
  return { code, out, err };
}

const USAGE_ERRORS: string[][] = [
  ['status', '-q', '--bogus'],
  ['status', '--bogus'],
  ['status', '-r'],
  ['status', '-j', '0'],
  ['repro', '--bogus'],
  ['repro', '--no-such-flag', 'train'],
  ['validate', '--schema-only'],
  ['validate', 'extra'],
  ['checkout', '-x'],
  ['commit', '--bogus'],
  ['push', '-j', 'many'],
  ['pull', '--remote'],
  ['fetch', '--bogus'],
  ['gc', '--bogus'],
  ['dag', '--dot', '--mermaid'],
  ['dag', 'a', 'b'],
  ['export', 'airflow', '--bogus'],
  ['export'],
  ['export', 'nope'],
  ['daemon', '--port', 'abc'],
  ['daemon', '--max-parallel', '0'],
  ['--runtime', 'vm', 'status'],
  ['--wait', 'soon', 'repro'],
  ['--bogus', 'status'],
  ['bogus-command'],
  [],
];

describe('exit codes', () => {
  it.each(USAGE_ERRORS.map((a) => [a.join(' ') || '(no command)', a]))('a bad command line exits 2: %s', async (_name, args) => {
    using ws = tempDir('reprod-cli-');
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  s:\n    cmd: echo x > s.txt\n    outs: [s.txt]\n');
    const res = await run(ws.path, args as string[]);
    expect(res.code, res.err).toBe(2);
    expect(res.err).toMatch(/error|Usage/);
  });

  it('help and the version exit 0; `status -q` exits 1 for a stale stage, 0 when up to date', async () => {
    using ws = tempDir('reprod-cli-');
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  s:\n    cmd: echo x > s.txt\n    outs: [s.txt]\n');
    for (const args of [['--help'], ['status', '--help'], ['help', 'repro'], ['--version']]) {
      expect((await run(ws.path, args)).code, args.join(' ')).toBe(0);
    }
    expect((await run(ws.path, ['--runtime', 'host', 'status', '-q'])).code).toBe(1);
    expect((await run(ws.path, ['--runtime', 'host', 'repro'])).code).toBe(0);
    expect((await run(ws.path, ['--runtime', 'host', 'status', '-q'])).code).toBe(0);
  });
});
