import { availableParallelism } from 'node:os';
import path from 'node:path';
import { LocalRemote } from '../adapters/remote/local-remote.js';
import { AzureRemote } from '../adapters/remote/azure-remote.js';
import { GsRemote } from '../adapters/remote/gs-remote.js';
import { HttpRemote } from '../adapters/remote/http-remote.js';
import { S3Remote } from '../adapters/remote/s3-remote.js';
import { SshRemote } from '../adapters/remote/ssh-remote.js';
import { ReprodError } from '../core/errors.js';
import { systemClock, type Logger, type ProgressOut } from '../core/ports.js';
import { checkoutTracked, type CheckoutResult } from '../remote/checkout.js';
import type { CloudState } from '../remote/cloud-status.js';
import {
  cloudStatusOf,
  fetchObjects,
  planCacheGc,
  planRemoteGc,
  pushObjects,
  readListingAnywhere,
  usedOids,
  type Failure,
  type Listings,
} from '../remote/data-sync.js';
import type { RemoteStore } from '../core/ports.js';
import { Progress } from '../remote/progress.js';
import { barFor } from './hash-progress.js';
import { withAskedPassword, type PasswordPrompt } from '../remote/ask-password.js';
import { defaultJobs, defaultRemoteName, resolveRemote, type RemoteConfigInput, type RemoteSpec } from '../remote/remote-config.js';
import { selectTracked, type SkippedOut, type TrackedOut } from '../remote/tracked.js';
import { cleanLeftovers, type Leftovers } from './leftovers.js';
import { readDvcConfigFiles, withProject, type Project } from './project.js';
import { loadTracked, type TrackedData } from './tracked-data.js';

/** Options shared by push, pull, fetch, status --cloud and gc. */
export interface DataCommandOptions {
  /** `-r NAME`: every object goes to (comes from) this remote; else each output's `remote:` or the default. */
  remote?: string;
  /** `-j N`: transfers at once; else the remote's `jobs`, else 4 per CPU as DVC. */
  jobs?: number;
  /** Also move run-cache entries (and the objects they name). */
  runCache?: boolean;
  /** Targets bring in the stages upstream of them and their `.dvc` data sources. */
  withDeps?: boolean;
  /** pull: overwrite workspace changes that are not in the cache. */
  force?: boolean;
  /** The folder started in (workspace-relative, default the root): targets are read from there (selectTracked). */
  cwd?: string;
  /** Where progress goes (stderr), and whether that is a terminal. */
  progress?: ProgressOut;
  env?: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  log?: Logger;
  /** Asks for the password of a remote with `ask_password` (a terminal); without it such a remote is refused. */
  askPassword?: PasswordPrompt;
}

// ------------------------------------------------------------ configuration

/** `.dvc/config` and `.dvc/config.local` kept apart (secrets may come only from the latter), and the environment. */
export function remoteConfigInput(root: string, env: Readonly<Record<string, string | undefined>> = process.env): RemoteConfigInput {
  return { ...readDvcConfigFiles(root), env, dvcDir: path.join(root, '.dvc') };
}

/** The adapter for a configured remote: the one place remotes are constructed. */
export function openRemote(spec: RemoteSpec, opts: { root?: string } = {}): RemoteStore {
  switch (spec.kind) {
    case 'local':
      return new LocalRemote(spec.path);
    case 's3':
      // the workspace keeps the multipart uploads it has under way, so that the next push aborts those a kill left behind
      return new S3Remote(spec, opts.root === undefined ? {} : { journalDir: path.join(opts.root, '.dvc', 'tmp', 'reprod', 'uploads') });
    case 'http':
      return new HttpRemote(spec);
    case 'ssh':
      return new SshRemote(spec);
    case 'azure':
      return new AzureRemote(spec);
    case 'gs':
      return new GsRemote(spec);
  }
}

// ------------------------------------------------------------ what is tracked

export { findDvcFiles, loadTracked, type TrackedData } from './tracked-data.js';

// ------------------------------------------------------------ plumbing

/** Outputs grouped by the remote they go to: `-r`, else their own `remote:`, else the default (''). */
function byRemote(outs: readonly TrackedOut[], explicit: string | undefined, withDefault: boolean): Map<string, TrackedOut[]> {
  const groups = new Map<string, TrackedOut[]>();
  if (withDefault) groups.set(explicit ?? '', []);
  for (const o of outs) {
    const name = explicit ?? o.remote ?? '';
    groups.set(name, [...(groups.get(name) ?? []), o]);
  }
  return groups;
}

interface Opened {
  spec: RemoteSpec;
  remote: RemoteStore;
  jobs: number;
}

async function withRemote<T>(root: string, name: string, opts: DataCommandOptions, fn: (r: Opened) => Promise<T>): Promise<T> {
  const spec = await withAskedPassword(resolveRemote(remoteConfigInput(root, opts.env), name === '' ? undefined : name), opts.askPassword);
  const remote = openRemote(spec, { root });
  try {
    return await fn({ spec, remote, jobs: opts.jobs ?? spec.jobs ?? defaultJobs(availableParallelism()) });
  } finally {
    remote.close();
  }
}

function progressFor(label: string, opts: DataCommandOptions): Progress {
  const tty = opts.progress?.tty ?? false;
  const bar = barFor(opts.progress, label);
  return new Progress({ label, write: opts.progress?.write ?? (() => undefined), tty, ...(bar ? { bar } : {}), clock: systemClock });
}

function selected(data: TrackedData, targets: readonly string[], opts: DataCommandOptions): TrackedOut[] {
  return selectTracked(data.outs, data.select, targets, { withDeps: opts.withDeps === true, cwd: opts.cwd });
}

// ------------------------------------------------------------ commands

export interface TransferSummary {
  moved: number;
  failed: Failure[];
  /** Outputs that cannot be moved at all (DVC 2 hashes). */
  skipped: SkippedOut[];
  /** See SyncResult.notes. */
  notes?: string[];
}

/** `reprod push`: what the remote lacks of the targets' outputs (all when none). */
export async function pushData(root: string, targets: readonly string[], opts: DataCommandOptions = {}): Promise<TransferSummary> {
  return withProject(root, opts.log, async (project) => {
    const data = await loadTracked(project);
    const outs = selected(data, targets, opts);
    let moved = 0;
    const failed: Failure[] = [];
    const notes: string[] = [];
    for (const [name, group] of byRemote(outs, opts.remote, opts.runCache === true)) {
      await withRemote(project.root, name, opts, async ({ remote, jobs }) => {
        const ctx = { cache: project.cache, remote, jobs, progress: progressFor('push', opts), ...(opts.signal ? { signal: opts.signal } : {}) };
        const res = await pushObjects(ctx, group, { runCache: opts.runCache === true && name === (opts.remote ?? '') });
        moved += res.moved;
        failed.push(...res.failed);
        notes.push(...(res.notes ?? []));
      });
    }
    for (const n of notes) opts.log?.info({ note: n }, 'push');
    return { moved, failed, skipped: data.skipped, ...(notes.length ? { notes } : {}) };
  });
}

async function fetchSelected(
  project: Project,
  outs: readonly TrackedOut[],
  opts: DataCommandOptions & { runCacheObjects?: boolean },
): Promise<{ moved: number; failed: Failure[]; listings: Listings }> {
  let moved = 0;
  const failed: Failure[] = [];
  const listings: Listings = new Map();
  for (const [name, group] of byRemote(outs, opts.remote, opts.runCache === true)) {
    await withRemote(project.root, name, opts, async ({ remote, jobs }) => {
      const ctx = { cache: project.cache, remote, jobs, progress: progressFor('fetch', opts), ...(opts.signal ? { signal: opts.signal } : {}) };
      const res = await fetchObjects(ctx, group, {
        runCache: opts.runCache === true && name === (opts.remote ?? ''),
        ...(opts.runCacheObjects === false ? { runCacheObjects: false } : {}),
      });
      moved += res.moved;
      failed.push(...res.failed);
      for (const [oid, rows] of res.listings) if (rows) listings.set(oid, rows);
    });
  }
  return { moved, failed, listings };
}

/** `reprod fetch`: what the cache lacks of the targets' outputs, verified. */
export async function fetchData(root: string, targets: readonly string[], opts: DataCommandOptions = {}): Promise<TransferSummary> {
  return withProject(root, opts.log, async (project) => {
    const data = await loadTracked(project);
    const { moved, failed } = await fetchSelected(project, selected(data, targets, opts), opts);
    return { moved, failed, skipped: data.skipped };
  });
}

export interface PullSummary extends TransferSummary {
  added: string[];
  modified: string[];
}

/** A checkout failure of an output whose objects already failed to fetch says nothing new. */
function alreadyReported(f: Failure, fetchFailed: readonly Failure[]): boolean {
  return fetchFailed.some((x) => x.name === f.name || x.name.startsWith(`${f.name}/`) || f.name.startsWith(`${x.name}/`));
}

async function pullSelected(project: Project, outs: readonly TrackedOut[], opts: DataCommandOptions): Promise<{ moved: number; failed: Failure[] } & Omit<CheckoutResult, 'failed'>> {
  const fetched = await fetchSelected(project, outs, opts);
  const checkout = await checkoutTracked({ hasher: project.hasher, cache: project.cache, store: project.cache, ws: project.ws }, outs, fetched.listings, {
    force: opts.force === true,
  });
  await project.hasher.flush();
  return {
    moved: fetched.moved,
    added: checkout.added,
    modified: checkout.modified,
    failed: [...fetched.failed, ...checkout.failed.filter((f) => !alreadyReported(f, fetched.failed))],
  };
}

/** `reprod pull`: fetch, then check out the targets' outputs into the workspace. */
export async function pullData(root: string, targets: readonly string[], opts: DataCommandOptions = {}): Promise<PullSummary> {
  return withProject(root, opts.log, async (project) => {
    const data = await loadTracked(project);
    const res = await pullSelected(project, selected(data, targets, opts), opts);
    return { ...res, skipped: data.skipped };
  });
}

/** `reprod status --cloud`: the remote's name (for the in-sync message) and each object's state. */
export async function cloudStatusData(root: string, targets: readonly string[], opts: DataCommandOptions = {}): Promise<{ remote: string; status: Map<string, CloudState> }> {
  return withProject(root, opts.log, async (project) => {
    const data = await loadTracked(project);
    const outs = selected(data, targets, opts);
    const status = new Map<string, CloudState>();
    const input = remoteConfigInput(project.root, opts.env);
    const shown = opts.remote ?? defaultRemoteName(input) ?? '';
    for (const [name, group] of byRemote(outs, opts.remote, outs.length === 0)) {
      await withRemote(project.root, name, opts, async ({ remote, jobs }) => {
        const res = await cloudStatusOf({ cache: project.cache, remote, jobs, ...(opts.signal ? { signal: opts.signal } : {}) }, group);
        for (const [k, v] of res) if (!status.has(k)) status.set(k, v);
      });
    }
    return { remote: shown, status };
  });
}

export interface GcSummary {
  /** Cache keys removed (or, in a dry run, that would be). */
  cache: string[];
  kept: number;
  /** Temporary files left by interrupted writes, removed (or, in a dry run, that would be); see leftovers.ts. */
  leftovers: Leftovers;
  /** With `cloud`: the remote's keys likewise. */
  remote?: { display: string; keys: string[]; kept: number };
}

/**
 * `reprod gc`: cache objects that neither dvc.lock nor a `.dvc` file uses
 * (DVC's `gc -w`); with `cloud`, the remote's as well. Removes only with
 * `force`; otherwise reports what would go.
 */
export async function gcData(root: string, opts: DataCommandOptions & { cloud?: boolean } = {}): Promise<GcSummary> {
  return withProject(root, opts.log, async (project) => {
    const data = await loadTracked(project);
    const store = project.cache;
    const input = remoteConfigInput(project.root, opts.env);
    const hasRemote = opts.remote !== undefined || defaultRemoteName(input) !== undefined;
    const run = async (remote: RemoteStore | undefined, jobs: number): Promise<GcSummary> => {
      const used = await usedOids(data.outs, (oid) => readListingAnywhere(store, remote, oid));
      const local = await planCacheGc(store, used);
      if (opts.force) await store.delete(local.remove);
      const leftovers = await cleanLeftovers(project, { dryRun: opts.force !== true, ...(opts.log ? { log: opts.log } : {}) });
      const summary: GcSummary = { cache: local.remove, kept: local.kept, leftovers };
      if (opts.cloud && remote) {
        const onRemote = await planRemoteGc(remote, used, opts.signal);
        if (opts.force) await remote.delete(onRemote.remove, { jobs });
        summary.remote = { display: remote.display, keys: onRemote.remove, kept: onRemote.kept };
      }
      return summary;
    };
    if (!opts.cloud && !hasRemote) return run(undefined, 1);
    return withRemote(project.root, opts.remote ?? '', opts, ({ remote, jobs }) => run(remote, jobs));
  });
}

/**
 * Pull-before-run for `repro --pull` and the daemon: fetches and checks out
 * whatever `paths` (stage deps or outs, `.dvc` data) are recorded as, from
 * their remote. Best effort: paths nothing records are ignored, and failures
 * are logged, not thrown — the stage then runs, or fails on its missing
 * input, as it would have without a remote.
 */
export function remotePuller(project: Project, opts: DataCommandOptions = {}): (paths: readonly string[]) => Promise<void> {
  return async (paths) => {
    const data = await loadTracked(project);
    const outs: TrackedOut[] = [];
    for (const p of paths) {
      try {
        outs.push(...selectTracked(data.outs, data.select, [p]));
      } catch (e) {
        if (!(e instanceof ReprodError && e.code === 'STAGE_NOT_FOUND')) throw e;
      }
    }
    if (outs.length === 0) return;
    try {
      const res = await pullSelected(project, outs, opts);
      for (const f of res.failed) opts.log?.warn({ path: f.name, reason: f.reason }, 'could not pull');
    } catch (e) {
      if (!(e instanceof ReprodError)) throw e;
      opts.log?.warn({ paths, error: e.message }, 'could not pull');
    }
  };
}

/** `repro --pull` with the run-cache: the remote's run-cache entries, best effort (DVC warns and goes on). */
export async function pullRunCache(project: Project, opts: DataCommandOptions = {}): Promise<void> {
  try {
    await fetchSelected(project, [], { ...opts, runCache: true, runCacheObjects: false });
  } catch (e) {
    if (!(e instanceof ReprodError)) throw e;
    opts.log?.warn({ error: e.message }, 'could not pull the run-cache');
  }
}
