import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { Pipeline } from '../../../src/core/types.js';
import { JOB_BACKOFF_LIMIT, k8sJobs, k8sJobsYaml, REMOTE_SECRET } from '../../../src/export/k8s-jobs.js';
import { remoteTasks, RUNNER } from '../../../src/export/task-spec.js';
import { buildDag } from '../../../src/pipeline/dag.js';
import { fileStage } from '../../helpers/stages.js';
import { validateK8s } from '../../helpers/k8s-schemas.js';

//   prepare ─► grid@small-0.1 (memory, cpus, a manifest's env)
const stages = [
  fileStage('prepare', ['src/prep.py'], ['data/clean']),
  fileStage('grid@small-0.1', ['data/clean'], ['models/small.pkl', ['metrics/small.json', 'metric']], { group: 'grid' }),
];
const pipeline: Pipeline = { file: 'dvc.yaml', stages, params: [], metrics: [], plots: [] };
const tasks = remoteTasks({
  dag: buildDag(pipeline),
  stages: [
    { stage: stages[0]!, image: 'registry.example/reprod-prepare-runner:ctx-0123456789ab' },
    { stage: stages[1]!, image: 'registry.example/reprod-grid-runner:ctx-0123456789ab', settings: { network: 'none', cpus: 1.5, memoryBytes: 512 * 1024 * 1024, env: { OMP_NUM_THREADS: '1' } } },
  ],
  dvcConfig: "[core]\n    remote = s3\n['remote \"s3\"']\n    url = s3://bucket/p\n",
  sources: { 'dvc.yaml': '0'.repeat(32), 'src/prep.py': '1'.repeat(32) },
  user: '1000:1000',
});

describe('k8sJobs', () => {
  it('one Job per stage, each valid against the Kubernetes schemas', () => {
    const jobs = k8sJobs({ tasks, prefix: 'reprod-demo', namespace: 'ml' });
    expect(jobs.map((j) => (j.metadata as { name: string }).name)).toEqual(['reprod-demo-prepare', expect.stringMatching(/^reprod-demo-grid-small-0-1-[0-9a-f]{8}$/)]);
    for (const j of jobs) validateK8s(j);
  });

  it('runs the runner with the remote credentials from a Secret, scratch in an emptyDir, no privileges', () => {
    const [, grid] = k8sJobs({ tasks, prefix: 'reprod-demo' }) as unknown as {
      metadata: { annotations: Record<string, string>; labels: Record<string, string> };
      spec: { backoffLimit: number; template: { spec: { securityContext: unknown; containers: { command: string[]; env: { name: string; value?: string; valueFrom?: unknown }[]; resources: unknown; securityContext: unknown }[] } } };
    }[];
    const c = grid!.spec.template.spec.containers[0]!;
    expect(c.command).toEqual([RUNNER, 'stage-run', 'grid@small-0.1']);
    expect(c.env.find((e) => e.name === 'AWS_SECRET_ACCESS_KEY')).toEqual({ name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: REMOTE_SECRET, key: 'AWS_SECRET_ACCESS_KEY' } } });
    expect(c.env.filter((e) => e.value !== undefined && /secret/i.test(e.name))).toEqual([]);
    expect(c.env.find((e) => e.name === 'OMP_NUM_THREADS')?.value).toBe('1');
    expect(c.resources).toEqual({ limits: { cpu: '1.5', memory: '512Mi' } });
    expect(c.securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(grid!.spec.template.spec.securityContext).toEqual({ runAsUser: 1000, runAsGroup: 1000 });
    expect(grid!.spec.backoffLimit).toBe(JOB_BACKOFF_LIMIT);
    expect(grid!.metadata.annotations['reprod.dev/upstream']).toBe('reprod-demo-prepare');
    expect(grid!.metadata.labels['reprod.stage']).toBe('grid_small-0.1');
  });

  it('the YAML stream reads back as the same objects', () => {
    const docs = k8sJobsYaml({ tasks, prefix: 'reprod-demo' })
      .split(/^---\n/m)
      .slice(1)
      .map((d) => parse(d) as unknown);
    expect(docs).toEqual(k8sJobs({ tasks, prefix: 'reprod-demo' }));
  });

  it('a Job that breaks the schema is caught: the check can fail', () => {
    const [job] = k8sJobs({ tasks, prefix: 'reprod-demo' });
    const bad = structuredClone(job) as { spec: { template: { spec: { containers: { command: unknown }[] } } } };
    bad.spec.template.spec.containers[0]!.command = 'not a list';
    expect(() => validateK8s(bad)).toThrow(/command/);
  });
});
