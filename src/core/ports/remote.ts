/**
 * The two ends of a data transfer. Both are addressed by the keys of
 * layout.ts (`files/md5/xx/…`, `runs/…`), so that moving an object is the
 * same operation in either direction.
 */

/**
 * The remote stopped answering (connection refused, reset, unknown host):
 * the transfers still to start would fail the same way, so they are not
 * attempted; the ones in flight finish, and a rerun picks up the rest.
 */
export class RemoteUnreachable extends Error {
  override readonly name = 'RemoteUnreachable';
}

export interface TransferOptions {
  signal?: AbortSignal;
  /** Called with each chunk's byte count as it moves (progress). */
  onBytes?(n: number): void;
}

/**
 * Asks the person at the terminal for a password (a remote's
 * `ask_password`), without echoing it; resolves with what was typed.
 * Absent where there is no terminal (the daemon, CI, a pipe).
 */
export type PasswordPrompt = (question: string) => Promise<string>;

/** What {@link RemoteStore.cleanUp} did: leftovers removed, and why it could not look, if it could not. */
export interface CleanUp {
  aborted: number;
  problem?: string;
}

/** What a download wrote: the md5 of the bytes and their count, for verification. */
export interface Downloaded {
  md5: string;
  size: number;
}

/**
 * A DVC remote: a folder or an S3 bucket prefix in DVC's layout.
 *
 * Errors: a refusal of the credentials throws REMOTE_AUTH, a remote that
 * cannot be used at all (no such bucket, an unreadable folder) throws
 * REMOTE; either stops the whole command. Any other throw concerns the one
 * key and is reported with it.
 */
export interface RemoteStore {
  /** Names the remote in messages: its URL, never a secret. */
  readonly display: string;
  /** Which of `keys` the remote holds, with each object's size (a truncated object shows as the wrong size). */
  existing(keys: readonly string[], opts: { jobs: number; signal?: AbortSignal }): Promise<Map<string, number>>;
  /** Every key under `prefix` (a folder of the layout, ending in `/`). */
  list(prefix: string, opts?: { signal?: AbortSignal }): AsyncIterable<string>;
  /** Stores `file` under `key`; readers never see a partial object. */
  put(key: string, file: string, size: number, opts?: TransferOptions): Promise<void>;
  /** Writes the object to `dest` and says what was written; null when the remote has no such key. */
  get(key: string, dest: string, opts?: TransferOptions): Promise<Downloaded | null>;
  /** A small object's bytes (listings, run-cache entries); null when absent. */
  read(key: string, opts?: { signal?: AbortSignal }): Promise<Uint8Array | null>;
  delete(keys: readonly string[], opts?: { jobs?: number }): Promise<void>;
  /**
   * Before a push: clears what earlier interrupted pushes left on the
   * remote that readers cannot see (S3's unfinished multipart uploads).
   * Throws only what stops the command (REMOTE_AUTH, REMOTE).
   */
  cleanUp?(opts?: { signal?: AbortSignal }): Promise<CleanUp>;
  /** Releases connections. */
  close(): void;
}
