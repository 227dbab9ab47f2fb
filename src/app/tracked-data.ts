import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ReprodError } from '../core/errors.js';
import type { Pipeline } from '../core/types.js';
import { DvcIgnore } from '../hashing/dvc-ignore.js';
import type { FolderLister } from '../hashing/folder-listings.js';
import { buildDag, type Dag } from '../pipeline/dag.js';
import { parseDvcFile, type DvcFile } from '../pipeline/dvc-file.js';
import { trackedOuts, type SelectContext, type SkippedOut, type TrackedOut } from '../remote/tracked.js';
import { DVC_YAML, loadPipeline, type Project } from './project.js';

/**
 * Every `.dvc` file of the workspace, as DVC collects them: `.dvcignore`d
 * folders, `.git`/`.dvc` folders and the folders in `skip` (pipeline outputs:
 * data, not metadata) are not entered. With `listings`, folders are read
 * through it (see folder-listings.ts).
 */
export async function findDvcFiles(root: string, skip: ReadonlySet<string> = new Set(), listings?: FolderLister): Promise<DvcFile[]> {
  const ignore = new DvcIgnore(root);
  const found: DvcFile[] = [];
  const data = new Set(skip);
  const walk = async (dir: string): Promise<void> => {
    const abs = dir === '' ? root : path.join(root, dir);
    const listed = listings ? listings.list(abs) : await fs.readdir(abs, { withFileTypes: true });
    // only .dvc files and folders matter, in name order (a folder of data files need not be sorted)
    const entries = listed.filter((e) => e.isDirectory() || e.name.endsWith('.dvc')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // a folder's .dvc files first: the folders they track hold data, not more .dvc files, and are not walked
    for (const e of entries) {
      if (!e.isFile() || !e.name.endsWith('.dvc') || ignore.ignoresChild(dir, e.name, false)) continue;
      const f = parseDvcFile(await fs.readFile(path.join(abs, e.name), 'utf8'), dir === '' ? e.name : `${dir}/${e.name}`);
      found.push(f);
      for (const o of f.outs) data.add(o.path);
    }
    for (const e of entries) {
      const rel = dir === '' ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory() && !data.has(rel) && !ignore.ignoresChild(dir, e.name, true)) await walk(rel);
    }
  };
  await walk('');
  return found;
}

export interface TrackedData {
  outs: TrackedOut[];
  skipped: SkippedOut[];
  select: SelectContext;
}

const EMPTY_PIPELINE: Pipeline = { file: DVC_YAML, stages: [], params: [], metrics: [], plots: [] };

/** The pipeline (none when there is no dvc.yaml: `.dvc` files alone are fine), dvc.lock and the `.dvc` files. */
export async function loadTracked(project: Project): Promise<TrackedData> {
  let pipeline: Pipeline;
  let dag: Dag;
  try {
    ({ pipeline, dag } = loadPipeline(project.root));
  } catch (e) {
    if (!(e instanceof ReprodError && e.code === 'NO_PIPELINE')) throw e;
    pipeline = EMPTY_PIPELINE;
    dag = buildDag(pipeline);
  }
  const lock = await project.lockStore.readForData();
  const dvcFiles = await findDvcFiles(project.root, new Set(pipeline.stages.flatMap((s) => s.outs.map((o) => o.path))));
  const { outs, skipped } = trackedOuts(pipeline.stages, lock, dvcFiles);
  return { outs, skipped, select: { dag, dvcFiles } };
}

