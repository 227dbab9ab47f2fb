import { ReprodError } from '../core/errors.js';
import type { Pipeline, Stage } from '../core/types.js';
import type { Dag } from '../pipeline/dag.js';
import { shellQuote } from '../pipeline/interpolate.js';
import { normalizeWsPath } from '../pipeline/paths.js';
import type { ContainerSettings } from '../pipeline/stage-runtime.js';

/**
 * The engine-neutral description of an exported pipeline's tasks, from which
 * the Airflow DAG (DockerOperator or KubernetesPodOperator) and the
 * Kubernetes Jobs are written. One place decides what a task runs; the
 * writers only spell it.
 *
 * Every container task's `argv` is its whole process (entrypoint and
 * arguments, nothing of the image's ENTRYPOINT or CMD added), given as a list
 * so that no client (docker-py splits a string command into words) can cut it.
 */

/** How one stage runs, as `reprod repro` would run it. */
export interface ExportedStage {
  stage: Stage;
  /** Image reference (tag); undefined for a stage that runs on the host. */
  image?: string;
  settings?: ContainerSettings;
}

/** Where the runner lives in a `--data remote` task's image (the layer reprod adds to the stage image). */
export const RUNNER = '/opt/reprod-runner/reprod';

/**
 * The variables a `--data remote` task's runner reads (besides the remote's
 * credentials, which come from the orchestrator's secret store).
 */
export const TASK_ENV = { dvcConfig: 'REPROD_DVC_CONFIG', sources: 'REPROD_SOURCES', scratch: 'REPROD_SCRATCH' } as const;

/** The remote's credentials: environment variable ← field of the secret (an Airflow connection, a Kubernetes Secret). */
export const REMOTE_SECRETS = [
  { env: 'AWS_ACCESS_KEY_ID', connField: 'login' },
  { env: 'AWS_SECRET_ACCESS_KEY', connField: 'password' },
] as const;

export interface TaskSpec {
  /** Airflow task id (letters, digits, `-`, `_`, `.`). */
  id: string;
  /** The stage it runs; undefined for the final workspace task. */
  stage?: string;
  comment: string;
  kind: 'container' | 'host';
  image?: string;
  /** Container tasks: the whole process. */
  argv: string[];
  /** Host tasks: the shell command for the worker. */
  hostCommand?: string;
  workingDir?: string;
  env: [string, string][];
  /** With the remote's credentials ({@link REMOTE_SECRETS}). */
  remoteSecrets: boolean;
  /** uid:gid; undefined: the image's user. */
  user?: string;
  /** Docker network; undefined: the deployment's choice (a variable), since the task must reach the remote. */
  network?: string;
  cpus?: number;
  memoryBytes?: number;
  /** Bind mounts (host path → container path); bind mode only. */
  mounts: { source: string; target: string }[];
  upstream: string[];
}

/** Airflow task ids allow letters, digits, `-`, `_` and `.`: `gen@small` becomes `gen.small`. */
export function taskId(stage: string): string {
  return stage.replace(/@/g, '.').replace(/[^A-Za-z0-9_.-]/g, '_');
}

/**
 * One command for the container: DVC runs each command of a list in its own
 * shell and stops at the first failure; so does this.
 */
export function shellCommand(cmd: string | string[]): string {
  if (typeof cmd === 'string') return cmd;
  if (cmd.length === 1) return cmd[0] as string;
  return cmd.map((c) => `/bin/sh -c ${shellQuote(c)}`).join(' && ');
}

function upstreamIds(dag: Dag, stage: string): string[] {
  return (dag.upstream.get(stage) ?? []).map(taskId);
}

function sinks(dag: Dag, stages: readonly ExportedStage[]): string[] {
  return stages.filter(({ stage }) => (dag.downstream.get(stage.name) ?? []).length === 0).map(({ stage }) => taskId(stage.name));
}

export interface BindTasksInput {
  dag: Dag;
  stages: ExportedStage[];
  /** Host path of the workspace (bind source and target, as reprod mounts it). */
  hostWorkspace: string;
  /** uid:gid the stages run as (the workspace owner's). */
  user: string;
  /** reprod's own image, for the final task; none = no final task. */
  reprodImage?: string;
}

export const CONFIRM_TASK = 'reprod_confirm_up_to_date';

/** The final bind-mode task's script: record what ran, print the status, fail if anything is still stale. */
export const CONFIRM_SCRIPT = 'node /opt/reprod/bin/reprod.js commit && node /opt/reprod/bin/reprod.js status --json && node /opt/reprod/bin/reprod.js status -q';

/**
 * Bind mode (one machine): every task mounts the workspace at its host path
 * and runs the stage's command as `reprod repro` would; a final task in
 * reprod's image commits the results to dvc.lock and checks nothing is stale.
 */
export function bindTasks(input: BindTasksInput): TaskSpec[] {
  const ws = input.hostWorkspace;
  const tasks: TaskSpec[] = input.stages.map(({ stage, image, settings }) => {
    const wd = stage.wdir === '.' ? ws : `${ws}/${stage.wdir}`;
    const env: [string, string][] = [['HOME', '/tmp'], ['DVC_STAGE', stage.name], ...Object.entries(settings?.env ?? {}), ['DVC_ROOT', ws]];
    const base = { id: taskId(stage.name), stage: stage.name, comment: `stage ${stage.name}${stage.desc ? `: ${stage.desc.replace(/\n/g, ' ')}` : ''}` };
    if (!image) {
      // like `reprod repro`, a stage with no image runs on the host: here, on the Airflow worker
      return { ...base, kind: 'host', argv: [], hostCommand: shellCommand(stage.cmd), workingDir: wd, env: env.filter(([k]) => k !== 'HOME'), remoteSecrets: false, mounts: [], upstream: upstreamIds(input.dag, stage.name) };
    }
    return {
      ...base,
      kind: 'container',
      image,
      argv: ['/bin/sh', '-c', shellCommand(stage.cmd)],
      workingDir: wd,
      env,
      remoteSecrets: false,
      user: settings?.user ?? input.user,
      network: settings?.network ?? 'none',
      ...(settings?.cpus !== undefined ? { cpus: settings.cpus } : {}),
      ...(settings?.memoryBytes !== undefined ? { memoryBytes: settings.memoryBytes } : {}),
      mounts: [{ source: ws, target: ws }],
      upstream: upstreamIds(input.dag, stage.name),
    };
  });
  if (input.reprodImage) {
    tasks.push({
      id: CONFIRM_TASK,
      comment: 'last: record what ran in dvc.lock and the cache, then fail if anything is still stale',
      kind: 'container',
      image: input.reprodImage,
      argv: ['/bin/sh', '-c', CONFIRM_SCRIPT],
      workingDir: ws,
      env: [],
      remoteSecrets: false,
      network: 'none',
      mounts: [
        { source: ws, target: ws },
        { source: '/var/run/docker.sock', target: '/var/run/docker.sock' },
      ],
      upstream: sinks(input.dag, input.stages),
    });
  }
  return tasks;
}

export interface RemoteTasksInput {
  dag: Dag;
  /** Every stage with its runner image (the stage's image with reprod's runner layer). */
  stages: { stage: Stage; image: string; settings?: ContainerSettings }[];
  /** The workspace's `.dvc/config` (no secrets: those live in config.local, never exported). */
  dvcConfig: string;
  /** Source files by md5 ({@link taskSources}). */
  sources: Readonly<Record<string, string>>;
  user: string;
}

/** Keys of DVC remotes' settings that hold secrets (DVC keeps them in `.dvc/config.local`). */
const SECRET_CONFIG_KEYS = ['access_key_id', 'secret_access_key', 'session_token', 'password', 'account_key', 'sas_token', 'connection_string', 'gdrive_client_secret'];

/** The secret settings a `.dvc/config` text holds, with their lines: none may go into an exported file. */
export function secretsInConfig(text: string): { key: string; line: number }[] {
  const found: { key: string; line: number }[] = [];
  text.split('\n').forEach((l, i) => {
    const m = /^\s*([A-Za-z_]+)\s*=/.exec(l);
    if (m && SECRET_CONFIG_KEYS.includes((m[1] as string).toLowerCase())) found.push({ key: m[1] as string, line: i + 1 });
  });
  return found;
}

/** Where a task's scratch workspace is made (the container's own file system). */
export const TASK_SCRATCH = '/tmp';

/**
 * `--data remote`: tasks share nothing but the DVC remote and the image
 * registry. Each runs `reprod stage-run STAGE` (the runner layered onto the
 * stage's image), which fetches its inputs by hash, runs or finds the stage
 * in the remote's run-cache, and pushes what it made.
 */
export function remoteTasks(input: RemoteTasksInput): TaskSpec[] {
  const secret = secretsInConfig(input.dvcConfig)[0];
  if (secret) {
    // the tasks carry .dvc/config in their environment, and the DAG file holds it in plain text
    throw new ReprodError('CONFIG', `'${secret.key}' is a secret, and .dvc/config would carry it into the exported file`, {
      source: { file: '.dvc/config', line: secret.line, key: secret.key },
      remedy: 'Move it to .dvc/config.local (`dvc remote modify --local NAME KEY VALUE`); the tasks get credentials from the orchestrator (docs/AIRFLOW.md).',
    });
  }
  const sources = JSON.stringify(input.sources);
  if (/\{\{|\{%|\{#/.test(sources) || /\{\{|\{%|\{#/.test(input.dvcConfig)) {
    // the Airflow file hands these to Jinja-templated fields: a `{{` would be read as a template
    throw new ReprodError('USAGE', 'a source path or .dvc/config contains `{{`, `{%` or `{#`, which Airflow would read as a template', {
      remedy: 'Rename the file (or the config value) so that it contains none of these.',
    });
  }
  return input.stages.map(({ stage, image, settings }) => ({
    id: taskId(stage.name),
    stage: stage.name,
    comment: `stage ${stage.name}${stage.desc ? `: ${stage.desc.replace(/\n/g, ' ')}` : ''}`,
    kind: 'container',
    image,
    argv: [RUNNER, 'stage-run', stage.name],
    workingDir: TASK_SCRATCH,
    env: [
      ['HOME', '/tmp'],
      ...Object.entries(settings?.env ?? {}),
      [TASK_ENV.dvcConfig, input.dvcConfig],
      [TASK_ENV.sources, sources],
    ],
    remoteSecrets: true,
    user: settings?.user ?? input.user,
    ...(settings?.cpus !== undefined ? { cpus: settings.cpus } : {}),
    ...(settings?.memoryBytes !== undefined ? { memoryBytes: settings.memoryBytes } : {}),
    mounts: [],
    upstream: upstreamIds(input.dag, stage.name),
  }));
}

/**
 * The files a `--data remote` task needs that no stage writes: dvc.yaml, the
 * params and vars files, and every dependency that is not an output of some
 * stage (code, `.dvc`-tracked data is not: it lives on the remote by its own
 * `.dvc` file). A dependency that contains a stage's output cannot be shipped
 * as a source, and is an error.
 */
export function sourcePaths(pipeline: Pipeline, extra: readonly string[]): string[] {
  const outs = pipeline.stages.flatMap((s) => s.outs.map((o) => o.path));
  const inside = (p: string, dir: string) => dir === '.' || p === dir || p.startsWith(`${dir}/`);
  const paths = new Set<string>([pipeline.file, ...extra]);
  for (const stage of pipeline.stages) {
    for (const p of stage.params) paths.add(p.path);
    for (const d of stage.deps) {
      if (outs.some((o) => inside(d.path, o))) continue;
      const contained = outs.find((o) => inside(o, d.path));
      if (contained) {
        throw new ReprodError('USAGE', `stage '${stage.name}': dependency '${d.defPath}' contains the output '${contained}', which no task can ship as a source`, {
          source: stage.source,
          remedy: 'Depend on the output itself, or on the files beside it, rather than on the folder that holds both.',
        });
      }
      paths.add(d.path);
    }
  }
  return [...paths].sort();
}

/** REPROD_SOURCES: a JSON object of workspace-relative paths to md5s, checked before anything is written. */
export function parseTaskSources(text: string | undefined): Record<string, string> {
  const fail = (why: string) =>
    new ReprodError('USAGE', `REPROD_SOURCES: ${why}`, { remedy: 'Regenerate the DAG or Jobs with `reprod export`: it writes this variable.' });
  if (text === undefined || text === '') throw fail('not set');
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ReprodError('USAGE', `REPROD_SOURCES is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw fail('not a JSON object');
  const out: Record<string, string> = {};
  for (const [p, md5] of Object.entries(v)) {
    if (normalizeWsPath(p) !== p || p === '.' || p === '.dvc' || p.startsWith('.dvc/')) throw fail(`'${p}' is not a path inside the workspace`);
    if (typeof md5 !== 'string' || !/^[0-9a-f]{32}$/.test(md5)) throw fail(`'${p}': '${String(md5)}' is not an md5`);
    out[p] = md5;
  }
  return out;
}
