import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, rmSync } from 'node:fs';
import path from 'node:path';

/** One upload a run started: the object's key on the server and the server's id for the upload. */
export interface JournalUpload {
  key: string;
  uploadId: string;
}

/** Journals open in this process: their runs are alive, whatever their pid says. */
const open = new Set<string>();

function alive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists, under another user
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The multipart uploads one run of reprod started on one remote and has not
 * yet completed or aborted: a file per run, `<remote>.<pid>.<random>.jsonl`
 * in `dir` (the workspace's `.dvc/tmp/reprod/uploads/`), a line per start
 * and one per end. A run that ends cleanly removes its file; one that is
 * killed (or cannot reach the server to abort) leaves it, and the next push
 * to the same remote from this workspace finds those uploads there, so that
 * it aborts only uploads reprod started, never another client's.
 */
export class UploadJournal {
  private readonly remoteId: string;
  private readonly file: string;
  private readonly pending = new Set<string>();
  private writes: Promise<void> = Promise.resolve();
  private created = false;

  constructor(
    private readonly dir: string,
    remote: string,
  ) {
    this.remoteId = createHash('sha256').update(remote).digest('hex').slice(0, 16);
    this.file = path.join(dir, `${this.remoteId}.${process.pid}.${randomBytes(4).toString('hex')}.jsonl`);
  }

  private append(line: object): Promise<void> {
    this.writes = this.writes.then(async () => {
      if (!this.created) {
        await fs.mkdir(this.dir, { recursive: true });
        this.created = true;
        open.add(this.file);
      }
      await fs.appendFile(this.file, `${JSON.stringify(line)}\n`);
    });
    return this.writes;
  }

  /** Recorded before the first part is sent, so that a kill at any later point leaves the upload named. */
  started(u: JournalUpload): Promise<void> {
    this.pending.add(u.uploadId);
    return this.append({ key: u.key, uploadId: u.uploadId });
  }

  /** Completed or aborted: nothing is left on the server. */
  ended(uploadId: string): Promise<void> {
    this.pending.delete(uploadId);
    return this.append({ end: uploadId });
  }

  /**
   * The uploads earlier runs on this remote left unfinished, and the files
   * that name them. Files of runs still going (in this process or another
   * live one) are left alone.
   */
  async leftovers(): Promise<{ files: string[]; uploads: Map<string, string> }> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch {
      return { files: [], uploads: new Map() };
    }
    const files: string[] = [];
    const uploads = new Map<string, string>();
    for (const name of names) {
      const m = /^([0-9a-f]{16})\.(\d+)\.[0-9a-f]+\.jsonl$/.exec(name);
      const file = path.join(this.dir, name);
      if (!m || m[1] !== this.remoteId || file === this.file || open.has(file) || alive(Number(m[2]))) continue;
      files.push(file);
      const text = await fs.readFile(file, 'utf8').catch(() => '');
      for (const line of text.split('\n')) {
        let rec: { key?: unknown; uploadId?: unknown; end?: unknown };
        try {
          rec = JSON.parse(line) as typeof rec;
        } catch {
          continue; // a line cut off by the kill
        }
        if (typeof rec.end === 'string') uploads.delete(rec.end);
        else if (typeof rec.key === 'string' && typeof rec.uploadId === 'string') uploads.set(rec.uploadId, rec.key);
      }
    }
    return { files, uploads };
  }

  /** Drops journals whose uploads are all dealt with. */
  async forget(files: readonly string[]): Promise<void> {
    await Promise.all(files.map((f) => fs.rm(f, { force: true })));
  }

  /** The run is over (every put has returned, so no write is in flight): its file goes when every upload it started ended. */
  close(): void {
    open.delete(this.file);
    if (this.created && this.pending.size === 0) rmSync(this.file, { force: true });
  }
}
