import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { isInside } from '../adapters/fs/file-owner.js';
import { deadWriters } from '../adapters/fs/writer-marks.js';
import { killOrphanHostRuns } from '../adapters/local/host-runs.js';
import { errorMessage, isMissing } from '../core/errno.js';
import { writerOf } from '../core/temp-id.js';
import { systemClock, type Clock, type Logger } from '../core/ports.js';
import type { Project } from './project.js';
import { trackingConfig } from './tracking.js';

/**
 * Temporary files that writers killed mid-write (kill -9, power loss) left
 * behind. Every file reprod puts in place is written under a temporary name
 * beside it and renamed (adapters/fs/atomic-file.ts), and so are DVC's own
 * (dvc-objects' `tmp_fname`); a writer that dies before the rename leaves
 * the temporary file, which nothing reads and nothing else removes: one
 * interrupted run left 233 MB in the cache.
 *
 * What is a leftover, by place and name only (nothing else is touched):
 *
 *   <cache>/**            `<name>.<id>.tmp`   objects and run-cache entries (reprod's and DVC's)
 *   status/**             `.<name>.<uuid>.tmp` status manifests and their logs' folder
 *   <workspace>/          `.<name>.<uuid>.tmp` dvc.lock
 *   .dvc/tmp/reprod/      `<name>.<uuid>.tmp` (and the older `<name>.tmp-<pid>`)  the hash state cache
 *   .dvc/tmp/reprod/mlflow-outbox/**  `[.]<name>.<uuid>.tmp`  the MLflow outbox's journals, locks and blobs
 *   mlruns/**             `.<name>.<uuid>.tmp` the MLflow file store, when it is in the workspace
 *
 * when its writer is gone, or else when its last change is at least
 * {@link LEFTOVER_MIN_AGE_MS} old. reprod's temporary names carry the
 * writer's mark, and a writer holds a flock on its mark while it lives
 * (adapters/fs/writer-marks.ts): a file whose writer's flock is free was
 * left by a process that died, and goes at once, however young. A file
 * whose writer lives, or that carries no mark (DVC's own, or a writer's
 * first files before it took its mark), is judged by age: a live writer
 * changes its temporary file with every chunk it writes and renames it as
 * soon as it is complete, so a live writer's file is never minutes old;
 * pids say nothing across containers (the daemon in compose, a repro on the
 * host), and a cache may be shared by several workspaces whose writers hold
 * other locks. A writer that stalls longer than that (a download hanging on
 * a dead connection) loses its file: its rename fails, the object is
 * reported as not transferred and moves on the next run; nothing
 * half-written is ever taken for an object.
 */
export const LEFTOVER_MIN_AGE_MS = 5 * 60_000;

/** `<name>.<id>.tmp`: a uuid (reprod) or a shortuuid (DVC), at least 8 characters. */
const CACHE_TEMP = /\.[0-9A-Za-z_-]{8,}\.tmp$/;
/** `.<name>.<uuid>.tmp`: writeFileAtomic's hidden form. */
const HIDDEN_TEMP = /^\..+\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp$/;
/** The state cache's `<file>.<uuid>.tmp` (`<file>.tmp-<pid>` before its names carried a writer's mark). */
const STATE_TEMP = /^.+(\.tmp-\d+|\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.tmp)$/;
/** The MLflow outbox's writes: `.<uuid>.tmp` (blobs), `journal-<id>.jsonl.<uuid>.tmp`, `.journal-<id>.lock.<hex>.tmp`. */
const OUTBOX_TEMP = /^\.?.*\.[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\.tmp$/;
/** Where the MLflow outbox lives (app/tracking.ts OUTBOX_DIR). */
const OUTBOX = ['.dvc', 'tmp', 'reprod', 'mlflow-outbox'];

export interface LeftoverOptions {
  clock?: Clock;
  /** Younger files are left alone (default {@link LEFTOVER_MIN_AGE_MS}). */
  minAgeMs?: number;
  /** Only find them (gc without --force). */
  dryRun?: boolean;
  log?: Logger;
  /** Where MLflow's file store is read from (MLFLOW_TRACKING_URI); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface Leftovers {
  /** Paths removed (or, in a dry run, that would be): workspace-relative, absolute for a cache outside the workspace. */
  paths: string[];
  bytes: number;
}

interface Place {
  dir: string;
  pattern: RegExp;
  recursive: boolean;
}

/**
 * Finds and removes the leftovers of interrupted writes (see above). Called
 * when a command that writes starts: `repro` (beside its pass), `gc`
 * (listing them without `--force`), and the daemon once at start-up, after
 * taking the workspace lock for its first pass.
 */
export async function cleanLeftovers(project: Pick<Project, 'root'> & { cache: { dir: string } }, opts: LeftoverOptions = {}): Promise<Leftovers> {
  const now = (opts.clock ?? systemClock).now().getTime();
  const minAge = opts.minAgeMs ?? LEFTOVER_MIN_AGE_MS;
  const places: Place[] = [
    { dir: project.cache.dir, pattern: CACHE_TEMP, recursive: true },
    { dir: path.join(project.root, 'status'), pattern: HIDDEN_TEMP, recursive: true },
    { dir: project.root, pattern: HIDDEN_TEMP, recursive: false },
    { dir: path.join(project.root, '.dvc', 'tmp', 'reprod'), pattern: STATE_TEMP, recursive: false },
    { dir: path.join(project.root, ...OUTBOX), pattern: OUTBOX_TEMP, recursive: true },
  ];
  const store = fileStoreIn(project.root, opts.env ?? process.env);
  if (store) places.push({ dir: store, pattern: HIDDEN_TEMP, recursive: true });
  const found: Leftovers = { paths: [], bytes: 0 };
  const writers = await deadWriters(project.root);
  try {
    for (const place of places) {
      for (const file of (await candidates(place.dir, place.pattern, place.recursive)).sort()) {
        let st;
        try {
          st = await fs.lstat(file);
        } catch (e) {
          // renamed into place (or removed) since the folder was read: not a leftover
          if (isMissing(e)) continue;
          throw e;
        }
        if (!st.isFile()) continue;
        const writer = writerOf(path.basename(file));
        if (now - st.mtimeMs < minAge && (writer === undefined || !writers.dead.has(writer))) continue;
        if (!opts.dryRun) await fs.rm(file, { force: true });
        const rel = path.relative(project.root, file);
        found.paths.push(rel.startsWith('..') || path.isAbsolute(rel) ? file : rel.split(path.sep).join('/'));
        found.bytes += st.size;
      }
    }
  } finally {
    await writers.release(opts.dryRun !== true);
  }
  if (found.paths.length > 0 && !opts.dryRun) opts.log?.info({ files: found.paths.length, bytes: found.bytes }, 'removed temporary files left by interrupted writes');
  return found;
}

/**
 * Stops the host commands that reprod processes killed earlier left running
 * in the workspace (adapters/local/host-runs.ts), before anything runs: such
 * a command could still be writing an output the new run reproduces.
 */
export async function stopOrphanCommands(root: string, log?: Logger): Promise<void> {
  try {
    const killed = await killOrphanHostRuns(root);
    if (killed.length > 0) log?.info({ groups: killed.map((k) => k.pgid) }, 'stopped stage commands left running by a reprod process that is gone');
  } catch (err) {
    log?.warn({ err: errorMessage(err) }, 'cannot stop stage commands left running by a reprod process that is gone');
  }
}

/** The MLflow file store's folder when tracking goes to one inside the workspace (never one outside it). */
function fileStoreIn(root: string, env: NodeJS.ProcessEnv): string | undefined {
  let cfg;
  try {
    cfg = trackingConfig(root, env);
  } catch {
    // a tracking URI reprod cannot use: the commands that track say so; nothing of it to clean
    return undefined;
  }
  return cfg.target.kind === 'file' && isInside(cfg.target.root, root) && path.resolve(cfg.target.root) !== path.resolve(root) ? cfg.target.root : undefined;
}

/**
 * The files under `dir` whose names match (symlinked folders are not
 * followed); nothing when it does not exist. Names are tested as folders
 * are read, so that a cache of many objects costs one readdir per folder.
 */
async function candidates(dir: string, pattern: RegExp, recursive: boolean, into: string[] = []): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isMissing(e)) return into;
    throw e;
  }
  const subdirs: string[] = [];
  for (const e of entries) {
    if (e.isDirectory()) {
      if (recursive) subdirs.push(path.join(dir, e.name));
    } else if (e.isFile() && pattern.test(e.name)) {
      into.push(path.join(dir, e.name));
    }
  }
  for (const d of subdirs) await candidates(d, pattern, true, into);
  return into;
}
