/**
 * `reprod export airflow --data remote` beyond one machine: every task runs,
 * in dependency order, as its container spec (as docker-py creates it) on a
 * second Docker engine with its own data root, no mount of the workspace and
 * no network but its own namespace's loopback, where the S3 remote (s3rver)
 * listens. The workspace side (export, then `pull --run-cache` and `repro`)
 * runs in that namespace too (nsenter joins only the network: files are
 * ours). Data moves only through the remote.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { validateK8s } from '../../helpers/k8s-schemas.js';
import { busyboxImage, engine, reprodImageOfCheckout, runContainerBody } from '../../helpers/docker.js';
import { dependencyOrder, loadStubDag } from '../../helpers/airflow-stub.js';
import { writeExportPipeline } from '../../helpers/export-pipeline.js';
import { s3RemoteConfig, S3_KEY, S3_SECRET, startS3Server } from '../../helpers/s3-server.js';
import { SecondEngine } from '../../helpers/second-engine.js';
import { reprod, tempDir, writeFiles } from '../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const BIN = path.join(REPO, 'bin/reprod.js');

/** Every file under `dir` with its size: what the S3 server holds. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)}\t${statSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

describe('export airflow --data remote', () => {
  it('tasks on a second engine share only the S3 remote; the workspace then gets the same dvc.lock as a local repro; a second run runs nothing', async () => {
    const docker = await engine();
    const image = await busyboxImage(docker);
    const reprodImage = await reprodImageOfCheckout(docker);
    await using second = new SecondEngine();
    await second.start();
    expect(second.inNetns('ip', ['link', 'set', 'lo', 'up']).code).toBe(0);
    await using server = await startS3Server({ netnsOfPid: second.pid });

    using ws = tempDir();
    using local = tempDir();
    writeExportPipeline(ws.path, image);
    writeExportPipeline(local.path, image);
    const cfg = s3RemoteConfig(server, 'team/pipeline');
    writeFiles(ws.path, { '.dvc/config': cfg.config, '.dvc/config.local': cfg.local() });
    // the workspace's own commands reach the remote from the engine's namespace
    const cli = (...args: string[]) => second.inNetns(process.execPath, [BIN, '-C', ws.path, ...args]);

    const exported = cli('export', 'airflow', '--data', 'remote', '--reprod-image', reprodImage, '--out', 'dag.py');
    expect(exported.code, exported.stderr).toBe(0);
    const text = readFileSync(path.join(ws.path, 'dag.py'), 'utf8');
    // secrets come from the Airflow connection at run time, never from the file
    expect(text).not.toContain(S3_SECRET);
    expect(text).toContain('{{ conn.reprod_remote.password }}');

    // the same tasks as Kubernetes Jobs, valid against the API's schemas, with the same runner images
    const k8s = cli('export', 'k8s', '--reprod-image', reprodImage, '--namespace', 'ml');
    expect(k8s.code, k8s.stderr).toBe(0);
    const jobs = k8s.stdout.split(/^---\n/m).slice(1).map((d) => parse(d) as { metadata: { name: string }; spec: { template: { spec: { containers: { image: string; command: string[] }[] } } } });
    expect(jobs.map((j) => j.spec.template.spec.containers[0]?.command.slice(1))).toEqual([['stage-run', 'gen'], ['stage-run', 'split'], ['stage-run', 'score']]);
    for (const j of jobs) validateK8s(j);

    const load = () =>
      loadStubDag(path.join(ws.path, 'dag.py'), {
        AIRFLOW_CONN_REPROD_REMOTE: JSON.stringify({ conn_type: 'aws', login: S3_KEY, password: S3_SECRET }),
        // the engine's namespace has only loopback, where the remote is: the tasks share it
        AIRFLOW_VAR_REPROD_NETWORK_MODE: 'host',
      });
    const dag = load();
    const order = dependencyOrder(dag);
    expect(order).toEqual(['gen', 'split', 'score']);
    // the image registry's part: the runner images reach the second engine by save | load
    for (const ref of new Set(order.map((id) => dag.tasks[id]?.container?.Image as string))) second.loadImage(ref);

    const runAll = async (d = dag): Promise<string[]> => {
      const outputs: string[] = [];
      for (const id of order) {
        const body = d.tasks[id]?.container;
        expect(body?.HostConfig.Mounts, id).toEqual([]);
        const run = await runContainerBody(second.docker, body!);
        expect(run.exitCode, `${id}: ${run.output}`).toBe(0);
        outputs.push(run.output);
      }
      return outputs;
    };
    const first = await runAll();
    expect(first.map((o) => /Stage '(\w+)' ran; \d+ objects pushed/.exec(o)?.[1])).toEqual(order);
    const onRemote = tree(server.dir);
    expect(onRemote.some((f) => f.includes('/runs/'))).toBe(true);

    // the workspace: the run-cache and the objects it names, then a repro that restores instead of running
    const pulled = cli('pull', '--run-cache');
    expect(pulled.code, pulled.stderr).toBe(0);
    const repro = cli('repro');
    expect(repro.code, repro.stderr).toBe(0);
    for (const s of order) expect(repro.stdout).toContain(`Stage '${s}' is cached: restored its outputs from the run-cache`);
    const localRepro = await reprod(local.path, 'repro');
    expect(localRepro.code, localRepro.stderr).toBe(0);
    expect(readFileSync(path.join(ws.path, 'dvc.lock'), 'utf8')).toBe(readFileSync(path.join(local.path, 'dvc.lock'), 'utf8'));
    for (const f of ['data/raw.txt', 'data/parts/a.txt', 'data/parts/b.txt', 'metrics.json']) {
      expect(readFileSync(path.join(ws.path, f), 'utf8'), f).toBe(readFileSync(path.join(local.path, f), 'utf8'));
    }
    const status = cli('status', '--json');
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout.trim()).toBe('{}');

    // a second run of the DAG: every stage is in the remote's run-cache; nothing runs, nothing is pushed
    const again = await runAll();
    expect(again.map((o) => /Stage '(\w+)' is in the remote's run-cache: nothing ran/.exec(o)?.[1])).toEqual(order);
    expect(tree(server.dir)).toEqual(onRemote);

    // a changed param: the stages it reaches run again once the DAG is exported again, the rest do not
    writeFileSync(path.join(ws.path, 'params.yaml'), 'gen:\n  n: 3\nscore:\n  weight: 5\n');
    expect(cli('export', 'airflow', '--data', 'remote', '--reprod-image', reprodImage, '--out', 'dag.py').code).toBe(0);
    const third = await runAll(load());
    expect(third.map((o) => (/nothing ran/.test(o) ? 'cached' : /ran; \d+ objects pushed/.test(o) ? 'ran' : o))).toEqual(['cached', 'cached', 'ran']);
  }, 600_000);
});
