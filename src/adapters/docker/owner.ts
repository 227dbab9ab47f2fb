import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';

/**
 * Which process owns a container, in a form that survives PID namespaces.
 *
 * A pid alone names nothing once the daemon runs in a compose container and a
 * CLI on the host: both can be pid 7. So the owner is a random id per process
 * plus what the kernel says about it: the boot id (one per running kernel,
 * the same inside and outside containers), the pid namespace (an inode, the
 * same for every process of one namespace) and, in it, the pid and the start
 * time (clock ticks after boot), which tell a live process from a later one
 * that reused its pid. Any fact that cannot be read is '' and proves nothing.
 */
export interface ContainerOwner {
  id: string;
  host: string;
  bootId: string;
  pidNs: string;
  pid: number;
  startTime: string;
}

export const OWNER_LABEL = {
  id: 'reprod.owner',
  host: 'reprod.owner.host',
  bootId: 'reprod.owner.boot-id',
  pidNs: 'reprod.owner.pid-ns',
  pid: 'reprod.owner.pid',
  startTime: 'reprod.owner.start-time',
} as const;

export function ownerLabels(o: ContainerOwner): Record<string, string> {
  return {
    [OWNER_LABEL.id]: o.id,
    [OWNER_LABEL.host]: o.host,
    [OWNER_LABEL.bootId]: o.bootId,
    [OWNER_LABEL.pidNs]: o.pidNs,
    [OWNER_LABEL.pid]: String(o.pid),
    [OWNER_LABEL.startTime]: o.startTime,
  };
}

/** The owner a container's labels name; undefined for containers of a reprod before owner labels. */
export function ownerFromLabels(labels: Record<string, string>): ContainerOwner | undefined {
  const id = labels[OWNER_LABEL.id];
  if (id === undefined || id === '') return undefined;
  const pid = Number(labels[OWNER_LABEL.pid]);
  return {
    id,
    host: labels[OWNER_LABEL.host] ?? '',
    bootId: labels[OWNER_LABEL.bootId] ?? '',
    pidNs: labels[OWNER_LABEL.pidNs] ?? '',
    pid: Number.isInteger(pid) && pid > 0 ? pid : 0,
    startTime: labels[OWNER_LABEL.startTime] ?? '',
  };
}

/** What /proc says; a seam for tests, which pass the real one. */
export interface ProcReader {
  /** `/proc/<pid>/stat`'s text, or undefined when the process does not exist. */
  stat(pid: number | 'self'): string | undefined;
  bootId(): string;
  /** `readlink /proc/self/ns/pid`, e.g. `pid:[4026531836]`. */
  pidNs(): string;
}

export const procfs: ProcReader = {
  stat(pid) {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ESRCH') return undefined;
      throw e;
    }
  },
  bootId: () => readOr('', () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()),
  pidNs: () => readOr('', () => readlinkSync('/proc/self/ns/pid')),
};

function readOr(fallback: string, read: () => string): string {
  try {
    return read();
  } catch (e) {
    // no procfs (not Linux, or not mounted): the owner is known by its random id alone
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') return fallback;
    throw e;
  }
}

/** Field 22 of `/proc/<pid>/stat` (start time); the command name, field 2, may hold spaces and parentheses. */
export function startTimeOf(stat: string | undefined): string {
  if (stat === undefined) return '';
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): field 22 is rest[19]
  return rest[19] ?? '';
}

/** This process as an owner; a new random id each call (callers keep one per process). */
export function describeProcess(proc: ProcReader = procfs): ContainerOwner {
  return {
    id: randomUUID(),
    host: os.hostname(),
    bootId: proc.bootId(),
    pidNs: proc.pidNs(),
    pid: process.pid,
    startTime: startTimeOf(proc.stat('self')),
  };
}

/*
 * The owner identity of this process, read once. It is a fact about the
 * process, not state: every container this process creates carries it, and
 * it tells this process's containers from those of others (see orphans.ts).
 */
let self: ContainerOwner | undefined;
export function processOwner(): ContainerOwner {
  self ??= describeProcess();
  return self;
}

/**
 * - `self`: this process.
 * - `alive`: the owner runs now (same kernel and PID namespace, same pid and start time).
 * - `gone`: it provably does not: its pid, in its namespace of this boot, is free or another process's.
 * - `unknown`: another PID namespace or another kernel; /proc cannot tell.
 */
export type OwnerLiveness = 'self' | 'alive' | 'gone' | 'unknown';

export function ownerLiveness(owner: ContainerOwner, me: ContainerOwner, proc: ProcReader = procfs): OwnerLiveness {
  if (owner.id === me.id) return 'self';
  // another kernel (another machine, or this one before a reboot) or another PID namespace: /proc cannot see it
  if (owner.bootId === '' || owner.bootId !== me.bootId) return 'unknown';
  if (owner.pidNs === '' || owner.pidNs !== me.pidNs || owner.pid === 0) return 'unknown';
  const stat = proc.stat(owner.pid);
  if (stat === undefined) return 'gone';
  return owner.startTime !== '' && startTimeOf(stat) === owner.startTime ? 'alive' : 'gone';
}
