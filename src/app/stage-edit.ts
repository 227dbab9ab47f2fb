import path from 'node:path';
import { unprotectTree } from '../adapters/fs/unprotect.js';
import { GitIgnores } from '../adapters/git/gitignore.js';
import { ReprodError } from '../core/errors.js';
import type { Stage } from '../core/types.js';
import { removeStage, setFrozen } from '../pipeline/dvc-yaml-edit.js';
import { stageNames, unknownStage } from '../pipeline/stage-names.js';
import { splitAddress } from '../pipeline/stage-address.js';
import { outsEscapeError } from '../reconcile/out-guard.js';
import { DVC_YAML, loadPipeline, withProject, type Project } from './project.js';

/**
 * `freeze`, `unfreeze` and `remove`: the commands that edit dvc.yaml (and
 * dvc.lock) for the user, as DVC's do. dvc.yaml changes only on the lines of
 * the stages named; the result is parsed again before it is written, so an
 * edit can never leave a dvc.yaml reprod (or DVC) cannot read.
 */

/** The stages a target names: one stage, or every stage of a foreach/matrix group by the group's name. */
function resolveTargets(stages: readonly Stage[], targets: readonly string[]): { target: string; stages: Stage[] }[] {
  if (targets.length === 0) throw new ReprodError('USAGE', 'name at least one stage');
  return targets.map((target) => {
    const named = stages.filter((s) => s.name === target || s.group === target);
    if (named.length === 0) throw unknownStage(target, stageNames(stages), 'the pipeline');
    return { target, stages: named };
  });
}

async function readSpecText(project: Project, file: string): Promise<string> {
  const text = await project.ws.readText(file);
  if (text === undefined) throw new ReprodError('NO_PIPELINE', file === DVC_YAML ? `no ${DVC_YAML} in ${project.root}` : `no ${file}`);
  return text;
}

/** Writes a dvc.yaml after an edit, once the new text loads as a pipeline; `undefined` deletes it. */
async function writeSpecText(project: Project, file: string, text: string | undefined): Promise<void> {
  if (text === undefined) {
    await project.ws.remove(file);
    return;
  }
  const before = await readSpecText(project, file);
  await project.ws.writeTextAtomic(file, text);
  try {
    loadPipeline(project.root);
  } catch (cause) {
    await project.ws.writeTextAtomic(file, before);
    throw new ReprodError('SCHEMA', `editing ${file} would leave it unreadable; it is left as it was`, { cause, source: { file } });
  }
}

/**
 * Targets by the dvc.yaml that holds them (a stage of `sub/dvc.yaml` is
 * edited there, under its bare name), files in the order first named.
 */
function byFile<T extends { target: string }>(resolved: readonly T[]): Map<string, (T & { name: string })[]> {
  const out = new Map<string, (T & { name: string })[]>();
  for (const r of resolved) {
    const { file, name } = splitAddress(r.target);
    out.set(file, [...(out.get(file) ?? []), { ...r, name }]);
  }
  return out;
}

/** `reprod freeze` / `unfreeze`: sets or clears `frozen` on each stage named. dvc.lock is left as it is. */
export async function freezeStages(root: string, targets: readonly string[], frozen: boolean): Promise<string[]> {
  return withProject(root, undefined, async (project) => {
    const { pipeline } = loadPipeline(project.root);
    const resolved = resolveTargets(pipeline.stages, targets);
    for (const { target, stages } of resolved) {
      const stage = stages[0];
      // a generated stage exists only as its template's expansion: DVC cannot write it either
      if (stages.length > 1 || (stage && stage.group !== stage.name)) {
        throw new ReprodError('USAGE', `cannot dump a parametrized stage: '${target}'`, { remedy: 'Edit dvc.yaml by hand: the stage is written there as a template.' });
      }
    }
    const done: string[] = [];
    for (const [file, named] of byFile(resolved)) {
      let text = await readSpecText(project, file);
      for (const { target, name } of named) {
        text = setFrozen(text, file, name, frozen);
        done.push(target);
      }
      await writeSpecText(project, file, text);
    }
    return done;
  });
}

export interface RemoveResult {
  stages: string[];
  /** Outputs deleted (`--outs`), workspace-relative. */
  removedOuts: string[];
  /** Files that were links into the cache and are plain copies now. */
  unprotected: number;
}

/**
 * `reprod remove`: takes stages (a whole foreach/matrix group by its name)
 * out of dvc.yaml and dvc.lock, as `dvc remove` does: with `outs`, their
 * outputs are deleted; without, outputs stay, and those linked to the cache
 * become plain copies (DVC's unprotect), so that editing them cannot change
 * the cache. In a git repository, their `.gitignore` entries go too. No
 * stage left: dvc.yaml and dvc.lock go.
 */
export async function removeStages(root: string, targets: readonly string[], opts: { outs: boolean }): Promise<RemoveResult> {
  return withProject(root, undefined, async (project) => {
    const { pipeline } = loadPipeline(project.root);
    const resolved = resolveTargets(pipeline.stages, targets);
    for (const { target, stages } of resolved) {
      const stage = stages[0];
      if (stages.length === 1 && stage && stage.group !== stage.name) {
        throw new ReprodError('USAGE', `stage '${target}' is generated by '${stage.group}' (foreach/matrix): remove '${stage.group}' to remove the group, or edit its items`);
      }
    }
    const gone = resolved.flatMap((r) => r.stages);
    // an output under a symlink that leaves the workspace: refused before dvc.yaml, dvc.lock or any output changes
    // (removing it, or unprotecting it, would delete or write where the link leads)
    for (const stage of gone) {
      const escaped = await outsEscapeError(project.ws, stage);
      if (escaped) throw escaped;
    }
    // dvc.yaml first (checked before it stays), then dvc.lock, then the outputs
    for (const [file, named] of byFile(resolved)) {
      let text: string | undefined = await readSpecText(project, file);
      for (const { name } of named) {
        if (text === undefined) break;
        text = removeStage(text, file, name).text;
      }
      await writeSpecText(project, file, text);
    }
    const result: RemoveResult = { stages: gone.map((s) => s.name), removedOuts: [], unprotected: 0 };
    await project.lockStore.remove(result.stages);
    // their entries leave .gitignore, as `dvc remove` takes them out
    const ignores = GitIgnores.open(project.root);
    for (const out of gone.flatMap((s) => s.outs)) {
      if (out.cache) await ignores?.unignore(out.path);
      if (opts.outs) {
        await project.ws.remove(out.path);
        result.removedOuts.push(out.path);
      } else {
        result.unprotected += await unprotectTree(path.join(project.root, out.path), project.cache.dir, project.owner);
      }
    }
    return result;
  });
}
