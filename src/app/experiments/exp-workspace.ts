import { constants, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { GitExperiments } from '../../adapters/git/git-exps.js';
import { isMissing } from '../../core/errno.js';
import type { LinkType } from '../../core/dvc-config.js';
import type { Logger } from '../../core/ports.js';
import type { Pipeline } from '../../core/types.js';
import { applyAssignments } from '../../experiments/params-edit.js';
import type { Assignment } from '../../experiments/sweep.js';
import { checkoutTracked } from '../../remote/checkout.js';
import { cachePathOf, DVC_LOCK, loadDvcConfig, withProject, type CacheOverride } from '../project.js';
import { cacheLinkTypes } from '../../core/dvc-config.js';

/**
 * An experiment's own workspace, `.dvc/tmp/exps/run/<name>/`: the project's
 * code and spec copied (small files: what git tracks, or the workspace minus
 * outputs without git), dvc.lock and the status manifests as the source has
 * them, the -S values written into the params files, and every cached output
 * linked from the main cache per `cache.type` (never copied). Uncached
 * outputs (metrics, plots with `cache: false`) are small and copied, so that
 * a stage they belong to is not rerun for want of them.
 */

/** What is read from the source once: the files to copy and the params files as they were. */
export interface WorkspaceSnapshot {
  files: string[];
  lockText: string | undefined;
  params: Map<string, string>;
}

/** The main cache, linked the way `cache.type` says; the default (reflink,copy) becomes links, since a copy of the data is what experiments must not make. */
export function experimentCache(mainRoot: string): CacheOverride {
  const config = loadDvcConfig(mainRoot);
  const explicit = config.get('cache')?.get('type') !== undefined;
  const linkTypes: LinkType[] = explicit ? cacheLinkTypes(config) : ['reflink', 'hardlink', 'symlink', 'copy'];
  return { cacheDir: cachePathOf(mainRoot, config) ?? path.join(mainRoot, '.dvc', 'cache'), linkTypes };
}

/** Outputs (all kinds) and folders that never belong in an experiment's copy of the code. */
function excluded(pipeline: Pipeline): (rel: string) => boolean {
  const outs = pipeline.stages.flatMap((s) => s.outs.map((o) => o.path));
  const skip = ['.dvc', '.git', 'status', 'mlruns', 'node_modules', 'dvc.lock'];
  return (rel) => skip.some((d) => rel === d || rel.startsWith(`${d}/`)) || outs.some((o) => rel === o || rel.startsWith(`${o}/`));
}

/** The files of `root` an experiment copies: git's list (tracked, and untracked but not ignored), else a walk. */
export function codeFiles(root: string, pipeline: Pipeline, git: GitExperiments | undefined): string[] {
  const skip = excluded(pipeline);
  const all = git ? git.listWorkspaceFiles(root) : walk(root, '', skip);
  return all.filter((f) => !skip(f) && isFile(path.join(root, f)));
}

function isFile(abs: string): boolean {
  try {
    return statSync(abs).isFile();
  } catch (e) {
    if (isMissing(e)) return false;
    throw e;
  }
}

function walk(root: string, rel: string, skip: (rel: string) => boolean): string[] {
  const out: string[] = [];
  for (const d of readdirSync(path.join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (skip(p)) continue;
    if (d.isDirectory()) out.push(...walk(root, p, skip));
    else if (d.isFile()) out.push(p);
  }
  return out.sort();
}

export function readOptionalText(abs: string): string | undefined {
  try {
    return readFileSync(abs, 'utf8');
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

export function sha256File(abs: string): string | null {
  try {
    return createHash('sha256').update(readFileSync(abs)).digest('hex');
  } catch (e) {
    if (isMissing(e)) return null;
    throw e;
  }
}

function copyInto(src: string, dest: string, rel: string): void {
  const to = path.join(dest, rel);
  mkdirSync(path.dirname(to), { recursive: true });
  copyFileSync(path.join(src, rel), to, constants.COPYFILE_FICLONE);
}

export interface AssembleOptions {
  /** Where the code, status and uncached outputs come from: the main workspace, or the first experiment's. */
  source: string;
  dest: string;
  snapshot: WorkspaceSnapshot;
  /** dvc.lock as the experiment starts (default: the snapshot's). */
  lockText?: string | undefined;
  assignments: readonly Assignment[];
  pipeline: Pipeline;
  cache: CacheOverride;
  log: Logger;
}

/** Builds an experiment's workspace (see the module comment); a previous one of that name is replaced. */
export async function assembleWorkspace(o: AssembleOptions): Promise<void> {
  rmSync(o.dest, { recursive: true, force: true });
  mkdirSync(o.dest, { recursive: true });
  for (const f of o.snapshot.files) copyInto(o.source, o.dest, f);
  for (const f of ['.dvc/config', '.dvc/config.local', '.dvcignore']) if (existsSync(path.join(o.source, f))) copyInto(o.source, o.dest, f);
  const statusDir = path.join(o.source, 'status');
  if (existsSync(statusDir)) for (const f of readdirSync(statusDir)) if (f.endsWith('.yaml')) copyInto(o.source, o.dest, `status/${f}`);
  const lockText = o.lockText ?? o.snapshot.lockText;
  if (lockText !== undefined) writeFileSync(path.join(o.dest, DVC_LOCK), lockText);
  const byFile = new Map<string, Assignment[]>();
  for (const a of o.assignments) byFile.set(a.file, [...(byFile.get(a.file) ?? []), a]);
  for (const [file, list] of byFile) {
    const original = o.snapshot.params.get(file) ?? readOptionalText(path.join(o.source, file)) ?? '';
    const abs = path.join(o.dest, file);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, applyAssignments(file, original, list));
  }
  for (const s of o.pipeline.stages) {
    for (const out of s.outs) if (!out.cache && existsSync(path.join(o.source, out.path)) && isFile(path.join(o.source, out.path))) copyInto(o.source, o.dest, out.path);
  }
  await linkOutputs(o.dest, o.cache, o.log);
}

/** Every cached output dvc.lock (and the .dvc files) record, linked from the cache; what the cache lacks is left for the stage to make. */
async function linkOutputs(dest: string, cache: CacheOverride, log: Logger): Promise<void> {
  const { loadTracked } = await import('../remotes.js');
  await withProject(
    dest,
    log,
    async (project) => {
      const { outs } = await loadTracked(project);
      const present = [];
      for (const out of outs) if (await project.cache.has(out.oid)) present.push(out);
      await checkoutTracked({ hasher: project.hasher, cache: project.cache, store: project.cache, ws: project.ws }, present, new Map(), { force: true });
      await project.hasher.flush();
    },
    cache,
  );
}
