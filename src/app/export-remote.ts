import { existsSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { ReprodError } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import type { RemoteTasksInput } from '../export/task-spec.js';
import { sourcePaths } from '../export/task-spec.js';
import { objectKey } from '../remote/layout.js';
import { defaultJobs, displayUrl, resolveRemote } from '../remote/remote-config.js';
import { selectRuntime, type Project, type Spec } from './project.js';
import { openRemote, remoteConfigInput } from './remotes.js';

export interface RemotePrepOptions {
  log: Logger;
  /** reprod's image, whose /opt/reprod becomes the runner. */
  reprodImage: string;
  /** Tag the runner images into this registry and push them there; none: they stay in the local engine. */
  registry?: string;
  /** `-r NAME`; else core.remote. */
  remote?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Pushes every source file the tasks need to the remote, as plain DVC
 * objects (`files/md5/…`), and returns them by path. Directories are listed
 * file by file: a task fetches exactly what it needs, nothing is bundled.
 */
async function pushSources(project: Project, spec: Spec, opts: RemotePrepOptions): Promise<Record<string, string>> {
  // the files templating read (params.yaml, `vars:` files): the task reads dvc.yaml as this export did
  const extra = [...(spec.templateFiles ?? []), '.dvcignore'].filter((f) => existsSync(path.join(project.root, f)));
  const files = new Map<string, { md5: string; size: number }>();
  for (const p of sourcePaths(spec.pipeline, extra)) {
    const r = await project.hasher.hash(p);
    if (!r) {
      throw new ReprodError('DEP_MISSING', `'${p}' does not exist: the tasks need it as a source`, {
        remedy: 'Create it (or fix the path in dvc.yaml), then export again.',
      });
    }
    if (r.entries) {
      for (const e of r.entries) files.set(`${p}/${e.relpath}`, { md5: e.md5, size: e.size });
    } else {
      files.set(p, { md5: r.info.md5, size: r.info.size });
    }
  }
  await project.hasher.flush();
  const rs = resolveRemote(remoteConfigInput(project.root, opts.env ?? process.env), opts.remote);
  if (rs.kind !== 's3') {
    const why = rs.kind === 'local' ? `is a folder (${rs.url}), which tasks on other machines cannot reach` : `is a ${rs.kind} remote (${displayUrl(rs.url)}); the tasks reach S3 remotes only`;
    throw new ReprodError('USAGE', `--data remote: remote '${rs.name}' ${why}`, {
      remedy: 'Use an S3 (or S3-compatible) remote: `dvc remote add -d NAME s3://bucket/prefix`.',
    });
  }
  const remote = openRemote(rs);
  try {
    const keys = [...new Set([...files.values()].map((f) => objectKey(f.md5)))];
    const present = await remote.existing(keys, { jobs: rs.jobs ?? defaultJobs(availableParallelism()) });
    const sent = new Set<string>();
    for (const [p, f] of files) {
      const key = objectKey(f.md5);
      if (present.has(key) || sent.has(key)) continue;
      await remote.put(key, path.join(project.root, p), statSync(path.join(project.root, p)).size);
      sent.add(key);
    }
    opts.log.info({ sources: files.size, pushed: sent.size, remote: remote.display }, 'sources on the remote');
  } finally {
    remote.close();
  }
  return Object.fromEntries([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([p, f]) => [p, f.md5]));
}

/**
 * What `--data remote` tasks need from the workspace, made ready: each
 * stage's runner image (its image with reprod's runner layered on; pushed to
 * the registry when one is named), and the sources on the remote.
 */
export async function prepareRemoteTasks(project: Project, spec: Spec, opts: RemotePrepOptions): Promise<Omit<RemoteTasksInput, 'dag'>> {
  const selected = await selectRuntime(project, spec, 'auto', opts.log);
  const docker = selected.docker;
  const hostStages = spec.pipeline.stages.filter((s) => selected.resolve(s).kind !== 'container').map((s) => s.name);
  if (!docker || hostStages.length > 0) {
    throw new ReprodError('USAGE', `--data remote: stage${hostStages.length === 1 ? '' : 's'} ${hostStages.map((s) => `'${s}'`).join(', ')} run${hostStages.length === 1 ? 's' : ''} on the host, and a task has no host`, {
      remedy: 'Give every stage an image: a stages/<stage>/Dockerfile, or `image:` in its manifest (manifests/README.md).',
    });
  }
  const [{ connectEngine }, { ensureRunnerImage, pushToRegistry }] = await Promise.all([import('../adapters/docker/engine.js'), import('../adapters/docker/runner-image.js')]);
  const engine = connectEngine();
  const signal = new AbortController().signal;
  const runners = new Map<string, string>();
  const stages: RemoteTasksInput['stages'] = [];
  for (const stage of spec.pipeline.stages) {
    const r = selected.resolve(stage);
    const prepared = await docker.prepare(stage, signal);
    if (prepared.kind !== 'container' || r.kind !== 'container') throw new Error(`stage ${stage.name} resolved to a container but prepared on the host`);
    let image = runners.get(prepared.imageId);
    if (!image) {
      image = await ensureRunnerImage(
        docker.builder,
        { stageRef: prepared.ref, stageId: prepared.imageId, reprodImage: opts.reprodImage, group: stage.group, contextDir: path.join(project.root, '.dvc', 'tmp', 'reprod', 'runner') },
        signal,
      );
      if (opts.registry) image = await pushToRegistry(engine, image, opts.registry, signal);
      runners.set(prepared.imageId, image);
    }
    stages.push({ stage, image, settings: r.settings });
  }
  const sources = await pushSources(project, spec, opts);
  const st = statSync(project.root);
  const dvcConfigFile = path.join(project.root, '.dvc', 'config');
  return { stages, sources, dvcConfig: existsSync(dvcConfigFile) ? readFileSync(dvcConfigFile, 'utf8') : '', user: `${st.uid}:${st.gid}` };
}
