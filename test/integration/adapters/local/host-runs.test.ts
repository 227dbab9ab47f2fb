import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HOST_RUNS_DIR, killOrphanHostRuns } from '../../../../src/adapters/local/host-runs.js';
import { reprodOk, tempDir, writeFiles } from '../../../helpers/workspace.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid a stage command wrote (its shell's, the process group's leader). */
function stagePid(ws: string): number {
  return Number(readFileSync(path.join(ws, 'pid'), 'utf8').trim());
}

describe('host stage commands left by a reprod killed with kill -9', () => {
  it('are killed by the next repro before it runs the stage again, and their journal entries go', async () => {
    using ws = tempDir();
    // the first run writes its shell's pid and works on (a long training), the second finishes at once
    writeFiles(ws.path, {
      '.dvc/config': '',
      'dvc.yaml': 'stages:\n  slow:\n    cmd: if [ -f ran ]; then echo ok > out.txt; else touch ran; echo $$ > pid; sleep 60; fi\n    outs:\n      - out.txt\n',
    });
    let first: ChildProcess | undefined = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), '-C', ws.path, '--runtime', 'host', 'repro'], {
      stdio: 'ignore',
    });
    try {
      await until('the stage to start', () => existsSync(path.join(ws.path, 'pid')) && existsSync(path.join(ws.path, HOST_RUNS_DIR)) && readdirSync(path.join(ws.path, HOST_RUNS_DIR)).length === 1);
      const orphan = stagePid(ws.path);
      const closed = new Promise((r) => first?.once('close', r));
      first.kill('SIGKILL');
      await closed;
      first = undefined;
      // the stage's shell outlived reprod: it is its own process group
      expect(alive(orphan)).toBe(true);
      // the next run must not race it: the orphan is gone before the stage runs anew
      await reprodOk(ws.path, '--runtime', 'host', 'repro');
      expect(alive(orphan)).toBe(false);
      expect(readFileSync(path.join(ws.path, 'out.txt'), 'utf8')).toBe('ok\n');
      expect(readdirSync(path.join(ws.path, HOST_RUNS_DIR))).toEqual([]);
    } finally {
      first?.kill('SIGKILL');
      if (existsSync(path.join(ws.path, 'pid'))) {
        try {
          process.kill(-stagePid(ws.path), 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
  }, 60_000);

  it('leaves a process alone whose pid was given out again (another start time), and drops the stale entry', async () => {
    using ws = tempDir();
    const other = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      const pid = other.pid as number;
      mkdirSync(path.join(ws.path, HOST_RUNS_DIR), { recursive: true });
      // a writer `deadbeef` with no mark (gone), which recorded a different process under this pid
      writeFileSync(path.join(ws.path, HOST_RUNS_DIR, `deadbeef-${pid}`), `${pid} 1\n`);
      expect(await killOrphanHostRuns(ws.path)).toEqual([]);
      expect(alive(pid)).toBe(true);
      expect(readdirSync(path.join(ws.path, HOST_RUNS_DIR))).toEqual([]);
    } finally {
      other.kill('SIGKILL');
    }
  });
});
