import { isMap, parseDocument, stringify } from 'yaml';

/**
 * MLflow Models as MLflow 2.17 writes them (mlflow/models/model.py: the
 * `MLmodel` file; mlflow/pyfunc/__init__.py `add_to_model`; the flavors'
 * `save_model`): a folder with `MLmodel` at its root, the files its flavors
 * name, and the environment files `conda.yaml`, `python_env.yaml` and
 * `requirements.txt`. `mlflow.<flavor>.load_model` and
 * `mlflow.pyfunc.load_model` read `MLmodel` first; without it they fail.
 *
 * A stage writes the folder (it knows its Python and library versions;
 * stages/train/train.py does); its `MLmodel` leaves out what only the run
 * that logs it knows, so that the same inputs give the same bytes. When
 * reprod logs the folder under a run's `model/` artifacts it completes the
 * logged copy (never the workspace's) with those fields, as
 * `mlflow.<flavor>.log_model` would have written them:
 *
 *   artifact_path     the folder's path in the run's artifacts (`model`)
 *   run_id            the run's id, when known at logging time
 *   model_uuid        a fresh id (32 hex) for this logged copy
 *   utc_time_created  `YYYY-MM-DD HH:MM:SS.ffffff`, UTC, as Python's `str(datetime.utcnow())`
 *
 * Values a stage already wrote are kept.
 */

export const MLMODEL_FILE = 'MLmodel';

/** The environment files MLflow writes beside `MLmodel` (mlflow/utils/environment.py). */
export const MLFLOW_ENV_FILES = ['conda.yaml', 'python_env.yaml', 'requirements.txt'] as const;

export interface LoggedModelFields {
  artifactPath: string;
  runId?: string;
  modelUuid: string;
  createdAt: Date;
}

/** Python's `str(datetime)` of a UTC instant: `2024-10-30 12:34:56.789000`. */
export function pythonUtcTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}000`
  );
}

/** What is wrong with an `MLmodel` text for loading (empty: nothing). */
export function mlmodelProblems(text: string, file: string): string[] {
  const doc = parseDocument(text, { version: '1.1' });
  if (doc.errors.length > 0) return [`${file}: not YAML: ${doc.errors[0]?.message ?? ''}`];
  const root: unknown = doc.toJS();
  if (!isRecord(root)) return [`${file}: not a mapping`];
  const flavors = root['flavors'];
  if (!isRecord(flavors) || Object.keys(flavors).length === 0) return [`${file}: no flavors`];
  const problems: string[] = [];
  const pyfunc = flavors['python_function'];
  if (pyfunc !== undefined) {
    if (!isRecord(pyfunc) || typeof pyfunc['loader_module'] !== 'string') problems.push(`${file}: flavors.python_function has no loader_module`);
  }
  const sk = flavors['sklearn'];
  if (sk !== undefined) {
    if (!isRecord(sk) || typeof sk['pickled_model'] !== 'string') problems.push(`${file}: flavors.sklearn has no pickled_model`);
    else if (sk['serialization_format'] !== undefined && sk['serialization_format'] !== 'pickle' && sk['serialization_format'] !== 'cloudpickle') {
      problems.push(`${file}: flavors.sklearn.serialization_format must be pickle or cloudpickle`);
    }
  }
  return problems;
}

/**
 * The logged copy of an `MLmodel`: the stage's text with the run's fields
 * added, keys sorted and written as PyYAML's `safe_dump` writes them (YAML
 * 1.1: a time or an all-digit id is quoted, so that MLflow reads strings).
 */
export function completeMlmodel(text: string, f: LoggedModelFields): string {
  const doc = parseDocument(text, { version: '1.1' });
  if (doc.errors.length > 0 || !isMap(doc.contents)) return text;
  const root: unknown = doc.toJS();
  if (!isRecord(root)) return text;
  const add: Record<string, string> = {
    artifact_path: f.artifactPath,
    model_uuid: f.modelUuid,
    utc_time_created: pythonUtcTime(f.createdAt),
    ...(f.runId ? { run_id: f.runId } : {}),
  };
  for (const [k, v] of Object.entries(add)) if (root[k] === undefined || root[k] === null) root[k] = v;
  return stringify(root, { version: '1.1', sortMapEntries: true, lineWidth: 0, nullStr: 'null', indentSeq: false, singleQuote: true });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
