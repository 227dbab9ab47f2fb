import { ReprodError } from '../core/errors.js';
import type { Lockfile, Stage } from '../core/types.js';
import type { DvcFile } from '../pipeline/dvc-file.js';
import { selectStages, type Dag } from '../pipeline/dag.js';
import { stageNames, unknownStage } from '../pipeline/stage-names.js';
import { dataTarget } from '../pipeline/stage-address.js';

/**
 * One cached output that a remote can hold: a pipeline output recorded in
 * dvc.lock, or an output of a `.dvc` file.
 */
export interface TrackedOut {
  /** Workspace-relative path: the name DVC reports. */
  path: string;
  /** md5 as dvc.lock writes it (`….dir` for a directory). */
  oid: string;
  /** The stage name, or the `.dvc` file, that records it. */
  owner: string;
  /** false for `push: false` outputs: pulled, never pushed. */
  push: boolean;
  /** The output's own `remote:`, used when no `-r` is given. */
  remote?: string;
  /** Granular target inside a directory output: the relpath (or folder) selected. */
  only?: string;
  /**
   * Objects named only by run-cache entries: their absence is not an error
   * (DVC keeps entries whose outputs were garbage-collected).
   */
  optional?: boolean;
}

/** An output that cannot be moved, and why (reported, not fatal). */
export interface SkippedOut {
  path: string;
  owner: string;
  reason: string;
}

/**
 * Every cached output of the workspace: `.dvc` files first (by path), then
 * the pipeline's stages in dvc.yaml order, each stage's outputs in the order
 * it lists them. That order decides which name an object shared by two paths
 * is reported under (the first). Outputs with `cache: false`, stages never
 * run (no dvc.lock entry) and outputs never committed are left out; DVC 2
 * hashes (no `hash: md5`) live in the legacy layout reprod does not move.
 */
export function trackedOuts(stages: readonly Stage[], lock: Lockfile, dvcFiles: readonly DvcFile[]): { outs: TrackedOut[]; skipped: SkippedOut[] } {
  const outs: TrackedOut[] = [];
  const skipped: SkippedOut[] = [];
  const legacy = (path: string, owner: string) =>
    skipped.push({ path, owner, reason: 'recorded by DVC 2 (no `hash: md5`): its objects use the legacy layout, which reprod does not transfer' });
  for (const f of [...dvcFiles].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    for (const o of f.outs) {
      if (!o.cache || o.md5 === undefined) continue;
      if (o.legacy) {
        legacy(o.path, f.file);
        continue;
      }
      outs.push({ path: o.path, oid: o.md5, owner: f.file, push: o.push, ...(o.remote !== undefined ? { remote: o.remote } : {}) });
    }
  }
  for (const stage of stages) {
    const entry = lock.stages.get(stage.name);
    if (!entry) continue;
    for (const out of stage.outs) {
      if (!out.cache) continue;
      const locked = entry.outs.find((o) => o.path === out.defPath);
      if (!locked) continue;
      if (locked.hash === undefined) {
        legacy(out.path, stage.name);
        continue;
      }
      outs.push({ path: out.path, oid: locked.md5, owner: stage.name, push: out.push, ...(out.remote !== undefined ? { remote: out.remote } : {}) });
    }
  }
  return { outs, skipped };
}

function isUnder(path: string, dir: string): boolean {
  return dir === '.' || path.startsWith(`${dir}/`);
}

export interface SelectContext {
  /** Every stage of every dvc.yaml, by address (stage-address.ts). */
  dag: Dag;
  dvcFiles: readonly DvcFile[];
}

/**
 * The outputs that `targets` name, as `dvc push/pull/fetch/status -c` read
 * them: a stage (or foreach/matrix group), a dvc.yaml (every stage in it), a `.dvc`
 * file, a tracked output's path, a path inside a tracked directory (only
 * that part of it), or a folder holding tracked outputs. No targets: all.
 * Targets are read from folder `cwd` (workspace-relative, default the root;
 * see dataTarget): `inner` there is the stage `sub/dvc.yaml:inner` if it
 * exists, else the path `sub/inner`.
 * `withDeps` adds the stages upstream of the named stages and the `.dvc`
 * data sources they read.
 */
export function selectTracked(all: readonly TrackedOut[], ctx: SelectContext, targets: readonly string[], opts: { withDeps?: boolean; cwd?: string } = {}): TrackedOut[] {
  if (targets.length === 0) return [...all];
  const picked: TrackedOut[] = [];
  const seen = new Set<string>();
  const add = (o: TrackedOut) => {
    const id = `${o.owner}\0${o.path}\0${o.only ?? ''}`;
    if (seen.has(id)) return;
    seen.add(id);
    picked.push(o);
  };
  const addStages = (names: string[]) => {
    let stages = names.map((n) => ctx.dag.byName.get(n)).filter((s): s is Stage => s !== undefined);
    if (opts.withDeps) stages = selectStages(ctx.dag, names);
    const chosen = new Set(stages.map((s) => s.name));
    for (const o of all) if (chosen.has(o.owner)) add(o);
    if (opts.withDeps) {
      const deps = stages.flatMap((s) => s.deps.map((d) => d.path));
      for (const o of all) {
        if (ctx.dag.byName.has(o.owner)) continue;
        if (deps.some((d) => d === o.path || isUnder(d, o.path) || isUnder(o.path, d))) add(o);
      }
    }
  };

  const stagesNamed = (address: string) => ctx.dag.stages.filter((s) => s.name === address || s.group === address).map((s) => s.name);
  for (const raw of targets) {
    const target = dataTarget(raw, opts.cwd ?? '.');
    if (target.kind === 'stage') {
      const names = stagesNamed(target.address);
      if (names.length === 0) throw unknownStage(target.address, stageNames(ctx.dag.stages));
      addStages(names);
      continue;
    }
    if (target.kind === 'word' && target.address !== '') {
      const names = stagesNamed(target.address);
      if (names.length > 0) {
        addStages(names);
        continue;
      }
    }
    const t = target.path;
    if (t === undefined) throw new ReprodError('PATH_OUTSIDE', `target '${raw}' is outside the workspace`);
    const inFile = ctx.dag.stages.filter((s) => s.source.file === t);
    if (inFile.length > 0) {
      addStages(inFile.map((s) => s.name));
      continue;
    }
    if (ctx.dvcFiles.some((f) => f.file === t)) {
      for (const o of all) if (o.owner === t) add(o);
      continue;
    }
    const exact = all.filter((o) => o.path === t);
    if (exact.length > 0) {
      exact.forEach(add);
      continue;
    }
    const container = all.filter((o) => o.oid.endsWith('.dir') && isUnder(t, o.path));
    if (container.length > 0) {
      for (const o of container) add({ ...o, only: t.slice(o.path.length + 1) });
      continue;
    }
    const inside = all.filter((o) => isUnder(o.path, t));
    if (inside.length > 0) {
      inside.forEach(add);
      continue;
    }
    throw new ReprodError('STAGE_NOT_FOUND', `'${raw}' is not a stage, a .dvc file or a tracked output`, {
      remedy: 'Name a stage, a .dvc file or a path recorded in dvc.lock or a .dvc file (run `reprod status` to list the stages).',
    });
  }
  return picked;
}
