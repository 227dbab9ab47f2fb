import { ReprodError } from '../core/errors.js';
import { normalizeWsPath, wsDirname } from './paths.js';

/**
 * How stages of several dvc.yaml files are named, as DVC names them: a stage
 * of the root `dvc.yaml` by its name (`train`, `gen@small`), a stage of any
 * other file by the file's workspace path, a colon and its name
 * (`sub/dvc.yaml:inner`). These addresses are what status, targets, the DAG,
 * status/ manifests and the daemon say; dvc.lock files key stages by their
 * bare name.
 */

/** The pipeline file at the workspace root. */
export const ROOT_PIPELINE_FILE = 'dvc.yaml';
export const PIPELINE_FILE_NAME = 'dvc.yaml';
const LOCK_FILE_NAME = 'dvc.lock';

/** The address of stage `name` (bare, as its file writes it) of pipeline file `file` (workspace-relative). */
export function stageAddress(file: string, name: string): string {
  return file === ROOT_PIPELINE_FILE ? name : `${file}:${name}`;
}

/** A stage address split into its file and its bare name: `sub/dvc.yaml:inner` → sub/dvc.yaml, inner. */
export function splitAddress(address: string): { file: string; name: string } {
  // a generated name may hold a colon after its `@` (foreach over a dict): the file part ends before it
  const at = address.indexOf('@');
  const head = at < 0 ? address : address.slice(0, at);
  const colon = head.lastIndexOf(':');
  if (colon < 0) return { file: ROOT_PIPELINE_FILE, name: address };
  return { file: address.slice(0, colon), name: address.slice(colon + 1) };
}

/** The dvc.lock beside a pipeline file: `sub/dvc.yaml` → `sub/dvc.lock`. */
export function lockFileOf(pipelineFile: string): string {
  const dir = wsDirname(pipelineFile);
  return dir === '.' ? LOCK_FILE_NAME : `${dir}/${LOCK_FILE_NAME}`;
}

/** True for a path DVC takes as a stage file: a `dvc.yaml`, or a `.dvc` file. */
function isStageFileName(p: string): boolean {
  const base = p.slice(p.lastIndexOf('/') + 1);
  return base === PIPELINE_FILE_NAME || (base.endsWith('.dvc') && base.length > 4);
}

/**
 * A target as given on the command line, started in folder `cwd`
 * (workspace-relative, `.` for the root), turned into the workspace-wide form
 * the pipeline knows, as DVC parses targets (dvc/utils parse_target):
 *
 * - `name` (or `name@key`): stage `name` of the dvc.yaml in `cwd`;
 * - `path/dvc.yaml:name`: stage `name` of that file (the path from `cwd`);
 * - `path/dvc.yaml` (or a `.dvc` file): the file itself, every stage in it.
 *
 * Stage targets come back as addresses (`sub/dvc.yaml:inner`, or a bare
 * name for the root file), file targets as the file's workspace path.
 */
export function resolveTarget(target: string, cwd: string): string {
  const at = target.indexOf('@');
  const head = at < 0 ? target : target.slice(0, at);
  const tail = at < 0 ? '' : target.slice(at);
  const colon = head.lastIndexOf(':');
  let file: string;
  let name: string | undefined;
  if (colon >= 0 && !/[/\\]/.test(head.slice(colon + 1))) {
    file = head.slice(0, colon) || PIPELINE_FILE_NAME;
    name = head.slice(colon + 1) + tail;
    if (name === '') name = undefined;
  } else if (isStageFileName(target)) {
    file = target;
  } else {
    file = PIPELINE_FILE_NAME;
    name = target;
  }
  const base = file.slice(file.lastIndexOf('/') + 1);
  if (base === LOCK_FILE_NAME) {
    throw new ReprodError('STAGE_NOT_FOUND', `'${target}' names a lock file`, { remedy: `Did you mean '${target.replace('.lock', '.yaml')}'?` });
  }
  const ws = file.startsWith('/') ? undefined : normalizeWsPath(cwd === '.' ? file : `${cwd}/${file}`);
  if (ws === undefined) throw new ReprodError('PATH_OUTSIDE', `target '${target}' is outside the workspace`);
  return name === undefined ? ws : stageAddress(ws, name);
}

/**
 * A target of the commands that move data (push, pull, fetch, checkout,
 * `status -c`), started in folder `cwd`, as DVC's collect_granular reads it
 * (dvc/repo/stage.py): `file:name` is a stage; a dvc.yaml or `.dvc` file is
 * that file; any other word is a stage of the dvc.yaml in `cwd` when one is
 * so named, else a path from `cwd` (`data.txt` in `sub` is `sub/data.txt`,
 * `../x` climbs). `path` is undefined when the word leaves the workspace.
 */
export type DataTarget =
  | { kind: 'stage'; address: string }
  | { kind: 'file'; path: string }
  | { kind: 'word'; address: string; path: string | undefined };

export function dataTarget(target: string, cwd: string): DataTarget {
  const at = target.indexOf('@');
  const head = at < 0 ? target : target.slice(0, at);
  const colon = head.lastIndexOf(':');
  const named = colon > 0 && isStageFileName(head.slice(0, colon)) && !/[/\\]/.test(head.slice(colon + 1));
  if (named) return { kind: 'stage', address: resolveTarget(target, cwd) };
  const trimmed = target.replace(/\/+$/, '');
  const path = trimmed.startsWith('/') ? undefined : normalizeWsPath(cwd === '.' ? trimmed : `${cwd}/${trimmed}`);
  if (isStageFileName(trimmed)) {
    if (path === undefined) throw new ReprodError('PATH_OUTSIDE', `target '${target}' is outside the workspace`);
    return { kind: 'file', path };
  }
  // a stage name holds no slash: a word with one is only a path
  const address = /[/\\]/.test(head) ? '' : stageAddress(cwd === '.' ? PIPELINE_FILE_NAME : `${cwd}/${PIPELINE_FILE_NAME}`, target);
  if (path === undefined && address === '') throw new ReprodError('PATH_OUTSIDE', `target '${target}' is outside the workspace`);
  return { kind: 'word', address, path };
}

/** {@link resolveTarget} for each target. */
export function resolveTargets(targets: readonly string[], cwd: string): string[] {
  return targets.map((t) => resolveTarget(t, cwd));
}

/** A workspace path as seen from folder `cwd` (workspace-relative): `top.txt` from `sub` is `../top.txt`. */
export function pathFrom(wsPath: string, cwd: string): string {
  if (cwd === '.') return wsPath;
  const from = cwd.split('/');
  const to = wsPath === '.' ? [] : wsPath.split('/');
  let common = 0;
  while (common < from.length && common < to.length && from[common] === to[common]) common++;
  const rel = [...from.slice(common).map(() => '..'), ...to.slice(common)].join('/');
  return rel === '' ? '.' : rel;
}

/**
 * A stage's address as DVC prints it in folder `cwd`: its file relative to
 * `cwd`, bare when that is the `dvc.yaml` right there (`sub/dvc.yaml:inner`
 * from `sub` is `inner`; `top` from `sub` is `../dvc.yaml:top`).
 */
export function addressFrom(address: string, cwd: string): string {
  if (cwd === '.') return address;
  const { file, name } = splitAddress(address);
  const rel = pathFrom(file, cwd);
  return rel === PIPELINE_FILE_NAME ? name : `${rel}:${name}`;
}
