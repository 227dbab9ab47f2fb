import { ReprodError } from '../core/errors.js';
import { getDotted, type PyDict } from '../core/pyvalue.js';
import type {
  StageRunRecord,
  TrackedArtifact,
  TrackedMetric,
  TrackedParam,
  TrackedRunStatus,
  TrackedTag,
} from '../core/ports.js';
import type { ChangeReason, LockStage, Stage } from '../core/types.js';
import { parseParamsText } from '../pipeline/params-file.js';
import { describeReason } from '../pipeline/stage-status.js';
import { flattenMetrics, flattenParams } from './flatten.js';

/**
 * What MLflow records about a stage run, built from the stage and what it
 * read and wrote (pure: the caller reads the files).
 *
 *   params   the stage's params deps, flattened (`train.C` → `1.0`, values as
 *            Python's `str()`); keys of a params file other than
 *            `params.yaml` are prefixed with its path (`conf/a.yaml/lr`)
 *   metrics  numeric leaves of its `metrics:` outs (JSON, YAML or TOML),
 *            nested keys joined with `.`, step 0, stamped with the end time
 *   tags     `reprod.stage`, `reprod.cmd`, `reprod.image`, `reprod.run-id`,
 *            `reprod.reasons`, `reprod.dep.<path>` / `reprod.out.<path>` md5s,
 *            `mlflow.source.*`, `mlflow.user`, `mlflow.source.git.commit`
 *   artifacts  the `metrics:` and `plots:` outs, at their workspace paths
 */

export const DEFAULT_PARAMS_FILE = 'params.yaml';

/** What a pass or stage run says about where it came from. */
export interface RunSource {
  /** Workspace-relative dvc.yaml. */
  pipelineFile: string;
  /** `mlflow.user`. */
  user?: string;
  /** HEAD's commit, when the workspace is a git checkout. */
  gitCommit?: string;
}

function sourceTags(src: RunSource, type: 'PROJECT' | 'JOB', name: string): TrackedTag[] {
  const tags: TrackedTag[] = [
    { key: 'mlflow.source.name', value: name },
    { key: 'mlflow.source.type', value: type },
  ];
  if (src.user) tags.push({ key: 'mlflow.user', value: src.user });
  if (src.gitCommit) tags.push({ key: 'mlflow.source.git.commit', value: src.gitCommit });
  return tags;
}

/** Tags of a pass's parent run: the pipeline as a project. */
export function passTags(src: RunSource): TrackedTag[] {
  return [...sourceTags(src, 'PROJECT', src.pipelineFile), { key: 'reprod.kind', value: 'pipeline' }];
}

export interface StageStart {
  stage: Stage;
  /** reprod's own run id (container labels, logs). */
  reprodRunId: string;
  /** Image ID, or `host`. */
  runtime: string;
  reasons: readonly ChangeReason[];
}

/** Tags known when a stage starts: a stage run is a job of the pipeline. */
export function stageStartTags(src: RunSource, start: StageStart): TrackedTag[] {
  const { stage } = start;
  const tags = sourceTags(src, 'JOB', `${src.pipelineFile}:${stage.name}`);
  tags.push(
    { key: 'reprod.stage', value: stage.name },
    { key: 'reprod.run-id', value: start.reprodRunId },
    { key: 'reprod.cmd', value: typeof stage.cmd === 'string' ? stage.cmd : stage.cmd.join('\n') },
    { key: 'reprod.image', value: start.runtime },
  );
  if (start.reasons.length) tags.push({ key: 'reprod.reasons', value: start.reasons.map(describeReason).join('; ') });
  return tags;
}

/** Params of a stage from its params files' contents (null: the file is missing). */
export function stageParams(stage: Stage, files: ReadonlyMap<string, PyDict | null>): TrackedParam[] {
  const out: TrackedParam[] = [];
  for (const dep of stage.params) {
    const doc = files.get(dep.path);
    if (!doc) continue;
    const prefix = dep.path === DEFAULT_PARAMS_FILE ? '' : `${dep.path}/`;
    const pairs: [string, string][] = [];
    if (dep.keys === null) {
      pairs.push(...flattenParams(doc, ''));
    } else {
      for (const key of dep.keys) {
        const found = getDotted(doc, key);
        if (found.found) pairs.push(...flattenParams(found.value, key));
      }
    }
    for (const [key, value] of pairs) out.push({ key: prefix + key, value });
  }
  return out;
}

/** Parses params files (texts by workspace path; undefined: missing); an unreadable file is a problem, not an error. */
export function parseParamsFiles(texts: ReadonlyMap<string, string | undefined>): { files: Map<string, PyDict | null>; problems: string[] } {
  const files = new Map<string, PyDict | null>();
  const problems: string[] = [];
  for (const [file, text] of texts) {
    if (text === undefined) {
      files.set(file, null);
      continue;
    }
    try {
      files.set(file, parseParamsText(text, file));
    } catch (e) {
      if (!(e instanceof ReprodError)) throw e;
      files.set(file, null);
      problems.push(`params not read: ${e.message}`);
    }
  }
  return { files, problems };
}

/**
 * Metrics of a stage from its metrics files' texts (undefined: missing). A
 * key seen in an earlier file is logged as `<file>/<key>` (`dvc metrics show`
 * keeps files apart too).
 */
export function stageMetrics(
  stage: Stage,
  texts: ReadonlyMap<string, string | undefined>,
  timestamp: number,
): { metrics: TrackedMetric[]; problems: string[] } {
  const metrics: TrackedMetric[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const out of stage.outs) {
    if (out.kind !== 'metric') continue;
    const text = texts.get(out.path);
    if (text === undefined) continue;
    let doc: PyDict;
    try {
      doc = parseParamsText(text, out.path);
    } catch (e) {
      if (!(e instanceof ReprodError)) throw e;
      problems.push(`metrics not logged: ${e.message.replace(/^'[^']*': /, `'${out.path}': `)}`);
      continue;
    }
    for (const [k, value] of flattenMetrics(doc)) {
      const key = seen.has(k) ? `${out.path}/${k}` : k;
      seen.add(key);
      metrics.push({ key, value, timestamp, step: 0 });
    }
  }
  return { metrics, problems };
}

/** The metrics and plots outputs, logged where they are in the workspace. */
export function stageArtifacts(stage: Stage): TrackedArtifact[] {
  return stage.outs.filter((o) => o.kind === 'metric' || o.kind === 'plot').map((o) => ({ path: o.path, artifactPath: o.path }));
}

/** md5s of deps and outs as dvc.lock records them, keyed by workspace path. */
export function hashTags(stage: Stage, entry: LockStage | undefined): TrackedTag[] {
  if (!entry) return [];
  const wsPath = (defPath: string, specs: readonly { defPath: string; path: string }[]) => specs.find((s) => s.defPath === defPath)?.path ?? defPath;
  return [
    ...entry.deps.map((d) => ({ key: `reprod.dep.${wsPath(d.path, stage.deps)}`, value: d.md5 })),
    ...entry.outs.map((o) => ({ key: `reprod.out.${wsPath(o.path, stage.outs)}`, value: o.md5 })),
  ];
}

/**
 * Why a run failed (or was cancelled), where MLflow shows it: the
 * `reprod.error` tag (the run page's tags, a column of the runs table) and
 * the run's description (`mlflow.note.content`, at the top of its page).
 */
export function errorTags(error: string): TrackedTag[] {
  return [
    { key: 'reprod.error', value: error },
    { key: 'mlflow.note.content', value: error },
  ];
}

export interface StageFinish {
  stage: Stage;
  status: TrackedRunStatus;
  endTime: Date;
  action: 'ran' | 'restored';
  /** Params as the run read them. */
  params: TrackedParam[];
  /** Metrics files' texts, by workspace path. */
  metricsTexts: ReadonlyMap<string, string | undefined>;
  /** dvc.lock's entry after the run (deps and outs md5s); the inputs' entry when it failed. */
  entry?: LockStage;
  /** Why it failed. */
  error?: string;
}

/** The whole record of a finished stage run; `problems` are what could not be recorded. */
export function buildStageRecord(f: StageFinish): { record: StageRunRecord; problems: string[] } {
  const succeeded = f.status === 'FINISHED';
  const { metrics, problems } = succeeded ? stageMetrics(f.stage, f.metricsTexts, f.endTime.getTime()) : { metrics: [], problems: [] };
  const tags: TrackedTag[] = [{ key: 'reprod.action', value: f.action }, ...hashTags(f.stage, f.entry)];
  if (f.error) tags.push(...errorTags(f.error));
  return {
    record: {
      status: f.status,
      endTime: f.endTime,
      params: f.params,
      metrics,
      tags,
      artifacts: succeeded ? stageArtifacts(f.stage) : [],
    },
    problems,
  };
}
