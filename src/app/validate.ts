import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeUtf8 } from '../adapters/fs/utf8-text.js';
import { ReprodError, ReprodErrors } from '../core/errors.js';
import type { Stage } from '../core/types.js';
import type { Dag } from '../pipeline/dag.js';
import { validateDvcYamlText } from '../pipeline/schema.js';
import { observeStage } from '../reconcile/observe.js';
import { lockEntryFromObserved } from '../reconcile/stage-steps.js';
import { loadSpec, withProject, type Project } from './project.js';

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
  let bytes: Buffer;
  try {
    bytes = await readFile(path.resolve(root, file));
  } catch (cause) {
    throw new ReprodError('USAGE', `cannot read ${file}`, { cause, remedy: 'Give the path of a dvc.yaml file.' });
  }
  // strictly UTF-8, as every other read of dvc.yaml: an editor's check must not accept what status refuses
  const errors = validateDvcYamlText(decodeUtf8(bytes, file), file);
  if (errors.length > 0) fail(errors);
}

/** True when a stage's output is `dep`, holds it, or lies inside it. */
function isProduced(dag: Dag, dep: string): boolean {
  return Array.from(dag.producers.keys()).some((o) => dep === o || dep.startsWith(`${o}/`) || o.startsWith(`${dep}/`));
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

/** A stage whose params must be readable now: unless a stage produces every params file it lists. */
function readsParamsNow(dag: Dag, stage: Stage): boolean {
  return stage.params.length > 0 && !stage.params.every((p) => dag.producers.has(p.path));
}

/**
 * The stages' params, read as a run would read them (files, keys), so that a
 * missing file or key is an error now rather than when the stage runs. Every
 * params file is observed once, however many stages list it (a params.yaml of
 * 12,000 keys listed by ten stages was parsed ten times), then each stage's
 * keys are checked against that one reading. A file that cannot be read is
 * reported once.
 */
async function paramsErrors(project: Project, dag: Dag, stages: readonly Stage[]): Promise<ReprodError[]> {
  const reading = stages.filter((s) => readsParamsNow(dag, s));
  const first = reading[0];
  if (first === undefined) return [];
  const files = [...new Map(reading.flatMap((s) => s.params).map((p) => [p.path, p])).values()];
  let observed: Awaited<ReturnType<typeof observeStage>>;
  try {
    observed = await observeStage(project, { ...first, deps: [], outs: [], params: files }, undefined);
  } catch (e) {
    if (e instanceof ReprodError) return [e];
    throw e;
  }
  const errors: ReprodError[] = [];
  for (const stage of reading) {
    try {
      lockEntryFromObserved({ ...stage, deps: [], outs: [] }, observed, false);
    } catch (e) {
      if (e instanceof ReprodError) errors.push(e);
      else throw e;
    }
  }
  return errors;
}

/**
 * `validate`: dvc.yaml's syntax, schema, templating and DAG (loading it),
 * then what only the workspace can say: dependencies that neither exist nor
 * are produced, and params files and keys that cannot be read. Throws every
 * error found; returns the number of stages and the dvc.yaml files read.
 */
export async function validateWorkspace(root: string): Promise<{ stages: number; files: readonly string[] }> {
  return withProject(root, undefined, async (project) => {
    const { pipeline, dag, files } = loadSpec(project.root);
    if (files) project.lockStore.usePipelineFiles(files);
    // dvc.lock is input too: what status and repro would refuse, validate refuses
    await project.lockStore.read();
    const errors: ReprodError[] = [];
    for (const stage of pipeline.stages) errors.push(...(await missingDeps(project, dag, stage)));
    errors.push(...(await paramsErrors(project, dag, pipeline.stages)));
    if (errors.length > 0) fail(errors);
    return { stages: pipeline.stages.length, files: files ?? [pipeline.file] };
  });
}
