import path from 'node:path';
import type { PreparedRuntime, RunRequest, RunResult, RuntimeIdentity, StageRuntime } from '../../core/ports.js';
import { journalHostRun } from './host-runs.js';

/** How long a cancelled command gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 5_000;

/** The shell DVC uses: `$SHELL`, else `/bin/sh`; bash and zsh without rc files. */
export function shellArgv(cmd: string, shell = process.env.SHELL || '/bin/sh'): string[] {
  const name = path.basename(shell).toLowerCase();
  const opts = name === 'bash' ? ['--noprofile', '--norc'] : name === 'zsh' ? ['--no-rcs'] : [];
  return [shell, ...opts, '-c', cmd];
}

const HOST_IDENTITY: RuntimeIdentity = { kind: 'host', key: 'host' };

/**
 * Runs a stage's commands on the host, as DVC does: each command of a list in
 * its own shell, in order, in the stage's wdir; the first non-zero exit stops.
 */
export class HostRuntime implements StageRuntime {
  readonly name = 'host';

  /**
   * `journalRoot`: the workspace whose `.dvc/tmp/reprod/host-runs/` records
   * each running command's process group, so that a later run can kill what
   * a killed reprod left running (host-runs.ts).
   */
  constructor(private readonly opts: { journalRoot?: string } = {}) {}

  async identify(): Promise<RuntimeIdentity> {
    return HOST_IDENTITY;
  }

  async prepare(): Promise<PreparedRuntime> {
    return { kind: 'host', identity: HOST_IDENTITY };
  }

  async run(req: RunRequest): Promise<RunResult> {
    const startedAt = new Date();
    const cmds = typeof req.stage.cmd === 'string' ? [req.stage.cmd] : req.stage.cmd;
    const cwd = path.join(req.workspace, req.stage.wdir);
    for (const cmd of cmds) {
      if (req.signal.aborted) return { outcome: { kind: 'cancelled' }, runtime: 'host', startedAt, finishedAt: new Date() };
      const outcome = await this.runOne(cmd, cwd, req);
      if (outcome.kind === 'cancelled' || outcome.exitCode !== 0) {
        return { outcome, runtime: 'host', startedAt, finishedAt: new Date() };
      }
    }
    return { outcome: { kind: 'exited', exitCode: 0 }, runtime: 'host', startedAt, finishedAt: new Date() };
  }

  private runOne(
    cmd: string,
    cwd: string,
    req: RunRequest,
  ): Promise<{ kind: 'exited'; exitCode: number } | { kind: 'cancelled' }> {
    const [exe, ...args] = shellArgv(cmd);
    return new Promise((resolve, reject) => {
      // node:child_process loaded here, when a stage runs: a status never pays for it
      const child = process.getBuiltinModule('node:child_process').spawn(exe as string, args, {
        cwd,
        env: { ...process.env, ...req.env },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      const journalled =
        this.opts.journalRoot !== undefined && child.pid !== undefined
          ? journalHostRun(this.opts.journalRoot, child.pid).catch(() => async () => undefined)
          : Promise.resolve(async () => undefined);
      let cancelled = false;
      let killTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        cancelled = true;
        // the whole process group: a shell's children must stop too
        try {
          process.kill(-(child.pid as number), 'SIGTERM');
        } catch {
          // already gone
        }
        killTimer = setTimeout(() => {
          try {
            process.kill(-(child.pid as number), 'SIGKILL');
          } catch {
            // already gone
          }
        }, KILL_GRACE_MS);
      };
      req.signal.addEventListener('abort', onAbort, { once: true });
      child.stdout.setEncoding('utf8').on('data', (d: string) => req.log.write(d, 'stdout'));
      child.stderr.setEncoding('utf8').on('data', (d: string) => req.log.write(d, 'stderr'));
      child.on('error', reject);
      child.on('close', (code, sig) => {
        req.signal.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        const done = () => (cancelled ? resolve({ kind: 'cancelled' }) : resolve({ kind: 'exited', exitCode: code ?? (sig ? 128 : 1) }));
        // its journal entry goes first: an entry outliving the command would only make a later run look for it
        journalled
          .then((unjournal) => unjournal())
          .catch(() => undefined)
          .finally(done);
      });
    });
  }
}
