import { availableParallelism } from 'node:os';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ReprodError } from '../core/errors.js';
import type { Logger, RemoteStore } from '../core/ports.js';
import type { LockStage, Stage } from '../core/types.js';
import { runCacheKey, runCacheSkipReason } from '../lock/run-cache.js';
import { selectStages } from '../pipeline/dag.js';
export { parseTaskSources } from '../export/task-spec.js';
import { objectKey } from '../remote/layout.js';
import { completeRemoteEntry, remoteRunEntries } from '../remote/remote-runs.js';
import { defaultJobs, resolveRemote } from '../remote/remote-config.js';
import { withAskedPassword } from '../remote/ask-password.js';
import { observeStage } from '../reconcile/observe.js';
import { lockEntryFromObserved } from '../reconcile/stage-steps.js';
import { reproOnce } from './oneshot.js';
import { loadSpec, withProject, type Project } from './project.js';
import { openRemote, pushData, remoteConfigInput, remotePuller } from './remotes.js';

/**
 * One stage as a task that shares nothing with the workspace but the DVC
 * remote (`reprod stage-run STAGE`, what every `--data remote` task runs):
 *
 *   scratch ◄─ .dvc/config, source files by md5 (REPROD_SOURCES)
 *      │
 *   upstream stages, in DVC's order: inputs hashed ─► run-cache key ─►
 *      the remote's entry (runs/xx/key/value) ─► its outputs fetched by hash
 *      │
 *   this stage: the remote has an entry for these inputs? ─► nothing runs
 *      │ no
 *   the command, here (the task's container is the stage's image) ─►
 *      outputs hashed, cached ─► pushed with the run-cache entry
 *
 * An upstream stage is never run here: it is another task's work, and its
 * missing entry is an error (`RUN_CACHE_MISS`), which Airflow reports on this
 * task (its upstream task did not run, or ran elsewhere against another remote).
 * The workspace takes the results with `reprod pull --run-cache` and a
 * `reprod repro`, which restores instead of running.
 */
export interface StageTaskOptions {
  stage: string;
  /** The workspace's `.dvc/config` (which names the remote; secrets never are in it). */
  dvcConfig: string;
  /** Every file the pipeline reads that no stage writes (dvc.yaml, params, code): path → md5. */
  sources: Readonly<Record<string, string>>;
  /** Where the task-local scratch workspace is made (a new folder inside; default the system's temporary folder). Removed afterwards unless `keep`. */
  scratchParent?: string;
  keep?: boolean;
  env?: Readonly<Record<string, string | undefined>>;
  log: Logger;
}

export type StageTaskResult =
  | { kind: 'cached'; stage: string; entry: LockStage }
  | { kind: 'ran'; stage: string; pushed: number }
  | { kind: 'failed'; stage: string; error: ReprodError };

/** Fetches each source by md5 into the scratch workspace, verified. */
async function fetchSources(remote: RemoteStore, root: string, sources: Readonly<Record<string, string>>): Promise<void> {
  for (const [rel, md5] of Object.entries(sources)) {
    const dest = path.join(root, rel);
    await mkdir(path.dirname(dest), { recursive: true });
    const tmp = `${dest}.reprod-tmp`;
    const got = await remote.get(objectKey(md5), tmp);
    if (got === null) {
      throw new ReprodError('DEP_MISSING', `${remote.display}: source '${rel}' (md5 ${md5}) is not on the remote`, {
        remedy: 'Run `reprod export` again in the workspace: it pushes the sources the DAG names.',
      });
    }
    if (got.md5 !== md5) {
      await rm(tmp, { force: true });
      throw new ReprodError('TRANSFER', `${remote.display}: source '${rel}' arrived with md5 ${got.md5}, not ${md5}`);
    }
    await rename(tmp, dest);
  }
}

/** The stage's inputs as dvc.lock records them, observed in the scratch workspace (every dep must be there). */
async function inputsOf(project: Project, stage: Stage): Promise<LockStage> {
  const obs = await observeStage({ ws: project.ws, hasher: project.hasher, cache: project.cache }, stage, undefined);
  return lockEntryFromObserved(stage, obs, false);
}

function keyOf(stage: Stage, inputs: LockStage): string {
  return runCacheKey({ ...inputs, outs: stage.outs.map((o) => ({ path: o.defPath })) });
}

/**
 * Brings every upstream stage's outputs into the scratch workspace from the
 * remote's run-cache, and says whether the stage itself is recorded there.
 */
async function materialize(project: Project, opts: StageTaskOptions, remote: RemoteStore, jobs: number): Promise<LockStage | undefined> {
  const spec = loadSpec(project.root);
  const chain = selectStages(spec.dag, [opts.stage]);
  const target = chain[chain.length - 1] as Stage;
  const pull = remotePuller(project, { log: opts.log, ...(opts.env ? { env: opts.env } : {}) });
  for (const stage of chain.slice(0, -1)) {
    const inputs = await inputsOf(project, stage);
    const skip = runCacheSkipReason(stage, inputs);
    if (skip) {
      throw new ReprodError('RUN_CACHE_MISS', `stage '${stage.name}' (upstream of '${target.name}') cannot be taken from the run-cache: ${skip}`, {
        source: stage.source,
        remedy: 'In --data remote every stage a task depends on must be one DVC records in its run-cache (a command, deps and cached outs); run the pipeline in the workspace instead.',
      });
    }
    const entry = await completeRemoteEntry(remote, await remoteRunEntries(remote, keyOf(stage, inputs)), jobs);
    if (!entry) {
      throw new ReprodError('RUN_CACHE_MISS', `stage '${stage.name}' (upstream of '${target.name}'): ${remote.display} has no run-cache entry for its inputs`, {
        source: stage.source,
      });
    }
    await project.lockStore.commit(stage.name, { ...inputs, outs: entry.outs });
    await pull(stage.outs.filter((o) => o.cache).map((o) => o.path));
    // `cache: false` metrics and plots are on the remote only by the run-cache: fetched by their md5
    for (const out of stage.outs.filter((o) => !o.cache)) {
      const md5 = entry.outs.find((o) => o.path === out.defPath)?.md5;
      if (md5 !== undefined && !md5.endsWith('.dir')) {
        await mkdir(path.dirname(path.join(project.root, out.path)), { recursive: true });
        await remote.get(objectKey(md5), path.join(project.root, out.path));
      }
    }
    for (const out of stage.outs) {
      const md5 = entry.outs.find((o) => o.path === out.defPath)?.md5;
      const now = await project.hasher.hash(out.path);
      if (now?.info.md5 !== md5) {
        throw new ReprodError('TRANSFER', `output '${out.path}' of '${stage.name}' could not be fetched from ${remote.display} (md5 ${md5 ?? 'none'})`, {
          source: stage.source,
        });
      }
    }
  }
  const inputs = await inputsOf(project, target);
  if (runCacheSkipReason(target, inputs)) return undefined;
  return completeRemoteEntry(remote, await remoteRunEntries(remote, keyOf(target, inputs)), jobs);
}

/** Runs one stage as a task (see the module comment). A failure of the stage's own command is a result, not a throw. */
export async function runStageTask(opts: StageTaskOptions): Promise<StageTaskResult> {
  const root = await mkdtemp(path.join(opts.scratchParent ?? os.tmpdir(), 'reprod-task-'));
  try {
    await mkdir(path.join(root, '.dvc'), { recursive: true });
    await writeFile(path.join(root, '.dvc', 'config'), opts.dvcConfig);
    const env = opts.env ?? process.env;
    // a task runs unattended: a remote with ask_password is refused with the way to store the password
    const spec = await withAskedPassword(resolveRemote(remoteConfigInput(root, env)), undefined);
    const remote = openRemote(spec);
    const jobs = spec.jobs ?? defaultJobs(availableParallelism());
    let hit: LockStage | undefined;
    try {
      await fetchSources(remote, root, opts.sources);
      hit = await withProject(root, opts.log, async (project) => {
        const found = await materialize(project, opts, remote, jobs);
        await project.hasher.flush();
        return found;
      });
    } finally {
      remote.close();
    }
    if (hit) {
      opts.log.info({ stage: opts.stage }, 'the remote run-cache has these inputs: nothing runs');
      return { kind: 'cached', stage: opts.stage, entry: hit };
    }
    const decisions = await reproOnce({ root, runtime: 'host', log: opts.log, lockHeld: true }, { targets: [opts.stage], single: true });
    for (const d of decisions) {
      if (d.action === 'failed') return { kind: 'failed', stage: d.stage, error: d.error };
      if (d.action === 'cancelled' || d.action === 'blocked') {
        return { kind: 'failed', stage: d.stage, error: new ReprodError('CMD_FAILED', `stage '${d.stage}' did not run (${d.action})`) };
      }
    }
    const pushed = await pushData(root, [opts.stage], { runCache: true, log: opts.log, env });
    if (pushed.failed.length > 0) {
      const f = pushed.failed[0] as { name: string; reason: string };
      throw new ReprodError('TRANSFER', `could not push '${f.name}' of '${opts.stage}': ${f.reason} (${pushed.failed.length} failed)`);
    }
    return { kind: 'ran', stage: opts.stage, pushed: pushed.moved };
  } finally {
    if (!opts.keep) await rm(root, { recursive: true, force: true });
  }
}
