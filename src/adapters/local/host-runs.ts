import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMissing } from '../../core/errno.js';
import { writerId } from '../../core/temp-id.js';
import { deadWriters, markWriter, WRITERS_DIR } from '../fs/writer-marks.js';
import { openWorkspaceTmpFile } from '../fs/workspace-lock.js';

/**
 * Stage commands run on the host outlive a reprod killed with `kill -9`: they
 * are their own process group, and nothing is left to stop them. Such an
 * orphan could still be writing an output while the next run reproduces the
 * same stage. So each host command's process group is journalled in
 * `.dvc/tmp/reprod/host-runs/<writer mark>-<pgid>` while it runs, with its
 * leader's start time (`/proc/<pid>/stat`), and the next run kills the groups
 * whose writer is gone (writer-marks.ts) before it runs anything.
 */
export const HOST_RUNS_DIR = '.dvc/tmp/reprod/host-runs';

/** How long the groups of a dead writer get to go after SIGKILL. */
const GONE_WAIT_MS = 5_000;

/**
 * Journals the process group `pgid` (a command just spawned, detached) of
 * this process in the workspace at `root`; the returned function removes the
 * entry once the command ended. Nothing is journalled when this process has
 * no writer mark (its liveness could not be told) or on a system without
 * /proc: such groups are not cleaned up.
 */
export async function journalHostRun(root: string, pgid: number): Promise<() => Promise<void>> {
  const started = startTime(pgid);
  if (started === undefined || !(await markWriter(root))) return async () => undefined;
  const rel = `${HOST_RUNS_DIR}/${writerId()}-${pgid}`;
  const fh = await openWorkspaceTmpFile(root, rel);
  try {
    await fh.truncate(0);
    await fh.write(`${pgid} ${started}\n`, 0);
  } finally {
    await fh.close();
  }
  return async () => {
    await fs.rm(path.join(root, rel), { force: true });
  };
}

/** What {@link killOrphanHostRuns} did: the process groups it killed. */
export interface KilledHostRun {
  pgid: number;
  writer: string;
}

/**
 * Kills (SIGKILL, the whole group) the host commands left running by reprod
 * processes of the workspace at `root` that are gone, waits for them to go,
 * and removes their journal entries. A group whose leader is a different
 * process now (another start time) is left alone.
 */
export async function killOrphanHostRuns(root: string): Promise<KilledHostRun[]> {
  const dir = path.join(root, HOST_RUNS_DIR);
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
  const entries = names
    .map((name) => /^([0-9a-f]{8})-(\d+)$/.exec(name))
    .filter((m): m is RegExpExecArray => m !== null && m[1] !== writerId())
    .map((m) => ({ name: m[0], writer: m[1] as string, pgid: Number(m[2]) }));
  if (entries.length === 0) return [];
  const writers = await deadWriters(root);
  const marks = new Set(await fs.readdir(path.join(root, WRITERS_DIR)).catch(() => [] as string[]));
  const killed: KilledHostRun[] = [];
  try {
    for (const e of entries) {
      // a writer whose mark is gone ended (its mark is removed at exit) or was cleaned up after it died
      const gone = writers.dead.has(e.writer) || !marks.has(e.writer);
      if (!gone) continue;
      if (groupAlive(e.pgid) && sameLeader(path.join(dir, e.name), e.pgid)) {
        try {
          process.kill(-e.pgid, 'SIGKILL');
          killed.push({ pgid: e.pgid, writer: e.writer });
        } catch {
          // gone in between
        }
      }
      await fs.rm(path.join(dir, e.name), { force: true });
    }
  } finally {
    await writers.release(false);
  }
  const deadline = Date.now() + GONE_WAIT_MS;
  while (killed.some((k) => groupAlive(k.pgid)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  return killed;
}

/**
 * True when the journalled leader is the process now holding that pid, or
 * when the leader is gone but its group lives on (a pid is not given out
 * again while a process group of that id exists, so the group is the same).
 */
function sameLeader(entry: string, pgid: number): boolean {
  let recorded: string | undefined;
  try {
    recorded = readFileSync(entry, 'utf8').trim().split(' ')[1];
  } catch {
    return false;
  }
  const now = startTime(pgid);
  return now === undefined || now === recorded;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A process's start time (clock ticks since boot, field 22 of /proc/PID/stat), or undefined when it is gone or there is no /proc. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) is in parentheses and may hold spaces: count from after its closing one
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
