import { constants, promises as fs } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isMissing } from '../../core/errno.js';
import { ReprodError } from '../../core/errors.js';
import { Flock, FlockUnavailable } from './flock.js';
import { openWorkspaceTmpFile } from './workspace-lock.js';

/**
 * Whether a reprod daemon runs on a workspace: the daemon holds a flock on
 * `.dvc/tmp/reprod-daemon` for its whole life (the workspace lock it holds
 * only during passes), with a line of JSON saying who it is. A second daemon
 * on the same workspace is refused, and `reprod status` asks the flock, so a
 * daemon killed in any way stops counting at once (the kernel drops its
 * lock); a stale file alone means nothing.
 */
export const DAEMON_FILE = '.dvc/tmp/reprod-daemon';

export interface DaemonInfo {
  pid: number;
  host: string;
  startedAt: string;
  /** Where its HTTP endpoint listens, once it does. */
  url?: string;
}

function describe(info: DaemonInfo | undefined): string {
  return info ? `pid ${info.pid} on ${info.host}, since ${info.startedAt}` : 'another process';
}

function parseInfo(text: string): DaemonInfo | undefined {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string' || typeof o.startedAt !== 'string') return undefined;
    return { pid: o.pid, host: o.host, startedAt: o.startedAt, ...(typeof o.url === 'string' ? { url: o.url } : {}) };
  } catch {
    // a file half-written by a dying daemon names nobody; the flock alone says whether one runs
    return undefined;
  }
}

async function readInfo(fh: FileHandle): Promise<DaemonInfo | undefined> {
  const buf = Buffer.alloc(4096);
  const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
  return parseInfo(buf.subarray(0, bytesRead).toString('utf8'));
}

async function tryLock(fh: FileHandle): Promise<'held' | 'busy'> {
  try {
    return await new Flock().tryLock(fh.fd);
  } catch (cause) {
    if (!(cause instanceof FlockUnavailable)) throw cause;
    throw new ReprodError('WORKSPACE_LOCK', `cannot lock ${DAEMON_FILE}: ${cause.message}`, { cause });
  }
}

/** The daemon's claim on the workspace, held until {@link release}. */
export class DaemonPresence {
  private constructor(
    private readonly fh: FileHandle,
    private info: DaemonInfo,
  ) {}

  /** Claims the workspace for this daemon; refuses when another daemon holds it. */
  static async claim(root: string, now: Date): Promise<DaemonPresence> {
    const fh = await openWorkspaceTmpFile(root, DAEMON_FILE);
    try {
      if ((await tryLock(fh)) === 'busy') {
        const other = await readInfo(fh);
        throw new ReprodError('WORKSPACE_LOCKED', `another reprod daemon runs on this workspace (${describe(other)})`, {
          remedy: 'Stop it first (docker-compose stop daemon, or SIGTERM); one daemon per workspace.',
        });
      }
      const presence = new DaemonPresence(fh, { pid: process.pid, host: os.hostname(), startedAt: now.toISOString() });
      await presence.write();
      return presence;
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** Records where the daemon's HTTP endpoint listens. */
  async listening(url: string): Promise<void> {
    this.info = { ...this.info, url };
    await this.write();
  }

  private async write(): Promise<void> {
    const content = Buffer.from(`${JSON.stringify(this.info)}\n`);
    await this.fh.write(content, 0, content.length, 0);
    await this.fh.truncate(content.length);
  }

  async release(): Promise<void> {
    await this.fh.close();
  }
}

/**
 * The daemon running on the workspace at `root`, if one does. Reads only:
 * creates nothing, and a missing `.dvc/tmp` means no daemon.
 */
export type DaemonLook = { running: false } | { running: true; info: DaemonInfo | undefined };

export async function runningDaemon(root: string): Promise<DaemonLook> {
  let fh: FileHandle;
  try {
    fh = await fs.open(path.join(root, DAEMON_FILE), constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if (isMissing(e) || (e as NodeJS.ErrnoException).code === 'ELOOP') return { running: false };
    throw e;
  }
  try {
    if ((await tryLock(fh)) === 'held') return { running: false };
    return { running: true, info: await readInfo(fh) };
  } finally {
    // closing gives back the lock this look may have taken
    await fh.close();
  }
}
