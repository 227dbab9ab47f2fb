/**
 * The process entry point as a process: `--version` and `-V` alone are
 * answered before the command line is built, and say what the full command
 * line says (which still answers them among other arguments); anything else
 * goes through the command line, exit codes included.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../../..');
const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function run(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), ...args], { cwd: REPO, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('reprod (the process)', () => {
  it('prints its version for --version and -V alone, as the command line does with other arguments', () => {
    expect(run('--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(run('-V')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(run('-C', '.', '--version')).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('hands everything else to the command line', () => {
    const bad = run('--no-such-flag');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown option '--no-such-flag'");
    const help = run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: reprod');
  });
});
