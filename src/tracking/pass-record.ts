import type { PyDict } from '../core/pyvalue.js';
import type { PassRecord, TrackedMetric, TrackedParam, TrackedTag } from '../core/ports.js';
import type { Stage } from '../core/types.js';
import { stageParams } from './stage-record.js';

/**
 * What a pass's parent run carries when the pass ends (pure: the caller
 * reads the files). MLflow compares runs by their own params and metrics, so
 * the parent run holds the whole pipeline's, not only its nested runs':
 *
 *   params   every params dep of every stage of the pipeline, flattened as the
 *            stage runs log them (`train.C`): a stage that ran in the pass
 *            gives the values it ran with, any other stage the files' values
 *            at the end of the pass; a key goes in once (the first stage, in
 *            pipeline order, that has it)
 *   metrics  every metric a stage produced in the pass (ran or restored from
 *            the run-cache), in pipeline order; a key a previous stage already
 *            gave is logged as `<stage>/<key>`
 *   tags     `reprod.stages.ran`, `reprod.stages.restored`: which stages did
 *            what in the pass (comma-separated, pipeline order)
 */

/** What one stage gave a pass. */
export interface PassStageResult {
  stage: Stage;
  action: 'ran' | 'restored';
  /** Params as the stage's run read them. */
  params: readonly TrackedParam[];
  metrics: readonly TrackedMetric[];
}

export interface PassRecordInput {
  /** The pipeline's stages, in pipeline order. */
  stages: readonly Stage[];
  /** Params files by workspace path, as they are at the end of the pass (null: missing or unreadable). */
  paramsFiles: ReadonlyMap<string, PyDict | null>;
  /** What the stages that ran or were restored in the pass gave, by stage name. */
  results: ReadonlyMap<string, PassStageResult>;
}

/** The params files the pipeline's stages read (to load before building the record). */
export function pipelineParamsFiles(stages: readonly Stage[]): string[] {
  return [...new Set(stages.flatMap((s) => s.params.map((p) => p.path)))].sort();
}

export function buildPassRecord(input: PassRecordInput): { record: PassRecord; problems: string[] } {
  const params: TrackedParam[] = [];
  const problems: string[] = [];
  const seenParams = new Map<string, string>();
  const ordered = orderedStages(input);
  for (const stage of ordered) {
    const own = input.results.get(stage.name)?.params ?? stageParams(stage, input.paramsFiles);
    for (const p of own) {
      const before = seenParams.get(p.key);
      if (before === undefined) {
        seenParams.set(p.key, p.value);
        params.push({ key: p.key, value: p.value });
      } else if (before !== p.value) {
        problems.push(`param ${p.key}: stage ${stage.name} read '${p.value}', the pass's run keeps '${before}'`);
      }
    }
  }
  const metrics: TrackedMetric[] = [];
  const seenMetrics = new Set<string>();
  const ran: string[] = [];
  const restored: string[] = [];
  for (const stage of ordered) {
    const r = input.results.get(stage.name);
    if (!r) continue;
    (r.action === 'ran' ? ran : restored).push(stage.name);
    for (const m of r.metrics) {
      const key = seenMetrics.has(m.key) ? `${stage.name}/${m.key}` : m.key;
      if (seenMetrics.has(key)) continue;
      seenMetrics.add(key);
      metrics.push({ ...m, key });
    }
  }
  const tags: TrackedTag[] = [];
  if (ran.length) tags.push({ key: 'reprod.stages.ran', value: ran.join(',') });
  if (restored.length) tags.push({ key: 'reprod.stages.restored', value: restored.join(',') });
  return { record: { params, metrics, tags }, problems };
}

/** The pipeline's stages, then any stage that gave a result and is no longer in it (the spec changed mid-pass), by name. */
function orderedStages(input: PassRecordInput): Stage[] {
  const names = new Set(input.stages.map((s) => s.name));
  const gone = [...input.results.values()].filter((r) => !names.has(r.stage.name)).map((r) => r.stage);
  return [...input.stages, ...gone.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))];
}
