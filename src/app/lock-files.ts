import type { LocalWorkspace } from '../adapters/fs/local-workspace.js';
import { ReprodError, ReprodErrors } from '../core/errors.js';
import { inputLimitsFromEnv, type InputLimits } from '../core/input-limits.js';
import type { LockStore } from '../core/ports.js';
import type { Lockfile, LockStage } from '../core/types.js';
import { LockTextCache } from '../lock/lock-text.js';
import { emptyLockfile, outOidErrors, parseLockfile, upsertStage } from '../lock/lockfile.js';
import { lockFileOf, ROOT_PIPELINE_FILE, splitAddress, stageAddress } from '../pipeline/stage-address.js';

function parse(text: string | undefined, file: string, limits: InputLimits): Lockfile {
  return text === undefined || text.trim() === '' ? emptyLockfile() : parseLockfile(text, file, limits);
}

/**
 * One dvc.lock on disk. Commits are serialized, and each re-reads the file,
 * so that an edit made meanwhile (by hand, or by DVC) is kept. The text last
 * read or written is kept with its parsed model: a file that still reads the
 * same is not parsed again, and a commit emits only the stage it changed
 * (LockTextCache); a first repro of n stages thus reads and compares the
 * file n times, but parses and emits it whole only when someone else
 * changed it. The model it returns is shared: callers only read it.
 */
class OneLockFile {
  private chain: Promise<unknown> = Promise.resolve();
  private known: { text: string | undefined; lock: Lockfile } | undefined;
  private readonly texts = new LockTextCache();

  constructor(
    private readonly ws: LocalWorkspace,
    readonly file: string,
    private readonly limits: InputLimits,
  ) {}

  async read(): Promise<Lockfile> {
    return (await this.current()).lock;
  }

  async readForData(): Promise<{ lock: Lockfile; errors: ReprodError[] }> {
    const text = await this.ws.readText(this.file);
    const lock = parse(text, this.file, this.limits);
    return { lock, errors: text === undefined ? [] : outOidErrors(lock, text, this.file, this.limits) };
  }

  commit(stage: string, entry: LockStage): Promise<void> {
    return this.serialized(async () => {
      const current = await this.current();
      const lock = upsertStage(current.lock, stage, entry);
      const text = this.texts.text(lock);
      if (current.text !== text) await this.ws.writeTextAtomic(this.file, text);
      this.known = { text, lock };
    });
  }

  remove(stages: readonly string[]): Promise<void> {
    return this.serialized(async () => {
      const current = await this.current();
      if (current.text === undefined) return;
      if (!stages.some((s) => current.lock.stages.has(s))) return;
      // the model read is shared: the entries left go into a new one
      const lock: Lockfile = { stages: new Map([...current.lock.stages].filter(([name]) => !stages.includes(name))) };
      if (lock.stages.size === 0) {
        await this.ws.remove(this.file);
        this.known = undefined;
        return;
      }
      const text = this.texts.text(lock);
      await this.ws.writeTextAtomic(this.file, text);
      this.known = { text, lock };
    });
  }

  private serialized(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async current(): Promise<{ text: string | undefined; lock: Lockfile }> {
    const text = await this.ws.readText(this.file);
    const known = this.known;
    if (known && known.text === text) return known;
    const fresh = { text, lock: parse(text, this.file, this.limits) };
    this.known = fresh;
    return fresh;
  }
}

/**
 * Every dvc.lock of the workspace as one store: each pipeline file has its
 * own dvc.lock beside it (`sub/dvc.yaml` → `sub/dvc.lock`), keyed by bare
 * stage names, as DVC writes them; the store reads and writes stages by
 * their addresses (`sub/dvc.yaml:inner`, see stage-address.ts). The root
 * dvc.lock is always among them. Which pipeline files there are is asked
 * of `pipelineFiles` when first needed, unless a loaded spec said
 * ({@link FileLockStore.usePipelineFiles}).
 */
export class FileLockStore implements LockStore {
  private readonly stores = new Map<string, OneLockFile>();
  private files: readonly string[] | undefined;

  constructor(
    private readonly ws: LocalWorkspace,
    private readonly limits: InputLimits = inputLimitsFromEnv(process.env),
    private readonly pipelineFiles: () => readonly string[] = () => [ROOT_PIPELINE_FILE],
  ) {}

  /** The pipeline files in force (those of the spec just loaded). */
  usePipelineFiles(files: readonly string[]): void {
    this.files = files;
  }

  /** The pipeline files whose lock files make up the store: the root's first. */
  private pipelines(): string[] {
    this.files ??= this.pipelineFiles();
    return [ROOT_PIPELINE_FILE, ...this.files.filter((f) => f !== ROOT_PIPELINE_FILE)];
  }

  /** The workspace paths of the lock files read (present or not). */
  lockFiles(): string[] {
    return this.pipelines().map(lockFileOf);
  }

  private store(pipelineFile: string): OneLockFile {
    const file = lockFileOf(pipelineFile);
    let s = this.stores.get(file);
    if (!s) this.stores.set(file, (s = new OneLockFile(this.ws, file, this.limits)));
    return s;
  }

  async read(): Promise<Lockfile> {
    const files = this.pipelines();
    if (files.length === 1) return this.store(ROOT_PIPELINE_FILE).read();
    const stages = new Map<string, LockStage>();
    for (const f of files) for (const [name, entry] of (await this.store(f).read()).stages) stages.set(stageAddress(f, name), entry);
    return { stages };
  }

  /**
   * The lock files for commands that make cache or remote paths from their
   * md5s (checkout, push, pull, fetch, gc, status -c): an output's md5 that
   * is not an oid is refused with its file and line (OBJECT_INVALID), before
   * anything is read or written.
   */
  async readForData(): Promise<Lockfile> {
    const stages = new Map<string, LockStage>();
    const errors: ReprodError[] = [];
    for (const f of this.pipelines()) {
      const one = await this.store(f).readForData();
      errors.push(...one.errors);
      for (const [name, entry] of one.lock.stages) stages.set(stageAddress(f, name), entry);
    }
    if (errors.length === 1) throw errors[0] as ReprodError;
    if (errors.length > 1) throw new ReprodErrors(errors);
    return { stages };
  }

  commit(stage: string, entry: LockStage): Promise<void> {
    const { file, name } = splitAddress(stage);
    return this.store(file).commit(name, entry);
  }

  /** Drops the stages' entries, as `dvc remove` does; a lock file left with no entry goes. */
  async remove(stages: readonly string[]): Promise<void> {
    const byFile = new Map<string, string[]>();
    for (const s of stages) {
      const { file, name } = splitAddress(s);
      byFile.set(file, [...(byFile.get(file) ?? []), name]);
    }
    for (const [file, names] of byFile) await this.store(file).remove(names);
  }
}
