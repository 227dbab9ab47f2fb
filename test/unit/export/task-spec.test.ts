import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import type { Pipeline } from '../../../src/core/types.js';
import { bindTasks, CONFIRM_SCRIPT, CONFIRM_TASK, parseTaskSources, remoteTasks, RUNNER, secretsInConfig, sourcePaths, TASK_ENV } from '../../../src/export/task-spec.js';
import { buildDag } from '../../../src/pipeline/dag.js';
import { fileStage } from '../../helpers/stages.js';

//   gen ─► split ─┬─► score
//                 └─► plot
const stages = [
  fileStage('gen', ['src/gen.py'], ['data/raw.txt'], { params: [{ defPath: 'params.yaml', path: 'params.yaml', keys: ['gen'] }] }),
  fileStage('split', ['data/raw.txt'], ['data/parts']),
  fileStage('score', ['data/parts/a.txt', 'src/score.py'], [['metrics.json', 'metric']], { cmd: ['mkdir -p m', 'score'] }),
  fileStage('plot', ['data/parts', 'src'], ['plots/p.csv']),
];
const pipeline: Pipeline = { file: 'dvc.yaml', stages, params: [], metrics: [], plots: [] };
const dag = buildDag(pipeline);

describe('sourcePaths', () => {
  it('dvc.yaml, params files and every dependency no stage writes (inside an output counts as written)', () => {
    expect(sourcePaths(pipeline, ['.dvcignore'])).toEqual(['.dvcignore', 'dvc.yaml', 'params.yaml', 'src', 'src/gen.py', 'src/score.py']);
  });

  it('a dependency that holds an output cannot be a source: an error naming both', () => {
    const bad: Pipeline = { ...pipeline, stages: [...stages, fileStage('all', ['data'], ['report.txt'])] };
    expect(() => sourcePaths(bad, [])).toThrow(ReprodError);
    expect(() => sourcePaths(bad, [])).toThrow(/dependency 'data' contains the output 'data\/raw.txt'/);
  });
});

describe('remoteTasks', () => {
  const input = { dag, stages: stages.map((stage) => ({ stage, image: `r/${stage.name}-runner:ctx-1` })), dvcConfig: '[core]\n', sources: { 'dvc.yaml': 'a'.repeat(32) }, user: '1:2' };

  it('each task runs the runner on its stage, with no mount, the sources and config in its environment, the network left to the deployment', () => {
    const tasks = remoteTasks(input);
    expect(tasks.map((t) => [t.id, t.upstream])).toEqual([['gen', []], ['split', ['gen']], ['score', ['split']], ['plot', ['split']]]);
    const t = tasks[2]!;
    expect(t.argv).toEqual([RUNNER, 'stage-run', 'score']);
    expect(t.mounts).toEqual([]);
    expect(t.network).toBeUndefined();
    expect(t.remoteSecrets).toBe(true);
    expect(Object.fromEntries(t.env)[TASK_ENV.sources]).toBe(JSON.stringify(input.sources));
    expect(t.user).toBe('1:2');
  });

  it('refuses text that Airflow would read as a template', () => {
    expect(() => remoteTasks({ ...input, sources: { 'a{{b}}.py': 'a'.repeat(32) } })).toThrow(/template/);
  });
});

describe('bindTasks', () => {
  it("mounts the workspace at its host path, runs each cmd list in its own shells, and ends with the commit task after the sinks", () => {
    const tasks = bindTasks({ dag, stages: stages.map((stage) => ({ stage, image: `reprod/${stage.name}:ctx-1` })), hostWorkspace: '/srv/ws', user: '1:2', reprodImage: 'reprod/reprod:latest' });
    const score = tasks.find((t) => t.id === 'score')!;
    expect(score.argv).toEqual(['/bin/sh', '-c', "/bin/sh -c 'mkdir -p m' && /bin/sh -c score"]);
    expect(score.mounts).toEqual([{ source: '/srv/ws', target: '/srv/ws' }]);
    expect(score.network).toBe('none');
    const confirm = tasks.at(-1)!;
    expect(confirm.id).toBe(CONFIRM_TASK);
    expect(confirm.argv).toEqual(['/bin/sh', '-c', CONFIRM_SCRIPT]);
    expect(confirm.upstream.sort()).toEqual(['plot', 'score']);
  });
});

describe('parseTaskSources', () => {
  it('reads the paths and md5s the export wrote', () => {
    expect(parseTaskSources(JSON.stringify({ 'dvc.yaml': 'a'.repeat(32), 'src/x.py': 'b'.repeat(32) }))).toEqual({ 'dvc.yaml': 'a'.repeat(32), 'src/x.py': 'b'.repeat(32) });
  });

  it('refuses anything that would be written outside the scratch workspace, or into its .dvc, and what is not an md5', () => {
    for (const p of ['../x', '/etc/passwd', 'a/../../x', './dvc.yaml', '.dvc/config', '.']) {
      expect(() => parseTaskSources(JSON.stringify({ [p]: 'a'.repeat(32) })), p).toThrow(/REPROD_SOURCES: '.*' is not a path inside the workspace/);
    }
    expect(() => parseTaskSources(JSON.stringify({ 'dvc.yaml': 'xyz' }))).toThrow(/is not an md5/);
    expect(() => parseTaskSources('[1]')).toThrow(/not a JSON object/);
    expect(() => parseTaskSources('{')).toThrow(/not JSON/);
    expect(() => parseTaskSources(undefined)).toThrow(/not set/);
  });
});

describe('secrets in .dvc/config', () => {
  it('are found with their lines, and a remote export refuses to carry them', () => {
    const text = "[core]\n    remote = s3\n['remote \"s3\"']\n    url = s3://b/p\n    secret_access_key = abc\n";
    expect(secretsInConfig(text)).toEqual([{ key: 'secret_access_key', line: 5 }]);
    expect(secretsInConfig('[core]\n    remote = s3\n')).toEqual([]);
    const stage = fileStage('a', ['x'], ['y']);
    const call = () => remoteTasks({ dag: buildDag({ ...pipeline, stages: [stage] }), stages: [{ stage, image: 'i:1' }], dvcConfig: text, sources: {}, user: '0:0' });
    expect(call).toThrow(/'secret_access_key' is a secret/);
    let thrown: unknown;
    try {
      call();
    } catch (e) {
      thrown = e;
    }
    expect((thrown as ReprodError).location).toBe('.dvc/config:5: secret_access_key');
  });
});
