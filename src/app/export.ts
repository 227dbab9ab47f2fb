import { statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { airflowDagPython, type ExportedStage } from '../export/airflow-dag.js';
import type { Logger } from '../core/ports.js';
import { loadSpec, selectRuntime, withProject } from './project.js';

export interface AirflowExportOptions {
  root: string;
  log: Logger;
  dagId?: string;
  /** reprod's image for the final check task; null = no check task. */
  reprodImage?: string | null;
}

/**
 * Builds (when needed) every stage's image, exactly as `reprod repro` would,
 * and writes the pipeline as an Airflow DAG that runs the same containers.
 */
export async function exportAirflow(opts: AirflowExportOptions): Promise<string> {
  return withProject(opts.root, opts.log, async (project) => {
    const spec = loadSpec(project.root);
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
    const name = path.basename(hostWorkspace).replace(/[^A-Za-z0-9_.-]/g, '_');
    return airflowDagPython({
      dag: spec.dag,
      stages,
      hostWorkspace,
      user: `${st.uid}:${st.gid}`,
      dagId: opts.dagId ?? `reprod_${name}`,
      ...(opts.reprodImage === null ? {} : { reprodImage: opts.reprodImage ?? 'reprod/reprod:latest' }),
    });
  });
}

/** `export airflow --out FILE`: writes the DAG's text to FILE (relative to the workspace), making its folder. */
export async function writeExport(root: string, file: string, text: string): Promise<void> {
  const abs = path.resolve(root, file);
  await mkdir(path.dirname(abs), { recursive: true });
  await writeFile(abs, text);
}
