import { statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { errorMessage, isMissing } from '../core/errno.js';
import { ReprodError } from '../core/errors.js';
import type { Pipeline, Stage } from '../core/types.js';
import { GitIgnoreRules } from '../adapters/git/gitignore-rules.js';
import { DvcIgnore } from '../hashing/dvc-ignore.js';
import { freshListings, type FolderLister } from '../hashing/folder-listings.js';
import { joinWsPath, wsDirname } from '../pipeline/paths.js';
import { PIPELINE_FILE_NAME, ROOT_PIPELINE_FILE, stageAddress } from '../pipeline/stage-address.js';

/**
 * Every dvc.yaml of a workspace, found as DVC's repo index collects them
 * (dvc/repo/index.py collect_files): a walk from the root that does not
 * follow symlinked folders, leaves out what `.dvcignore` ignores (and `.git`,
 * `.dvc`, `.hg`), does not enter a folder holding its own `.dvc` folder
 * (another DVC repository), and does not enter a folder that is an output of
 * a stage found so far. Files come in walk order: a folder's own dvc.yaml,
 * then its sub-folders one by one, by name.
 *
 * `outsOf(file)` reads a found file and gives its stages' outputs
 * (workspace-relative): those folders are not walked. Without it, no folder
 * is left out for being an output. `ignore` says what is ignored: `.dvcignore`
 * alone by default; see {@link workspaceIgnores} for git's rules too.
 * `listings` reads each folder (see folder-listings.ts).
 */
export function findPipelineFiles(
  root: string,
  outsOf?: (file: string) => readonly string[],
  ignore: ChildIgnore = new DvcIgnore(root),
  listings: FolderLister = freshListings,
): string[] {
  const found: string[] = [];
  const outs = new Set<string>();
  const walk = (dir: string): void => {
    const entries = readFolder(listings, root, dir);
    if (entries === undefined) return;
    if (dir !== '' && entries.some((e) => e.name === '.dvc' && e.isDirectory())) return;
    const file = entries.find((e) => e.name === PIPELINE_FILE_NAME);
    if (file && isFile(root, dir, file) && !ignore.ignoresChild(dir, file.name, false)) {
      const rel = dir === '' ? PIPELINE_FILE_NAME : `${dir}/${PIPELINE_FILE_NAME}`;
      found.push(rel);
      for (const o of outsOf?.(rel) ?? []) outs.add(o);
    }
    const folders = entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of folders) {
      const rel = dir === '' ? name : `${dir}/${name}`;
      if (outs.has(rel) || ignore.ignoresChild(dir, name, true)) continue;
      walk(rel);
    }
  };
  walk('');
  return found;
}

/** What a walk leaves out: the entry `name` of folder `dir` (workspace-relative, `''` for the root). */
export interface ChildIgnore {
  ignoresChild(dir: string, name: string, isDir: boolean): boolean;
}

/**
 * What DVC leaves out when it collects dvc.yaml files: what `.dvcignore`
 * ignores and, in a git repository (unless `core.no_scm`), what git ignores.
 */
export function workspaceIgnores(root: string, useGit: boolean): ChildIgnore {
  const dvc = new DvcIgnore(root);
  const git = useGit ? GitIgnoreRules.find(root) : undefined;
  if (!git) return dvc;
  return { ignoresChild: (dir, name, isDir) => dvc.ignoresChild(dir, name, isDir) || git.ignoresChild(dir, name, isDir) };
}

/** Whether a workspace path (or a folder above it) is left out by `ignores`; `isDir` says what its last part is. */
export function ignoredPath(ignores: ChildIgnore, path: string, isDir: boolean): boolean {
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  let dir = '';
  for (let i = 0; i < parts.length; i++) {
    const name = parts[i] as string;
    if (ignores.ignoresChild(dir, name, isDir || i < parts.length - 1)) return true;
    dir = dir === '' ? name : `${dir}/${name}`;
  }
  return false;
}

function readFolder(listings: FolderLister, root: string, dir: string): readonly Dirent[] | undefined {
  try {
    return listings.list(path.join(root, dir));
  } catch (err) {
    // a folder removed while walking has no pipeline in it
    if (isMissing(err) || (err as { code?: string }).code === 'ENOTDIR') return undefined;
    throw new ReprodError('HASH_IO', `cannot list ${dir === '' ? 'the workspace' : dir} to find dvc.yaml files: ${errorMessage(err)}`, {
      source: { file: dir === '' ? '.' : dir },
      cause: err,
    });
  }
}

/** A dvc.yaml that is a file, or a symlink to one (os.walk lists both as files). */
function isFile(root: string, dir: string, e: Dirent): boolean {
  if (e.isFile()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return statSync(path.join(root, dir, e.name)).isFile();
  } catch {
    return false;
  }
}

/**
 * The stages of one pipeline file under their workspace-wide addresses
 * (`sub/dvc.yaml:inner`; bare names for the root file): names and groups
 * are what targets, the DAG and status use. Its top-level `params:` and
 * `metrics:` files, written relative to its folder, become workspace paths.
 */
export function addressed(pipeline: Pipeline): Pipeline {
  if (pipeline.file === ROOT_PIPELINE_FILE) return pipeline;
  const file = pipeline.file;
  const dir = wsDirname(file);
  const inDir = (p: string): string[] => {
    const joined = joinWsPath(dir, p);
    return joined === undefined ? [] : [joined];
  };
  const stages = pipeline.stages.map((s): Stage => ({ ...s, name: stageAddress(file, s.name), group: stageAddress(file, s.group) }));
  return {
    file,
    stages,
    params: pipeline.params.flatMap(inDir),
    metrics: pipeline.metrics.flatMap(inDir),
    plots: pipeline.plots.flatMap((p) => (typeof p === 'string' ? inDir(p) : [])),
  };
}

/**
 * The pipelines of several files (in walk order, see findPipelineFiles) as
 * one: every stage, in file order then stage order (DVC's index order), and
 * every file's top-level `params`, `metrics` and `plots` as workspace paths.
 */
export function mergePipelines(pipelines: readonly Pipeline[]): Pipeline {
  const all = pipelines.map(addressed);
  if (all.length === 1) return all[0] as Pipeline;
  return {
    file: ROOT_PIPELINE_FILE,
    stages: all.flatMap((p) => p.stages),
    params: all.flatMap((p) => p.params),
    metrics: all.flatMap((p) => p.metrics),
    plots: all.flatMap((p) => p.plots),
  };
}

/** The pipeline file a stage is written in (workspace-relative). */
export function pipelineFileOf(stage: Stage): string {
  return stage.source.file;
}
