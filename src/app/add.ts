import { promises as fs } from 'node:fs';
import path from 'node:path';
import { unprotectTree } from '../adapters/fs/unprotect.js';
import { GitRepo } from '../adapters/git/git-repo.js';
import { GitIgnores } from '../adapters/git/gitignore.js';
import { hasErrno, isMissing } from '../core/errno.js';
import { pathEscapeError, ReprodError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import type { Stage } from '../core/types.js';
import { DvcIgnore } from '../hashing/dvc-ignore.js';
import { newDvcFileText } from '../lock/dvc-file-text.js';
import type { DvcFile } from '../pipeline/dvc-file.js';
import { dvcInternalPart, normalizeWsPath } from '../pipeline/paths.js';
import { findDataSources, recordSource, sourceStates } from './data-sources.js';
import { loadPipeline, withProject, type Project } from './project.js';
import { findDvcFiles } from './tracked-data.js';

/*
 * `reprod add PATH...`, as `dvc add` (and `reprod remove X.dvc`, below): the file or folder is hashed, its
 * objects go to the cache (linked per `cache.type`), and `<path>.dvc` beside
 * it records it; in a git repository the path goes into the `.gitignore` of
 * its folder. A path some `.dvc` file tracks already is recorded anew in
 * that file. Every target is checked before anything is written.
 */

export interface AddResult {
  /** The `.dvc` files written (or found up to date), workspace-relative, in target order. */
  files: string[];
  /** In a git repository: what to `git add` (the `.dvc` files and the `.gitignore`s written), sorted. */
  gitAdd: string[] | undefined;
}

const isUnder = (p: string, dir: string) => p.startsWith(`${dir}/`);

/** The workspace path a target given in folder `cwd` (workspace-relative) names, or DVC's refusal. */
async function resolveTarget(root: string, cwd: string, target: string, ignore: DvcIgnore): Promise<string> {
  const abs = path.resolve(root, cwd, target);
  const rel = path.relative(root, abs).split(path.sep).join('/');
  if (rel === '' || rel.startsWith('../') || rel === '..' || path.isAbsolute(rel)) {
    throw new ReprodError('PATH_OUTSIDE', `Cached output(s) outside of DVC project: ${target}`, {
      remedy: 'Add paths inside the workspace; data kept elsewhere is imported (`dvc import-url`), not added.',
    });
  }
  const internal = dvcInternalPart(rel);
  if (internal !== undefined) {
    throw new ReprodError('PATH_OUTSIDE', `Path '${rel}' is ignored by DVC: it is inside ${internal}`, { remedy: `DVC tracks nothing inside ${internal}: add a path of the workspace outside it.` });
  }
  const base = path.posix.basename(rel);
  if (base.endsWith('.dvc') || base === 'dvc.yaml' || base === 'dvc.lock') throw new ReprodError('USAGE', `DVC file '${rel}' cannot be an output.`, { remedy: 'Add the data it tracks, not the file itself.' });
  // a folder on the way that is a symlink: DVC refuses it (the data would live elsewhere)
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    const st = await fs.lstat(path.join(root, dir)).catch(() => undefined);
    if (st?.isSymbolicLink()) throw new ReprodError('USAGE', `Cannot add files inside symlinked directories to DVC: '${dir}' is a symlink`);
  }
  let st;
  try {
    st = await fs.lstat(abs);
  } catch (e) {
    if (isMissing(e)) throw new ReprodError('OUT_MISSING', `output '${rel}' does not exist`, { remedy: 'Name a file or folder that exists.' });
    throw e;
  }
  if (st.isSymbolicLink() && (await fs.stat(abs).catch(() => undefined))?.isDirectory()) {
    throw new ReprodError('USAGE', `Cannot add files inside symlinked directories to DVC: '${rel}' is a symlink`);
  }
  const isDir = st.isDirectory();
  if (!isDir && !st.isFile() && !st.isSymbolicLink()) throw new ReprodError('USAGE', `output '${rel}' is not a file or directory`);
  if (ignore.isIgnored(rel, isDir)) throw new ReprodError('USAGE', `Path '${rel}' is ignored by .dvcignore`, { remedy: 'Take it out of .dvcignore, or add another path.' });
  return rel;
}

/** DVC's refusal of a path a pipeline stage writes (or that holds one), if it is one. */
function stageOverlap(rel: string, stages: readonly Stage[]): ReprodError | undefined {
  for (const stage of stages) {
    for (const out of stage.outs) {
      if (rel === out.path || isUnder(rel, out.path)) {
        return new ReprodError(
          'OUT_OVERLAP',
          `cannot update '${rel}': overlaps with an output of stage: '${stage.name}' in '${stage.source.file}'.\nRun the pipeline or use 'reprod commit' to force update it.`,
          { remedy: 'A path is tracked once: by the stage that writes it, or by one .dvc file.' },
        );
      }
      if (isUnder(out.path, rel)) {
        return new ReprodError(
          'OUT_OVERLAP',
          `Cannot add '${rel}', because it is overlapping with other DVC tracked output: '${out.path}'.\nTo include '${out.path}' in '${rel}', run 'reprod remove ${stage.name}' and then 'reprod add ${rel}'`,
          { remedy: 'A path is tracked once: by the stage that writes it, or by one .dvc file.' },
        );
      }
    }
  }
  return undefined;
}

/** The git repository of the workspace; none outside one, or without git on PATH. */
function gitRepoOf(root: string): GitRepo | undefined {
  try {
    return GitRepo.discover(root);
  } catch (e) {
    if (hasErrno((e as { cause?: unknown }).cause, 'ENOENT')) return undefined;
    throw e;
  }
}

type Planned = { rel: string; existing: DvcFile } | { rel: string; file: string; existing?: undefined };

/** What each target becomes: an update of the data source that tracks it, or a new `.dvc` file. */
function plan(rel: string, sources: readonly DvcFile[]): Planned {
  for (const f of sources) {
    for (const o of f.outs) {
      if (rel === o.path || isUnder(rel, o.path)) return { rel, existing: f };
      if (isUnder(o.path, rel)) {
        throw new ReprodError(
          'OUT_OVERLAP',
          `Cannot add '${rel}', because it is overlapping with other DVC tracked output: '${o.path}'.\nTo include '${o.path}' in '${rel}', delete '${f.file}' and then run 'reprod add ${rel}'`,
          { remedy: 'A path is tracked once: by the stage that writes it, or by one .dvc file.' },
        );
      }
    }
  }
  const dir = path.posix.dirname(rel);
  return { rel, file: `${dir === '.' ? '' : `${dir}/`}${path.posix.basename(rel)}.dvc` };
}

/**
 * Targets are paths from folder `opts.cwd` (workspace-relative, default the
 * root), as `dvc add` takes them from where it is started: `data.txt` in
 * `sub` is `sub/data.txt`, tracked by `sub/data.txt.dvc`.
 */
export async function addData(root: string, targets: readonly string[], opts: { log?: Logger; cwd?: string } = {}): Promise<AddResult> {
  if (targets.length === 0) throw new ReprodError('USAGE', 'name at least one file or folder to add');
  return withProject(root, opts.log, async (project) => {
    let stages: Stage[] = [];
    try {
      stages = loadPipeline(project.root).pipeline.stages;
    } catch (e) {
      if (!(e instanceof ReprodError && e.code === 'NO_PIPELINE')) throw e;
    }
    const ignore = new DvcIgnore(project.root);
    const sources = await findDataSources(project, stages);
    const git = gitRepoOf(project.root);
    const planned: Planned[] = [];
    for (const t of targets) {
      const rel = await resolveTarget(project.root, opts.cwd ?? '.', t, ignore);
      const overlap = stageOverlap(rel, stages);
      if (overlap) throw overlap;
      if (git?.isTracked(rel)) {
        throw new ReprodError('USAGE', `output '${rel}' is already tracked by SCM (e.g. Git).`, {
          remedy: `Remove it from git, then add it: git rm -r --cached '${rel}' && git commit -m "stop tracking ${rel}"`,
        });
      }
      const p = plan(rel, sources);
      if (p.existing === undefined && (await project.ws.readText(p.file)) !== undefined) {
        throw new ReprodError('USAGE', `'${p.file}' already exists and does not track '${rel}'`, { remedy: `Move or delete ${p.file}, then add '${rel}' again.` });
      }
      if (p.existing === undefined && planned.some((q) => q.existing === undefined && q.file === p.file)) continue;
      if (p.existing !== undefined && planned.some((q) => q.existing === p.existing)) continue;
      planned.push(p);
    }
    const ignores = git ? GitIgnores.open(project.root) : undefined;
    const files: string[] = [];
    const toGit = new Set<string>();
    for (const p of planned) {
      const file = p.existing ? await update(project, p.existing) : await create(project, p.rel, p.file);
      files.push(file);
      toGit.add(file);
      if (ignores) {
        await ignores.ignoreDvcDir();
        const outs = p.existing ? p.existing.outs.filter((o) => o.cache).map((o) => o.path) : [p.rel];
        for (const o of outs) {
          const written = await ignores.ignore(o);
          if (written) toGit.add(written);
        }
      }
    }
    await project.hasher.flush();
    return { files, gitAdd: git ? [...toGit].sort() : undefined };
  });
}

/** A new `.dvc` file for `rel`. */
async function create(project: Project, rel: string, file: string): Promise<string> {
  const r = await project.hasher.hash(rel);
  if (r === null) throw new ReprodError('OUT_MISSING', `output '${rel}' does not exist`);
  await project.cache.save(rel, r);
  await project.ws.writeTextAtomic(file, newDvcFileText(path.posix.basename(rel), r.info));
  return file;
}

/** An existing data source recorded anew (its outputs must all exist, as for `dvc commit`). */
async function update(project: Project, source: DvcFile): Promise<string> {
  const [state] = await sourceStates(project, [source]);
  if (state) await recordSource(project, state, 'commit');
  return source.file;
}

/**
 * `reprod remove X.dvc...`, as `dvc remove` takes a `.dvc` file away: the
 * file goes, and in a git repository its outputs' `.gitignore` entries;
 * the data stays (as plain files, unlinked from the cache) unless `outs`,
 * which deletes it. Every file named is checked before anything changes.
 */
export async function removeDataSources(root: string, targets: readonly string[], opts: { outs: boolean }): Promise<{ files: string[]; removedOuts: string[] }> {
  return withProject(root, undefined, async (project) => {
    let stages: Stage[] = [];
    try {
      stages = loadPipeline(project.root).pipeline.stages;
    } catch (e) {
      if (!(e instanceof ReprodError && e.code === 'NO_PIPELINE')) throw e;
    }
    const sources = await findDvcFiles(project.root, new Set(stages.flatMap((s) => s.outs.map((o) => o.path))));
    const chosen: DvcFile[] = [];
    for (const t of targets) {
      const file = normalizeWsPath(t);
      const f = sources.find((s) => s.file === file);
      if (!f) throw new ReprodError('STAGE_NOT_FOUND', `'${t}' does not exist`, { remedy: 'Name a .dvc file of the workspace (`reprod status` lists the changed ones).' });
      if (!chosen.includes(f)) chosen.push(f);
    }
    // an output under a symlink that leaves the workspace: refused before anything changes
    for (const f of chosen) {
      for (const o of f.outs) {
        const esc = await project.ws.escapeOf(o.path);
        if (esc) throw pathEscapeError(esc, { subject: `'${f.file}': output`, source: { file: f.file } });
      }
    }
    const ignores = GitIgnores.open(project.root);
    const removedOuts: string[] = [];
    for (const f of chosen) {
      await project.ws.remove(f.file);
      for (const o of f.outs) {
        if (o.cache) await ignores?.unignore(o.path);
        if (opts.outs) {
          await project.ws.remove(o.path);
          removedOuts.push(o.path);
        } else {
          await unprotectTree(path.join(project.root, o.path), project.cache.dir, project.owner);
        }
      }
    }
    return { files: chosen.map((f) => f.file), removedOuts };
  });
}
