/**
 * `reprod export airflow`: the file compiles (`python3 -m py_compile`), and
 * executed against stand-ins of Airflow's classes its task graph equals
 * reprod's DAG, for the example pipeline and for a foreach/matrix pipeline.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpec } from '../../../src/app/project.js';
import { dagEdges } from '../../../src/pipeline/dag-format.js';
import { taskId } from '../../../src/export/airflow-dag.js';
import { busyboxImage, engine, runContainerBody, type ContainerBody } from '../../helpers/docker.js';
import { reprod, tempDir } from '../../helpers/workspace.js';
import { writeExportPipeline } from '../../helpers/export-pipeline.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const STUB = path.join(REPO, 'test/fixtures/airflow-stub');

interface LoadedDag {
  dag_id: string;
  tasks: Record<
    string,
    { operator: string; image?: string; entrypoint?: string[]; command?: unknown; network_mode?: string; user?: string; working_dir?: string; bash_command?: string; labels?: Record<string, string>; container?: ContainerBody }
  >;
  edges: [string, string][];
}

/** Compiles the file and executes it against the stand-ins (the Docker provider Airflow 2.10 bundles, unless `provider` says another). */
function compileAndLoad(file: string, provider = '3.12.3'): LoadedDag {
  execFileSync('python3', ['-m', 'py_compile', file]);
  const out = execFileSync('python3', [path.join(STUB, 'load_dag.py'), file], {
    env: { ...process.env, PYTHONPATH: STUB, PYTHONDONTWRITEBYTECODE: '1', AIRFLOW_STUB_DOCKER_PROVIDER: provider },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out) as LoadedDag;
}

function expectSameGraph(root: string, loaded: LoadedDag, withCheck: boolean): void {
  const { dag } = loadSpec(root);
  const stageTasks = Object.keys(loaded.tasks).filter((t) => t !== 'reprod_confirm_up_to_date');
  expect(stageTasks.sort()).toEqual(dag.stages.map((s) => taskId(s.name)).sort());
  const stageEdges = loaded.edges.filter(([, b]) => b !== 'reprod_confirm_up_to_date');
  expect(stageEdges).toEqual(dagEdges(dag).map(([a, b]) => [taskId(a), taskId(b)]).sort());
  if (withCheck) {
    const sinks = dag.stages.filter((s) => (dag.downstream.get(s.name) ?? []).length === 0).map((s) => taskId(s.name));
    expect(loaded.edges.filter(([, b]) => b === 'reprod_confirm_up_to_date').map(([a]) => a).sort()).toEqual(sinks.sort());
  }
}

describe('export airflow', () => {
  it('the example pipeline: one DockerOperator per stage, in the image reprod builds, same graph', async () => {
    using ws = tempDir();
    for (const p of ['dvc.yaml', 'params.yaml', 'stages', '.dvc/config', '.dvcignore']) cpSync(path.join(REPO, p), path.join(ws.path, p), { recursive: true });
    const res = await reprod(ws.path, 'export', 'airflow', '--out', 'dags/example.py');
    expect(res.code, res.stderr).toBe(0);
    const loaded = compileAndLoad(path.join(ws.path, 'dags/example.py'));
    expectSameGraph(ws.path, loaded, true);
    const train = loaded.tasks.train;
    expect(train?.operator).toBe('DockerOperator');
    expect(train?.image).toMatch(/^reprod\/train:ctx-[0-9a-f]{12}$/);
    // the whole process in `entrypoint`, as a list: docker-py passes it as it is
    expect(train?.entrypoint).toEqual(['/bin/sh', '-c', 'python3 stages/train/train.py']);
    expect(train?.container?.Entrypoint).toEqual(['/bin/sh', '-c', 'python3 stages/train/train.py']);
    expect(train?.container?.Cmd).toBeNull();
    // provider 3.12.3 has no `labels`: the file leaves it out there
    expect(train?.labels).toBeUndefined();
    expect(train?.network_mode).toBe('none');
    expect(train?.working_dir).toBe(ws.path);
    // the image named is the one reprod would run the stage in
    expect(execFileSync('docker', ['image', 'inspect', '-f', '{{.Id}}', train?.image as string], { encoding: 'utf8' }).trim()).toMatch(/^sha256:/);
  });

  it('a foreach/matrix pipeline: stages expanded, host stages as BashOperator, cmd lists kept in their own shells', async () => {
    const docker = await engine();
    const image = await busyboxImage(docker);
    using ws = tempDir();
    mkdirSync(path.join(ws.path, 'stages/gen'), { recursive: true });
    writeFileSync(path.join(ws.path, 'stages/gen/Dockerfile'), `FROM ${image}\n`);
    writeFileSync(path.join(ws.path, 'params.yaml'), 'models:\n  small: {size: 2}\n  large: {size: 5}\n');
    writeFileSync(
      path.join(ws.path, 'dvc.yaml'),
      [
        'stages:',
        '  gen:',
        '    foreach: ${models}',
        '    do:',
        '      cmd: mkdir -p out && echo ${item.size} > out/${key}.txt',
        '      outs:',
        '        - out/${key}.txt',
        '  grid:',
        '    matrix:',
        '      model: [small, large]',
        '      lr: [0.1, 0.01]',
        '    cmd:',
        '      - mkdir -p grid',
        '      - cat out/${item.model}.txt > grid/${item.model}-${item.lr}.txt',
        '    deps:',
        '      - out/${item.model}.txt',
        '    outs:',
        '      - grid/${item.model}-${item.lr}.txt',
        '',
      ].join('\n'),
    );
    const out = path.join(ws.path, 'dag.py');
    const res = await reprod(ws.path, 'export', 'airflow', '--out', 'dag.py', '--no-check');
    expect(res.code, res.stderr).toBe(0);
    const loaded = compileAndLoad(out);
    expectSameGraph(ws.path, loaded, false);
    expect(loaded.tasks['gen.small']?.operator).toBe('DockerOperator');
    expect(loaded.tasks['gen.small']?.entrypoint).toEqual(['/bin/sh', '-c', 'mkdir -p out && echo 2 > out/small.txt']);
    const grid = loaded.tasks['grid.small-0.1'];
    expect(grid?.operator).toBe('BashOperator');
    expect(grid?.bash_command).toBe("/bin/sh -c 'mkdir -p grid' && /bin/sh -c 'cat out/small.txt > grid/small-0.1.txt' ");
    expect(loaded.edges).toContainEqual(['gen.small', 'grid.small-0.1']);
  });
});

describe('export airflow: providers and the final task', () => {
  it('imports on the provider Airflow 2.10 bundles and on 4.x (labels only there); refuses an older one, saying which', async () => {
    const image = await busyboxImage(await engine());
    using ws = tempDir();
    writeExportPipeline(ws.path, image);
    const res = await reprod(ws.path, 'export', 'airflow', '--out', 'dag.py');
    expect(res.code, res.stderr).toBe(0);
    const file = path.join(ws.path, 'dag.py');
    expect(compileAndLoad(file, '3.12.3').tasks.gen?.labels).toBeUndefined();
    expect(compileAndLoad(file, '4.2.1').tasks.gen?.labels).toEqual({ 'reprod.stage': 'gen', 'reprod.managed': 'airflow' });
    expect(() => compileAndLoad(file, '3.11.0')).toThrow(/apache-airflow-providers-docker>=3\.12\.3, not 3\.11\.0/);
  });

  it('the bind-mount DAG, run task by task as docker-py builds each container, ends with the same dvc.lock as `reprod repro`', async () => {
    const docker = await engine();
    const image = await busyboxImage(docker);
    using ws = tempDir();
    using local = tempDir();
    writeExportPipeline(ws.path, image);
    writeExportPipeline(local.path, image);
    const res = await reprod(ws.path, 'export', 'airflow', '--out', 'dag.py');
    expect(res.code, res.stderr).toBe(0);
    const loaded = compileAndLoad(path.join(ws.path, 'dag.py'));
    const order = ['gen', 'split', 'score', 'reprod_confirm_up_to_date'];
    expect(loaded.edges).toEqual([['gen', 'split'], ['score', 'reprod_confirm_up_to_date'], ['split', 'score']]);
    for (const id of order) {
      const body = loaded.tasks[id]?.container as ContainerBody;
      const run = await runContainerBody(docker, body);
      expect(run.exitCode, `${id}: ${run.output}`).toBe(0);
    }
    expect(existsSync(path.join(ws.path, 'dvc.lock'))).toBe(true);
    const repro = await reprod(local.path, 'repro');
    expect(repro.code, repro.stderr).toBe(0);
    expect(readFileSync(path.join(ws.path, 'dvc.lock'), 'utf8')).toBe(readFileSync(path.join(local.path, 'dvc.lock'), 'utf8'));
    const status = await reprod(ws.path, 'status', '--json');
    expect(status.stdout.trim()).toBe('{}');
  }, 180_000); // seven containers, one after another, on a shared engine
});
