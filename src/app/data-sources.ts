import { pathEscapeError, ReprodError } from '../core/errors.js';
import type { HashResult, Logger } from '../core/ports.js';
import type { ChangeReason, HashInfo, ItemChange, Stage } from '../core/types.js';
import { updatedDvcFileText } from '../lock/dvc-file-text.js';
import type { DvcFile, DvcFileOut } from '../pipeline/dvc-file.js';
import { selectStages } from '../pipeline/dag.js';
import { normalizeWsPath } from '../pipeline/paths.js';
import { loadSpec, withProject, type Project, type Spec } from './project.js';
import { findDvcFiles } from './tracked-data.js';
import type { FolderLister } from '../hashing/folder-listings.js';

/*
 * `.dvc` files as data sources, as DVC treats the stages `dvc add` writes:
 * `status` says which of their outputs changed (in DVC's words), and
 * `repro` and `commit` record the workspace in them (new hashes in the
 * `.dvc` file, new objects in the cache) before any stage that reads them
 * runs. Imports (`deps:`) are not data sources, and outputs hashed by DVC 2
 * (no `hash: md5`) are left as they are: reprod neither reports nor rewrites
 * them.
 */

/** A data source and how its outputs differ from what its `.dvc` file records (no reasons: up to date). */
export interface SourceState {
  file: DvcFile;
  /** `out` reasons, one per output that changed, in the file's order. */
  reasons: ChangeReason[];
  /** Each output's hash now (null: it does not exist), by its index in `file.outs`. */
  now: Map<number, HashResult | null>;
}

const isOverlap = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

/** The `.dvc` files of the workspace that are data sources (not imports), pipeline outputs' folders not entered. */
export async function findDataSources(project: Project, stages: readonly Stage[]): Promise<DvcFile[]> {
  const files = await findDvcFiles(project.root, new Set(stages.flatMap((s) => s.outs.map((o) => o.path))), project.listings);
  return files.filter((f) => !f.isImport);
}

/** The outputs reprod checks: cached or not, but hashed by DVC 3. */
function checked(f: DvcFile): [number, DvcFileOut][] {
  return f.outs.map((o, i): [number, DvcFileOut] => [i, o]).filter(([, o]) => !o.legacy);
}

/**
 * What DVC's status says of one output of a data source: `not in cache` when
 * its recorded objects are missing (said first, whatever the workspace
 * holds), `deleted` when the path is gone, `modified` when its hash differs
 * (or none was recorded).
 */
async function outChange(project: Project, o: DvcFileOut, now: HashResult | null): Promise<ItemChange | undefined> {
  if (o.md5 !== undefined && o.cache && !(await project.cache.has(o.md5))) return 'not in cache';
  if (now === null) return 'deleted';
  if (o.md5 === undefined || now.info.md5 !== o.md5) return 'modified';
  return undefined;
}

/**
 * Each data source's state, hashing its outputs (through the hash state
 * cache). Read-only. An output under a symlink that leads out of the
 * workspace (or into `.git`/`.dvc`) is refused, naming the `.dvc` file.
 */
export async function sourceStates(project: Project, files: readonly DvcFile[]): Promise<SourceState[]> {
  const out: SourceState[] = [];
  for (const file of files) {
    const reasons: ChangeReason[] = [];
    const now = new Map<number, HashResult | null>();
    for (const [i, o] of checked(file)) {
      // an output reached through a symlink that leaves the workspace: never read, never written
      const esc = await project.ws.escapeOf(o.path);
      if (esc) throw pathEscapeError(esc, { subject: `'${file.file}': output`, source: { file: file.file } });
      const r = await project.hasher.hash(o.path);
      now.set(i, r);
      const change = await outChange(project, o, r);
      if (change !== undefined) reasons.push({ kind: 'out', path: o.path, change });
    }
    out.push({ file, reasons, now });
  }
  await project.hasher.flush();
  return out;
}

/**
 * Splits command-line targets into the data sources they name (a `.dvc`
 * file, or a path one of them tracks) and the rest (stages, for the
 * pipeline). A stage's name stays a stage, as DVC reads it first.
 */
export function splitSourceTargets(
  targets: readonly string[],
  files: readonly DvcFile[],
  stages: readonly Stage[] = [],
): { sources: DvcFile[]; rest: string[] } {
  const sources: DvcFile[] = [];
  const rest: string[] = [];
  for (const t of targets) {
    if (stages.some((s) => s.name === t || s.group === t)) {
      rest.push(t);
      continue;
    }
    const p = normalizeWsPath(t.replace(/\/+$/, ''));
    const f = p === undefined ? undefined : files.find((x) => x.file === p || x.outs.some((o) => o.path === p));
    if (f === undefined) rest.push(t);
    else if (!sources.includes(f)) sources.push(f);
  }
  return { sources, rest };
}

/** The data sources some of `stages` read (a dep that is, lies in or holds a source's output), in `files`' order. */
export function sourcesUpstreamOf(stages: readonly Stage[], files: readonly DvcFile[]): DvcFile[] {
  const deps = stages.flatMap((s) => s.deps.map((d) => d.path));
  return files.filter((f) => f.outs.some((o) => deps.some((d) => isOverlap(d, o.path))));
}

/** The stages that read one of `files`' outputs. */
export function stagesReading(stages: readonly Stage[], files: readonly DvcFile[]): Stage[] {
  const outs = files.flatMap((f) => f.outs.map((o) => o.path));
  return stages.filter((s) => s.deps.some((d) => outs.some((o) => isOverlap(d.path, o))));
}

/**
 * Records a data source as the workspace holds it, as DVC's repro and commit
 * do: every output's objects into the cache (linked per `cache.type`), and
 * the new hashes into its `.dvc` file (rewritten only when they changed).
 * An output that does not exist fails it before anything is written:
 * `missing` says how (repro: "missing data 'source'", commit: "does not exist").
 */
export async function recordSource(project: Project, state: SourceState, missing: 'repro' | 'commit'): Promise<boolean> {
  const { file, now } = state;
  const gone = checked(file).filter(([i]) => now.get(i) === null);
  if (gone.length > 0) {
    const paths = gone.map(([, o]) => o.path);
    throw missing === 'repro'
      ? new ReprodError('DEP_MISSING', `failed to reproduce '${file.file}': missing data '${paths.length > 1 ? 'sources' : 'source'}': ${paths.join(', ')}`, {
          source: { file: file.file },
          remedy: `Restore it (\`reprod checkout ${file.file}\` or \`reprod pull ${file.file}\`), or stop tracking it by deleting ${file.file}.`,
        })
      : new ReprodError('OUT_MISSING', `output '${paths.join(', ')}' of '${file.file}' does not exist`, {
          source: { file: file.file },
          remedy: `Restore it (\`reprod checkout ${file.file}\`), or stop tracking it by deleting ${file.file}.`,
        });
  }
  const hashes = new Map<number, HashInfo>();
  for (const [i, o] of checked(file)) {
    const r = now.get(i);
    if (!r) continue;
    // hardlink/symlink cache types: the workspace file becomes a link, as DVC leaves it
    if (o.cache) await project.cache.save(o.path, r);
    if (r.info.md5 !== o.md5 || r.info.size !== o.size || r.info.nfiles !== o.nfiles || (r.info.isexec === true) !== (o.isexec === true)) hashes.set(i, r.info);
  }
  if (hashes.size === 0) return false;
  const text = await project.ws.readText(file.file);
  if (text === undefined) throw new ReprodError('STAGE_NOT_FOUND', `'${file.file}' does not exist`, { source: { file: file.file } });
  await project.ws.writeTextAtomic(file.file, updatedDvcFileText(text, file.file, hashes));
  return true;
}

/** What `repro` did with a data source: `'x.dvc' didn't change`, verified (and recorded), or (`--dry`) would be. */
export type SourceDecision =
  | { file: string; action: 'unchanged' }
  | { file: string; action: 'pulled' }
  | { file: string; action: 'verified'; frozen: boolean }
  | { file: string; action: 'would-verify'; reasons: ChangeReason[] };

/**
 * What `repro` works on: the stages the targets select, and the data
 * sources it verifies first. With no target (or stage targets), the data
 * sources upstream of the stages; `-s` and `--downstream` take none but those
 * named. A `.dvc` file (or a path it tracks) may be a target: it alone is
 * verified, and with `--downstream` the stages reading it run after it.
 */
export async function reproSelection(
  project: Project,
  spec: Pick<Spec, 'dag' | 'pipeline'>,
  run: { targets?: readonly string[]; downstream?: boolean; single?: boolean },
): Promise<{ stages: Stage[]; sources: DvcFile[] }> {
  const files = await findDataSources(project, spec.pipeline.stages);
  const targets = run.targets ?? [];
  const { sources: named, rest } = splitSourceTargets(targets, files, spec.pipeline.stages);
  if (targets.length > 0 && rest.length === 0) {
    const readers = run.downstream ? stagesReading(spec.pipeline.stages, named).map((s) => s.name) : [];
    return { stages: readers.length > 0 ? selectStages(spec.dag, readers, { downstream: true }) : [], sources: named };
  }
  const stages = selectStages(spec.dag, rest, { ...(run.downstream ? { downstream: true } : {}), ...(run.single ? { single: true } : {}) });
  const upstream = run.single || run.downstream ? [] : sourcesUpstreamOf(stages, files);
  return { stages, sources: files.filter((f) => named.includes(f) || upstream.includes(f)) };
}

/**
 * `repro`'s first step, as DVC's ("Verifying data sources in stage: ..."):
 * each changed data source (each one, with `force`) is recorded anew before
 * any stage runs; an unchanged one is reported and left. With `pull`, one
 * that is only missing is pulled first (and recorded only if still changed).
 * `dry` writes nothing.
 */
export async function verifySources(
  project: Project,
  sources: readonly DvcFile[],
  opts: { force?: boolean; dry?: boolean; pull?: (paths: readonly string[]) => Promise<void>; onSource?: (d: SourceDecision) => void },
): Promise<SourceDecision[]> {
  const done: SourceDecision[] = [];
  const report = (d: SourceDecision) => {
    done.push(d);
    opts.onSource?.(d);
  };
  for (let state of await sourceStates(project, sources)) {
    const file = state.file.file;
    // `--pull`, as DVC's: a source that is only missing (deleted, or not in the cache) comes from the remote
    const missingOnly = state.reasons.length > 0 && state.reasons.every((r) => r.kind === 'out' && (r.change === 'deleted' || r.change === 'not in cache'));
    if (opts.pull && missingOnly && opts.force !== true) {
      report({ file, action: 'pulled' });
      await opts.pull(state.file.outs.map((o) => o.path));
      state = (await sourceStates(project, [state.file]))[0] ?? state;
      if (state.reasons.length === 0) continue;
    }
    if (state.reasons.length === 0 && opts.force !== true) report({ file, action: 'unchanged' });
    else if (opts.dry) report({ file, action: 'would-verify', reasons: state.reasons });
    else {
      // said before it is checked, as DVC logs it: a missing source fails right after
      report({ file, action: 'verified', frozen: state.file.frozen });
      await recordSource(project, state, 'repro');
    }
  }
  await project.hasher.flush();
  return done;
}

/** A data source whose outputs changed, as `status` reports it. */
export interface ChangedSource {
  file: string;
  reasons: ChangeReason[];
}

/**
 * The data sources the targets of `status` or `commit` name (all, with no
 * target), in the order DVC walks them, and what is left of the targets for
 * the pipeline (undefined: no stage to look at, as when only `.dvc` files
 * are named, or the workspace has `.dvc` files and no dvc.yaml).
 */
async function sourceScope(project: Project, targets: readonly string[]): Promise<{ looked: DvcFile[]; stageTargets: string[] | undefined; spec: Spec | undefined }> {
  let spec: Spec | undefined;
  try {
    spec = loadSpec(project.root, project.limits, project.listings);
  } catch (e) {
    if (!(e instanceof ReprodError && e.code === 'NO_PIPELINE')) throw e;
  }
  const stages = spec?.pipeline.stages ?? [];
  const files = await findDataSources(project, stages);
  const { sources, rest } = splitSourceTargets(targets, files, stages);
  const onlySources = targets.length > 0 ? rest.length === 0 : spec === undefined && files.length > 0;
  return { looked: targets.length === 0 ? files : sources, stageTargets: onlySources ? undefined : rest, spec };
}

/**
 * `status`: the data sources whose outputs changed, the targets left for the
 * pipeline (see sourceScope), and the spec read to tell them apart (none
 * when there is no dvc.yaml), which the stages' status can use rather than
 * walk the workspace for it again. Read-only; `listings` reads the folders
 * walked (see folder-listings.ts).
 */
export async function changedSources(
  root: string,
  targets: readonly string[],
  log?: Logger,
  listings?: FolderLister,
): Promise<{ changed: ChangedSource[]; stageTargets: string[] | undefined; spec: Spec | undefined }> {
  return withProject(
    root,
    log,
    async (project) => {
      const { looked, stageTargets, spec } = await sourceScope(project, targets);
      const changed = (await sourceStates(project, looked)).filter((s) => s.reasons.length > 0).map((s) => ({ file: s.file.file, reasons: s.reasons }));
      return { changed, stageTargets, spec };
    },
    undefined,
    undefined,
    listings,
  );
}

/**
 * `commit`'s data sources, as `dvc commit` records them: each one named
 * (all, with no target) whose outputs changed gets its new hashes and
 * objects; an output that does not exist fails it. Returns the `.dvc` files
 * written and the targets left for the pipeline.
 */
export async function commitSources(root: string, targets: readonly string[], log?: Logger): Promise<{ committed: string[]; stageTargets: string[] | undefined }> {
  return withProject(root, log, async (project) => {
    const { looked, stageTargets } = await sourceScope(project, targets);
    const committed: string[] = [];
    for (const state of await sourceStates(project, looked)) {
      if (state.reasons.length === 0) continue;
      await recordSource(project, state, 'commit');
      committed.push(state.file.file);
    }
    await project.hasher.flush();
    return { committed, stageTargets };
  });
}
