import { statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ReprodError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import { airflowDagPython, type AirflowOperator } from '../export/airflow-dag.js';
import { k8sJobsYaml } from '../export/k8s-jobs.js';
import { k8sName } from '../export/k8s-names.js';
import { bindTasks, remoteTasks, type ExportedStage, type TaskSpec } from '../export/task-spec.js';
import { loadSpec, selectRuntime, withProject, type Project, type Spec } from './project.js';

export type ExportData = 'bind' | 'remote';

export interface ExportOptions {
  root: string;
  log: Logger;
  /** reprod's image: the bind mode's final task, and the runner layered onto stage images in remote mode. */
  reprodImage?: string;
  /** `--data remote`: the runner images go to this registry. */
  registry?: string;
}

export interface AirflowExportOptions extends ExportOptions {
  dagId?: string;
  /** Bind mode: no final commit-and-check task. */
  noCheck?: boolean;
  data?: ExportData;
  operator?: AirflowOperator;
}

const DEFAULT_REPROD_IMAGE = 'reprod/reprod:latest';

function workspaceName(root: string): string {
  return path.basename(root).replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Bind mode: builds (when needed) every stage's image, exactly as `reprod repro` would. */
async function bindModeTasks(project: Project, spec: Spec, opts: AirflowExportOptions): Promise<{ tasks: TaskSpec[]; hostWorkspace: string }> {
  const selected = await selectRuntime(project, spec, 'auto', opts.log);
  const signal = new AbortController().signal;
  const stages: ExportedStage[] = [];
  for (const stage of spec.pipeline.stages) {
    const r = selected.resolve(stage);
    if (r.kind === 'container' && selected.docker) {
      const prepared = await selected.docker.prepare(stage, signal);
      stages.push({ stage, settings: r.settings, ...(prepared.kind === 'container' ? { image: prepared.ref } : {}) });
    } else {
      stages.push({ stage });
    }
  }
  const hostWorkspace = selected.docker ? (await selected.docker.hostPathMapper()).toHost(project.root) : project.root;
  const st = statSync(project.root);
  const tasks = bindTasks({
    dag: spec.dag,
    stages,
    hostWorkspace,
    user: `${st.uid}:${st.gid}`,
    ...(opts.noCheck ? {} : { reprodImage: opts.reprodImage ?? DEFAULT_REPROD_IMAGE }),
  });
  return { tasks, hostWorkspace };
}

/** Remote mode: runner images built (and pushed to the registry), sources pushed to the DVC remote. */
async function remoteModeTasks(project: Project, spec: Spec, opts: ExportOptions): Promise<TaskSpec[]> {
  const { prepareRemoteTasks } = await import('./export-remote.js');
  const prepared = await prepareRemoteTasks(project, spec, {
    log: opts.log,
    reprodImage: opts.reprodImage ?? DEFAULT_REPROD_IMAGE,
    ...(opts.registry ? { registry: opts.registry } : {}),
  });
  return remoteTasks({ dag: spec.dag, ...prepared });
}

/**
 * `reprod export airflow`: the pipeline as an Airflow DAG. Bind mode (the
 * default) runs every task against the workspace on this machine; `--data
 * remote` gives tasks that share nothing but the DVC remote and the registry.
 */
export async function exportAirflow(opts: AirflowExportOptions): Promise<string> {
  const data = opts.data ?? 'bind';
  const operator = opts.operator ?? 'docker';
  if (operator === 'kubernetes' && data !== 'remote') {
    throw new ReprodError('USAGE', '--operator kubernetes needs --data remote: pods cannot bind-mount the workspace of this machine', {
      remedy: 'Add --data remote (tasks then share only the DVC remote).',
    });
  }
  return withProject(opts.root, opts.log, async (project) => {
    const spec = loadSpec(project.root);
    if (data === 'remote') {
      const tasks = await remoteModeTasks(project, spec, opts);
      const name = workspaceName(project.root);
      return airflowDagPython({ tasks, dagId: opts.dagId ?? `reprod_${name}`, title: `Airflow DAG for the reprod pipeline '${name}'.`, data, operator });
    }
    const { tasks, hostWorkspace } = await bindModeTasks(project, spec, opts);
    return airflowDagPython({
      tasks,
      dagId: opts.dagId ?? `reprod_${workspaceName(hostWorkspace)}`,
      title: `Airflow DAG for the reprod pipeline in ${hostWorkspace}.`,
      data,
      operator,
    });
  });
}

export interface K8sExportOptions extends ExportOptions {
  /** Prefix of the Jobs' names (default: reprod-<workspace folder>). */
  prefix?: string;
  namespace?: string;
}

/** `reprod export k8s`: one Kubernetes Job per stage, running the `--data remote` runner. */
export async function exportK8s(opts: K8sExportOptions): Promise<string> {
  return withProject(opts.root, opts.log, async (project) => {
    const spec = loadSpec(project.root);
    const tasks = await remoteModeTasks(project, spec, opts);
    return k8sJobsYaml({ tasks, prefix: opts.prefix ?? k8sName(`reprod-${workspaceName(project.root)}`), ...(opts.namespace ? { namespace: opts.namespace } : {}) });
  });
}

/** `export --out FILE`: writes the text to FILE (relative to the workspace), making its folder. */
export async function writeExport(root: string, file: string, text: string): Promise<void> {
  const abs = path.resolve(root, file);
  await mkdir(path.dirname(abs), { recursive: true });
  await writeFile(abs, text);
}
