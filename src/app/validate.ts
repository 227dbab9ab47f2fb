import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ReprodError, ReprodErrors } from '../core/errors.js';
import type { Stage } from '../core/types.js';
import type { Dag } from '../pipeline/dag.js';
import { validateDvcYamlText } from '../pipeline/schema.js';
import { observeStage } from '../reconcile/observe.js';
import { lockEntryFromObserved } from '../reconcile/stage-steps.js';
import { loadPipeline, withProject, type Project } from './project.js';

/** One error as it is, several as one ReprodErrors. */
function fail(errors: ReprodError[]): never {
  throw errors.length === 1 ? errors[0] : new ReprodErrors(errors);
}

/**
 * `validate --schema-only FILE`: the file against the dvc.yaml schema alone,
 * as an editor would check it (no templating, no files). Throws every
 * violation, each with its key and line.
 */
export async function validateSchemaOnly(root: string, file: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(path.resolve(root, file), 'utf8');
  } catch (cause) {
    throw new ReprodError('USAGE', `cannot read ${file}`, { cause, remedy: 'Give the path of a dvc.yaml file.' });
  }
  const errors = validateDvcYamlText(text, file);
  if (errors.length > 0) fail(errors);
}

/** True when a stage's output is `dep`, holds it, or lies inside it. */
function isProduced(dag: Dag, dep: string): boolean {
  return [...dag.producers.keys()].some((o) => dep === o || dep.startsWith(`${o}/`) || o.startsWith(`${dep}/`));
}

/** A dependency that neither exists nor is produced by a stage. */
async function missingDeps(project: Project, dag: Dag, stage: Stage): Promise<ReprodError[]> {
  const errors: ReprodError[] = [];
  for (const dep of stage.deps) {
    if (isProduced(dag, dep.path) || (await project.ws.exists(dep.path))) continue;
    errors.push(
      new ReprodError('DEP_MISSING', `stage '${stage.name}': dependency '${dep.defPath}' does not exist and no stage produces it`, {
        source: { ...stage.source, key: `${stage.source.key ?? `stages.${stage.name}`}.deps` },
      }),
    );
  }
  return errors;
}

/**
 * The stage's params, read as a run would read them (files, keys): unless a
 * stage produces every params file, a missing file or key is an error now
 * rather than when the stage runs.
 */
async function paramsErrors(project: Project, dag: Dag, stage: Stage): Promise<ReprodError[]> {
  if (stage.params.length === 0 || stage.params.every((p) => dag.producers.has(p.path))) return [];
  const paramsOnly = { ...stage, deps: [], outs: [] };
  try {
    lockEntryFromObserved(paramsOnly, await observeStage(project, paramsOnly, undefined), false);
    return [];
  } catch (e) {
    if (e instanceof ReprodError) return [e];
    throw e;
  }
}

/**
 * `validate`: dvc.yaml's syntax, schema, templating and DAG (loading it),
 * then what only the workspace can say: dependencies that neither exist nor
 * are produced, and params files and keys that cannot be read. Throws every
 * error found; returns the number of stages.
 */
export async function validateWorkspace(root: string): Promise<{ stages: number }> {
  return withProject(root, undefined, async (project) => {
    const { pipeline, dag } = loadPipeline(project.root);
    // dvc.lock is input too: what status and repro would refuse, validate refuses
    await project.lockStore.read();
    const errors: ReprodError[] = [];
    for (const stage of pipeline.stages) {
      errors.push(...(await missingDeps(project, dag, stage)), ...(await paramsErrors(project, dag, stage)));
    }
    if (errors.length > 0) fail(errors);
    return { stages: pipeline.stages.length };
  });
}
