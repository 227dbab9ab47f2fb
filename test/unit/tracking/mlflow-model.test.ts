import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { completeMlmodel, MLFLOW_ENV_FILES, MLMODEL_FILE, mlmodelProblems, pythonUtcTime } from '../../../src/tracking/mlflow-model.js';

/** MLflow 2.17's model format, as read from its source (see the fixture's `about`). */
const format = JSON.parse(readFileSync(new URL('../../fixtures/mlflow-2.17-model-format.json', import.meta.url), 'utf8')) as {
  mlmodelFile: string;
  metadataFiles: string[];
};

const STAGE_MLMODEL = `flavors:
  python_function:
    env:
      conda: conda.yaml
      virtualenv: python_env.yaml
    loader_module: mlflow.sklearn
    model_path: model.pkl
    predict_fn: predict
    python_version: 3.11.2
  sklearn:
    code: null
    pickled_model: model.pkl
    serialization_format: pickle
    sklearn_version: '1.2'
mlflow_version: 2.17.2
model_size_bytes: 1582
`;

describe('MLflow Model files', () => {
  it('names the files MLflow names', () => {
    expect(MLMODEL_FILE).toBe(format.mlmodelFile);
    expect([MLMODEL_FILE, ...MLFLOW_ENV_FILES].sort()).toEqual([...format.metadataFiles].sort());
  });

  it("writes the logged copy as log_model would: the run's fields added, keys sorted, strings that YAML 1.1 would misread quoted", () => {
    const text = completeMlmodel(STAGE_MLMODEL, {
      artifactPath: 'model',
      runId: '12345678901234567890123456789012',
      modelUuid: '0123456789abcdef0123456789abcdef',
      createdAt: new Date('2026-12-02T01:02:03.456Z'),
    });
    expect(text).toBe(
      'artifact_path: model\n' +
        STAGE_MLMODEL +
        "model_uuid: 0123456789abcdef0123456789abcdef\nrun_id: '12345678901234567890123456789012'\nutc_time_created: '2026-12-02 01:02:03.456000'\n",
    );
    // what PyYAML's safe_load gives MLflow back: strings stay strings
    const doc = parse(text, { version: '1.1' }) as Record<string, unknown>;
    expect(doc['run_id']).toBe('12345678901234567890123456789012');
    expect(doc['utc_time_created']).toBe('2026-12-02 01:02:03.456000');
  });

  it('keeps what the stage already wrote, and leaves out a run id not known yet', () => {
    const text = completeMlmodel(`${STAGE_MLMODEL}run_id: abc\n`, { artifactPath: 'model', modelUuid: 'u', createdAt: new Date(0) });
    expect(parse(text)).toMatchObject({ run_id: 'abc', model_uuid: 'u', utc_time_created: '1970-01-01 00:00:00.000000' });
    expect(parse(completeMlmodel(STAGE_MLMODEL, { artifactPath: 'model', modelUuid: 'u', createdAt: new Date(0) }))).not.toHaveProperty('run_id');
  });

  it("formats a time as Python's str(datetime)", () => {
    expect(pythonUtcTime(new Date('2024-01-02T03:04:05.006Z'))).toBe('2024-01-02 03:04:05.006000');
  });

  it('says what keeps an MLmodel from loading', () => {
    expect(mlmodelProblems(STAGE_MLMODEL, 'm/MLmodel')).toEqual([]);
    expect(mlmodelProblems('a: [', 'm/MLmodel')[0]).toMatch(/^m\/MLmodel: not YAML/);
    expect(mlmodelProblems('mlflow_version: 2.17.2\n', 'm/MLmodel')).toEqual(['m/MLmodel: no flavors']);
    expect(mlmodelProblems('flavors:\n  python_function: {model_path: m.pkl}\n  sklearn: {pickled_model: m.pkl, serialization_format: joblib}\n', 'M')).toEqual([
      'M: flavors.python_function has no loader_module',
      'M: flavors.sklearn.serialization_format must be pickle or cloudpickle',
    ]);
  });
});
