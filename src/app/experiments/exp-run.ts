import { createHash } from 'node:crypto';
import { cpSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ReprodError } from '../../core/errors.js';
import { errorMessage } from '../../core/errno.js';
import { systemClock, type Clock, type Logger } from '../../core/ports.js';
import type { Pipeline } from '../../core/types.js';
import { checkExpName, generateExpName, sweepNames } from '../../experiments/exp-refs.js';
import type { ExpState } from '../../experiments/exp-table.js';
import { sharedStages } from '../../experiments/shared-stages.js';
import { parseOverride, sweepGrid, sweepValueText, type Assignment } from '../../experiments/sweep.js';
import type { StageDecision } from '../../reconcile/outcome.js';
import { buildEngine } from '../engine.js';
import { lockFileOf } from '../../pipeline/stage-address.js';
import { DVC_LOCK, loadSpec, selectRuntime, withProject, type CacheOverride, type RuntimeMode } from '../project.js';
import type { TrackingService } from '../tracking.js';
import { ExpStore, RUN_DIR, type ExpRecord } from './exp-store.js';
import { PhaseTimes } from './exp-timings.js';
import { assembleWorkspace, codeFiles, experimentCache, readOptionalText, sha256File, type WorkspaceSnapshot } from './exp-workspace.js';

/**
 * `reprod exp run`: each experiment of the -S grid in its own workspace
 * (exp-workspace.ts), up to `jobs` at once, each a pass of the one engine
 * (buildEngine / Reconciler.runOnce, so tracking hooks apply). Stages no
 * experiment changes run once first, in the first experiment's workspace,
 * and the others start from its dvc.lock and outputs. Results go to the main
 * cache (shared), and each finished experiment is saved (exp-store.ts). The
 * main workspace is only read, under its lock, while the first workspace is
 * assembled; cancelling (the signal) or a failure leaves it as it was.
 */

export interface ExpRunOptions {
  root: string;
  runtime: RuntimeMode;
  log: Logger;
  /** `-S` texts. */
  set: string[];
  name?: string;
  jobs: number;
  /** Only queue them (`--queue`). */
  queue?: boolean;
  /** Run the queued experiments (`--run-all`). */
  runAll?: boolean;
  signal?: AbortSignal;
  clock?: Clock;
  /** Runs `fn` holding the main workspace's lock (the CLI's writing-command lock). */
  withMainLock<T>(fn: () => Promise<T>): Promise<T>;
  onEvent?(e: ExpEvent): void;
}

export type ExpEvent =
  | { kind: 'queued'; name: string; overrides: string[] }
  | { kind: 'shared'; stages: string[] }
  | { kind: 'started'; name: string; overrides: string[] }
  | { kind: 'decision'; name: string; decision: StageDecision }
  | { kind: 'finished'; name: string; state: ExpState | 'cancelled'; error?: string; logs?: string };

export interface ExpResult {
  name: string;
  state: ExpState | 'cancelled';
  decisions: StageDecision[];
  error?: ReprodError;
}

interface Planned {
  name: string;
  assignments: Assignment[];
  overrides: string[];
}

function overrideTexts(assignments: readonly Assignment[]): string[] {
  return assignments.map((a) => `${a.file === 'params.yaml' ? '' : `${a.file}:`}${a.add ? '+' : ''}${a.key}=${sweepValueText(a.value)}`);
}

/** The experiments to run: the -S grid, named by -n (numbered when several) or generated names. */
function plan(store: ExpStore, o: ExpRunOptions, clock: Clock): Planned[] {
  const grid = sweepGrid(o.set.map((s) => parseOverride(s)));
  const taken = store.names();
  const names = o.name !== undefined ? sweepNames(o.name, grid.length) : [];
  const stamp = clock.now().toISOString();
  return grid.map((assignments, i) => {
    const overrides = overrideTexts(assignments);
    let name = names[i];
    if (name !== undefined) {
      checkExpName(name);
      if (taken.has(name)) throw new ReprodError('USAGE', `an experiment named '${name}' exists`, { remedy: `Pick another -n, or remove it first: reprod exp remove ${name}` });
    } else {
      name = generateExpName(createHash('sha256').update(`${stamp}\0${i}\0${overrides.join('\0')}`).digest('hex'), taken);
    }
    taken.add(name);
    return { name, assignments, overrides };
  });
}

export async function runExperiments(o: ExpRunOptions): Promise<ExpResult[]> {
  const clock = o.clock ?? systemClock;
  const root = path.resolve(o.root);
  const store = new ExpStore(root);
  const baseline = store.baseline();
  const record = (p: Planned, state: ExpState, extra: Partial<ExpRecord> = {}): ExpRecord => ({
    name: p.name,
    baseline,
    state,
    created: clock.now().toISOString(),
    overrides: p.overrides,
    changed: [],
    baselineFiles: {},
    ...extra,
  });
  let planned: Planned[];
  if (o.runAll) {
    planned = store
      .list()
      .filter((f) => f.record.state === 'queued')
      .map((f) => ({ name: f.record.name, overrides: f.record.overrides, assignments: sweepGrid(f.record.overrides.map((s) => parseOverride(s)))[0] ?? [] }));
    if (planned.length === 0) return [];
  } else {
    planned = plan(store, o, clock);
  }
  if (o.queue) {
    for (const p of planned) {
      store.writeRecord(record(p, 'queued'));
      o.onEvent?.({ kind: 'queued', name: p.name, overrides: p.overrides });
    }
    return planned.map((p) => ({ name: p.name, state: 'queued', decisions: [] }));
  }
  const times = new PhaseTimes();
  const cache = experimentCache(root);
  const dirOf = (p: Planned) => path.join(root, RUN_DIR, p.name);
  const spec = await times.time('spec', () => loadSpec(root));
  const pipeline = spec.pipeline;
  const shared = planned.length > 1 ? sharedStages(pipeline.stages, planned.map((p) => p.assignments)) : [];
  const [first, ...rest] = planned;
  if (!first) return [];
  const { openTracking } = await import('../tracking.js');
  await using tracking = await times.time('tracking-open', () => openTracking({ root, log: o.log }));
  // tracked files edited but not committed belong to the experiment too (DVC takes the workspace as it is)
  const changedPaths = [...new Set([...changedFilesOf(pipeline, planned), ...(store.git?.modifiedFiles() ?? [])])].sort();
  // the main workspace, read once under its lock: the daemon may not be mid-pass while it is copied
  // workspaces are assembled side by side: each one's links and state records wait on the disk, not on the others
  const assembleAll = (list: readonly Planned[], source: string, snap: WorkspaceSnapshot, lockText: string | undefined) =>
    times.time('assemble', () =>
      Promise.all(list.map((p) => assembleWorkspace({ source, dest: dirOf(p), snapshot: snap, ...(lockText !== undefined ? { lockText } : {}), assignments: p.assignments, pipeline, cache, log: o.log }))),
    );
  const { snapshot, baselineFiles } = await times.time('main-snapshot', () => o.withMainLock(async () => {
    const snap: WorkspaceSnapshot = { files: codeFiles(root, pipeline, store.git), lockText: readOptionalText(path.join(root, DVC_LOCK)), params: new Map() };
    for (const p of planned) for (const a of p.assignments) if (!snap.params.has(a.file)) snap.params.set(a.file, readOptionalText(path.join(root, a.file)) ?? '');
    const hashes: Record<string, string | null> = {};
    for (const f of changedPaths) hashes[f] = sha256File(path.join(root, f));
    // with stages to share, the others are assembled after those ran, from the first workspace
    await assembleAll(shared.length > 0 ? [first] : planned, root, snap, undefined);
    return { snapshot: snap, baselineFiles: hashes };
  }));
  const started = new Map<string, number>();
  const results: ExpResult[] = [];
  const removals: Promise<void>[] = [];
  const finish = (p: Planned, res: ExpResult) => {
    results.push(res);
    const durationMs = clock.now().getTime() - (started.get(p.name) ?? clock.now().getTime());
    if (res.state === 'success') {
      times.timeSync('save', () => store.writeRecord(saveResult(store, p, dirOf(p), pipeline, record(p, 'success', { durationMs, baselineFiles }), changedPaths, clock)));
    } else if (res.state === 'failed') {
      const logs = keepLogs(store, p.name, dirOf(p));
      store.writeRecord(record(p, 'failed', { durationMs, error: { type: res.error?.code ?? 'RUNTIME', msg: res.error?.message ?? 'failed' } }));
      o.onEvent?.({ kind: 'finished', name: p.name, state: res.state, error: res.error?.format() ?? 'failed', ...(logs ? { logs } : {}) });
    }
    if (res.state !== 'failed') o.onEvent?.({ kind: 'finished', name: p.name, state: res.state });
    // its workspace goes as soon as its results are saved, while the other experiments run
    removals.push(times.time('cleanup', () => rm(dirOf(p), { recursive: true, force: true })));
  };
  const pass = (p: Planned, scope: readonly string[] | undefined) =>
    runPass({ root: dirOf(p), cache, runtime: o.runtime, log: o.log, tracking, times, scope, signal: o.signal, onDecision: (d) => o.onEvent?.({ kind: 'decision', name: p.name, decision: d }) });
  try {
    if (shared.length > 0) {
      o.onEvent?.({ kind: 'shared', stages: shared });
      started.set(first.name, clock.now().getTime());
      const decisions = await pass(first, shared);
      const bad = verdict(decisions, o.signal);
      if (bad.state !== 'success') {
        for (const p of planned) finish(p, { name: p.name, decisions, ...bad });
        return results;
      }
      // the others start from the first workspace before it goes on: the shared stages' outputs are linked, not rerun
      const lockText = readOptionalText(path.join(dirOf(first), DVC_LOCK));
      await assembleAll(rest, dirOf(first), snapshot, lockText);
    }
    const queue = [first, ...rest];
    const worker = async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        if (o.signal?.aborted) {
          finish(p, { name: p.name, state: 'cancelled', decisions: [] });
          continue;
        }
        o.onEvent?.({ kind: 'started', name: p.name, overrides: p.overrides });
        if (!started.has(p.name)) started.set(p.name, clock.now().getTime());
        let res: ExpResult;
        try {
          const decisions = await pass(p, undefined);
          res = { name: p.name, decisions, ...verdict(decisions, o.signal) };
        } catch (e) {
          res = { name: p.name, decisions: [], state: 'failed', error: e instanceof ReprodError ? e : new ReprodError('RUNTIME', errorMessage(e), { cause: e }) };
        }
        finish(p, res);
      }
    };
    const workers = Array.from({ length: Math.max(1, Math.min(o.jobs, planned.length)) }, () => worker());
    await Promise.all(workers);
    return results;
  } finally {
    await Promise.allSettled(removals);
    times.timeSync('cleanup', () => {
      for (const p of planned) rmSync(dirOf(p), { recursive: true, force: true });
    });
    times.report(o.log, 'exp run: time per phase');
  }
}

function verdict(decisions: readonly StageDecision[], signal: AbortSignal | undefined): { state: ExpResult['state']; error?: ReprodError } {
  const failed = decisions.find((d): d is Extract<StageDecision, { action: 'failed' }> => d.action === 'failed');
  if (failed) return { state: 'failed', error: failed.error };
  const blocked = decisions.find((d) => d.action === 'blocked');
  if (decisions.some((d) => d.action === 'cancelled') || signal?.aborted) return { state: 'cancelled' };
  if (blocked) return { state: 'failed', error: new ReprodError('CMD_FAILED', `stage '${blocked.stage}' did not run: an upstream stage failed`) };
  return { state: 'success' };
}

/** What an experiment changes in the main workspace's terms: its params files, every dvc.lock (a nested dvc.yaml's too), the uncached outputs. */
function changedFilesOf(pipeline: Pipeline, planned: readonly Planned[]): string[] {
  const files = new Set<string>([DVC_LOCK, ...pipeline.stages.map((s) => lockFileOf(s.source.file))]);
  for (const p of planned) for (const a of p.assignments) files.add(a.file);
  for (const s of pipeline.stages) for (const out of s.outs) if (!out.cache) files.add(out.path);
  return [...files].sort();
}

function saveResult(store: ExpStore, p: Planned, dir: string, pipeline: Pipeline, rec: ExpRecord, changedPaths: readonly string[], clock: Clock): ExpRecord {
  const present = changedPaths.filter((f) => existsSync(path.join(dir, f)));
  const files = new Map(present.map((f) => [f, readFileSync(path.join(dir, f))]));
  const withSpec = new Map(files);
  for (const f of ['dvc.yaml', ...pipeline.stages.map((s) => s.source.file), ...pipeline.stages.flatMap((s) => s.params.map((x) => x.path)), 'params.yaml']) {
    if (!withSpec.has(f) && existsSync(path.join(dir, f))) withSpec.set(f, readFileSync(path.join(dir, f)));
  }
  const lock = files.get(DVC_LOCK);
  const expHash = createHash('sha256').update(lock ?? '').digest('hex');
  if (store.git) {
    // DVC's commit message; the tree is the baseline's with the experiment's files over it
    const commit = store.git.save({ baseline: rec.baseline, name: p.name }, files, `dvc: commit experiment ${expHash}`, clock.now(), false);
    return { ...rec, commit, changed: present };
  }
  const target = store.filesDir(p.name);
  rmSync(target, { recursive: true, force: true });
  for (const [f] of withSpec) cpSync(path.join(dir, f), path.join(target, f));
  return { ...rec, changed: present };
}

/** A failed experiment's stage logs, kept next to its record (its workspace is removed). */
function keepLogs(store: ExpStore, name: string, dir: string): string | undefined {
  const logs = path.join(dir, 'status', 'logs');
  if (!existsSync(logs)) return undefined;
  const to = path.join(path.dirname(store.filesDir(name)), 'logs');
  rmSync(to, { recursive: true, force: true });
  cpSync(logs, to, { recursive: true });
  return path.relative(store.root, to);
}

interface PassOptions {
  root: string;
  cache: CacheOverride;
  runtime: RuntimeMode;
  log: Logger;
  tracking: TrackingService;
  times: PhaseTimes;
  scope: readonly string[] | undefined;
  signal: AbortSignal | undefined;
  onDecision(d: StageDecision): void;
}

/** One pass of the engine in an experiment's workspace, as `reprod repro` runs one. */
async function runPass(o: PassOptions): Promise<StageDecision[]> {
  const t = o.times;
  const opened = performance.now();
  return withProject(
    o.root,
    o.log,
    async (project) => {
      t.add('pass:open', performance.now() - opened);
      const spec = await t.time('pass:spec', () => loadSpec(project.root));
      const selected = await t.time('pass:runtime', () => selectRuntime(project, spec, o.runtime, o.log));
      const starts = new Map<string, number>();
      let lastEnd = 0;
      const { reconciler } = await t.time('pass:engine', () => buildEngine({
        project,
        selected,
        log: o.log,
        spec: () => spec,
        loadSpec: () => spec,
        tracking: o.tracking,
        flushTrackingMs: 5_000,
        hooks: {
          stageDecided: (d) => o.onDecision(d),
          stageStarting: async (stage) => {
            starts.set(stage.name, performance.now());
            return {};
          },
          stageFinished: async (stage) => {
            lastEnd = performance.now();
            const begun = starts.get(stage.name);
            if (begun !== undefined) t.add('pass:stage', lastEnd - begun);
            return {};
          },
        },
        reconciler: { maxParallel: 1, resyncMs: 0 },
      }));
      if (selected.docker) reconciler.setEngine(true, '');
      const scope = new Set(o.scope ?? spec.pipeline.stages.map((s) => s.name));
      const summary = await t.time('pass:run', () => reconciler.runOnce({ scope }, o.signal));
      // what the pass does once its stages ended: status, dvc.lock, tracking's flush
      if (lastEnd > 0) t.add('pass:after-stages', performance.now() - lastEnd);
      return summary.decisions;
    },
    o.cache,
  );
}
