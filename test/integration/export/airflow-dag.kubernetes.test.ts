/**
 * `--operator kubernetes`: the DAG file, executed against the stand-ins of
 * Airflow and of the kubernetes client's models, gives KubernetesPodOperator
 * tasks whose pods (assembled from the operator's arguments as the
 * cncf.kubernetes provider's build_pod_request_obj assembles them) validate
 * against the Kubernetes API's published schemas.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Pipeline } from '../../../src/core/types.js';
import { airflowDagPython, MIN_KUBERNETES_PROVIDER } from '../../../src/export/airflow-dag.js';
import { remoteTasks, RUNNER } from '../../../src/export/task-spec.js';
import { buildDag } from '../../../src/pipeline/dag.js';
import { loadStubDag, type StubTask } from '../../helpers/airflow-stub.js';
import { validateK8s } from '../../helpers/k8s-schemas.js';
import { fileStage } from '../../helpers/stages.js';
import { tempDir } from '../../helpers/workspace.js';

const stages = [
  fileStage('prepare', ['src/prep.py'], ['data/clean']),
  fileStage('train@small', ['data/clean'], ['models/small.pkl'], { group: 'train' }),
];
const pipeline: Pipeline = { file: 'dvc.yaml', stages, params: [], metrics: [], plots: [] };

/** The pod the provider builds from a task's arguments (the fields reprod's DAG sets). */
function podOf(t: StubTask): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: t.name, namespace: t.namespace, labels: t.labels },
    spec: {
      restartPolicy: 'Never',
      securityContext: t.security_context,
      containers: [
        {
          name: 'base',
          image: t.image,
          command: t.cmds,
          args: t.arguments,
          env: t.env_vars,
          ...(t.container_resources ? { resources: t.container_resources } : {}),
          securityContext: t.container_security_context,
        },
      ],
    },
  };
}

describe('export airflow --operator kubernetes', () => {
  it('KubernetesPodOperator tasks: the runner, credentials from the connection, pods valid against the schemas', () => {
    using dir = tempDir();
    const tasks = remoteTasks({
      dag: buildDag(pipeline),
      stages: [
        { stage: stages[0]!, image: 'registry.example/reprod-prepare-runner:ctx-0123456789ab' },
        { stage: stages[1]!, image: 'registry.example/reprod-train-runner:ctx-0123456789ab', settings: { network: 'none', cpus: 2, memoryBytes: 1024 ** 3, env: {} } },
      ],
      dvcConfig: "[core]\n    remote = s3\n['remote \"s3\"']\n    url = s3://bucket/p\n",
      sources: { 'dvc.yaml': '0'.repeat(32), 'src/prep.py': '1'.repeat(32) },
      user: '1000:1000',
    });
    const file = path.join(dir.path, 'dag.py');
    const text = airflowDagPython({ tasks, dagId: 'reprod_demo', title: 'demo', data: 'remote', operator: 'kubernetes' });
    expect(text).toContain(`apache-airflow-providers-cncf-kubernetes>={MIN_PROVIDER}`);
    expect(text).toContain(`MIN_PROVIDER = "${MIN_KUBERNETES_PROVIDER}"`);
    writeFileSync(file, text);
    const dag = loadStubDag(file, {
      AIRFLOW_CONN_REPROD_REMOTE: JSON.stringify({ conn_type: 'aws', login: 'AKIDEXAMPLE', password: 'not-in-the-file' }),
      AIRFLOW_VAR_REPROD_NAMESPACE: 'ml',
    });
    expect(text).not.toContain('not-in-the-file');
    expect(Object.keys(dag.tasks).sort()).toEqual(['prepare', 'train.small']);
    expect(dag.edges).toEqual([['prepare', 'train.small']]);
    const train = dag.tasks['train.small']!;
    expect(train.operator).toBe('KubernetesPodOperator');
    expect(train.cmds).toEqual([RUNNER, 'stage-run', 'train@small']);
    expect(train.namespace).toBe('ml');
    expect(train.env_vars).toContainEqual({ name: 'AWS_SECRET_ACCESS_KEY', value: 'not-in-the-file' });
    expect(train.container_resources).toEqual({ limits: { cpu: '2', memory: '1024Mi' } });
    for (const t of Object.values(dag.tasks)) validateK8s(podOf(t));
  });

  it('refuses an older provider at import, naming the minimum', () => {
    using dir = tempDir();
    const file = path.join(dir.path, 'dag.py');
    const tasks = remoteTasks({ dag: buildDag(pipeline), stages: stages.map((stage) => ({ stage, image: 'x:1' })), dvcConfig: '', sources: {}, user: '0:0' });
    writeFileSync(file, airflowDagPython({ tasks, dagId: 'd', title: 'demo', data: 'remote', operator: 'kubernetes' }));
    expect(() => loadStubDag(file, { AIRFLOW_STUB_KUBERNETES_PROVIDER: '7.14.0', AIRFLOW_CONN_REPROD_REMOTE: '{"login": "a", "password": "b"}' })).toThrow(
      new RegExp(`cncf-kubernetes>=${MIN_KUBERNETES_PROVIDER.replace(/\./g, '\\.')}, not 7\\.14\\.0`),
    );
  });
});
