import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { isMissing } from '../../src/core/errno.js';

/**
 * How many inotify watches the process `pid` holds: the `inotify wd:` lines
 * of the fdinfo of each of its inotify descriptors (Linux only). An fd that
 * closes while it is read is not counted.
 */
export function inotifyWatches(pid: number = process.pid): number {
  let watches = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== 'anon_inode:inotify') continue;
      watches += readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('inotify wd:')).length;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
  }
  return watches;
}

/** The resident set size of the process `pid`, in MiB. */
export function rssMiB(pid: number = process.pid): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]) / 1024;
}
