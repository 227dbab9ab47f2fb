import { randomBytes, randomUUID } from './crypto.js';

/*
 * The ids in reprod's temporary names: uuids led by the writing process's
 * mark, so that a clean-up can ask whether their writer is still alive
 * (adapters/fs/writer-marks.ts).
 */

let mark: string | undefined;

/**
 * This process's mark: eight hex digits, fresh per process (pids collide
 * across containers), drawn on the first call (a command that writes no
 * temporary file never loads node:crypto for it) and the same ever after.
 */
export function writerId(): string {
  return (mark ??= randomBytes(4).toString('hex'));
}

/** A fresh id for a temporary name: a uuid led by this process's mark. */
export function tempId(): string {
  return `${writerId()}${randomUUID().slice(8)}`;
}

/** The writer mark in a temporary file's name (the first uuid in it), if it carries one. */
export function writerOf(name: string): string | undefined {
  return /([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(name)?.[1];
}

