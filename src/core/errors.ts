import type { PathEscape } from './ports/workspace.js';
import type { SourceRef } from './types.js';

/**
 * The error catalogue. Every error reprod raises on purpose has a stable code,
 * says what went wrong and where, and tells the user what to do.
 * Only the CLI (and the daemon's boundary) turns them into exit codes or log lines.
 *
 * `retry` is the retry policy's data: `false` for failures that say something
 * about the stage or its inputs (retrying the same inputs cannot help: the
 * stage stays failed until they change), `true` for infrastructure that may
 * heal by itself (the engine, the cache's disk, a remote). Errors that are not
 * ReprodErrors are unexpected, and count as transient.
 */
export const ErrorCodes = {
  YAML_SYNTAX: { exit: 2, retry: false, remedy: 'Fix the YAML syntax at the line shown.' },
  SCHEMA: { exit: 2, retry: false, remedy: 'Fix or remove the key shown; see schemas/ for what is allowed.' },
  INTERPOLATION: { exit: 2, retry: false, remedy: 'Define the variable in `vars:` or params.yaml, or escape it as \\${...}.' },
  PARAMS_MISSING: { exit: 1, retry: false, remedy: 'Add the key to the params file, or remove it from the stage\'s `params:`.' },
  PARAMS_FILE: { exit: 2, retry: false, remedy: 'Check that the params file exists and is valid YAML, JSON or TOML.' },
  DEP_MISSING: { exit: 1, retry: false, remedy: 'Create the file, or produce it with a stage that lists it in `outs:`.' },
  OUT_MISSING: { exit: 1, retry: false, remedy: 'Make the stage\'s command write every path listed in `outs:`.' },
  CYCLE: { exit: 2, retry: false, remedy: 'Remove one of the dependencies named so that the stages form a DAG.' },
  OUT_OVERLAP: { exit: 2, retry: false, remedy: 'Give each output one producing stage; an output may not lie inside another.' },
  OUT_DUPLICATE: { exit: 2, retry: false, remedy: 'Give each output one producing stage.' },
  PATH_OUTSIDE: { exit: 2, retry: false, remedy: 'Keep every dep, out and wdir inside the workspace.' },
  STAGE_NOT_FOUND: { exit: 2, retry: false, remedy: 'Run `reprod dag` to list the stages.' },
  LOCK_CORRUPT: { exit: 2, retry: false, remedy: 'Fix dvc.lock by hand, or delete it to rerun every stage.' },
  CMD_FAILED: { exit: 1, retry: false, remedy: 'See the stage\'s output above; fix the command or its inputs.' },
  CACHE: { exit: 1, retry: true, remedy: 'Check that .dvc/cache is writable.' },
  OBJECT_INVALID: {
    exit: 1,
    retry: false,
    remedy:
      'The object (or the md5 that names it) is not one DVC could have written: it came from a hostile or damaged remote, shared cache or file. Remove the object named from the cache, fix the md5 (or re-run the stage that records it), and fetch only from a remote you trust.',
  },
  CHECKOUT_UNSAVED: {
    exit: 1,
    retry: false,
    remedy: 'Keep the changes with `reprod commit` (or copy them elsewhere) first, or run again with --force to overwrite them.',
  },
  HASH_IO: { exit: 1, retry: true, remedy: 'Make the path readable, and fix or remove broken symlinks and special files (fifos, sockets) inside tracked directories.' },
  DVCIGNORE_IN_DIR: { exit: 2, retry: false, remedy: 'Move the .dvcignore file out of the tracked directory, to the workspace root or a folder above it (DVC refuses it there too).' },
  CONFIG: { exit: 2, retry: false, remedy: 'Fix .dvc/config (DVC\'s INI format).' },
  RUNTIME: { exit: 1, retry: true, remedy: 'Check that the container engine is reachable.' },
  SANDBOX: {
    exit: 1,
    retry: false,
    remedy: "Give the stage's outputs a folder of their own inside the workspace (not .dvc/), or run the stage on the host (`runtime: host` in its manifest).",
  },
  ENGINE_UNAVAILABLE: {
    exit: 1,
    retry: true,
    remedy: 'Start the Docker engine (`docker info` must work), or point DOCKER_HOST at it; inside a container, mount /var/run/docker.sock. The daemon resumes by itself when it answers.',
  },
  IMAGE_BUILD: { exit: 1, retry: false, remedy: "Fix the stage's Dockerfile or build context (the build output is in the stage's log)." },
  STALE_RUN: { exit: 1, retry: true, remedy: 'Nothing to do: the stage runs again with its new inputs.' },
  NO_PIPELINE: { exit: 2, retry: false, remedy: 'Run reprod in a folder that has a dvc.yaml.' },
  USAGE: { exit: 2, retry: false, remedy: 'See `reprod --help`.' },
  TRACKING: {
    exit: 1,
    retry: true,
    remedy: 'Check MLFLOW_TRACKING_URI and the MLflow credentials; undelivered records wait in .dvc/tmp/reprod/mlflow-outbox/ and are sent when the server accepts them.',
  },
  NO_REMOTE: { exit: 2, retry: false, remedy: 'Add one with `reprod remote add -d <name> <url>` (or pick one with -r <name>); see docs/REMOTES.md.' },
  REMOTE: { exit: 1, retry: true, remedy: "Check the remote's URL and that it is reachable, then run the command again: only what is still missing moves." },
  REMOTE_AUTH: { exit: 1, retry: false, remedy: 'Check the credentials: `reprod remote modify --local <name> access_key_id ...` and `secret_access_key ...` (kept in .dvc/config.local), or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.' },
  TRANSFER: { exit: 1, retry: true, remedy: 'Run the command again: objects already transferred are not sent again, the rest are retried.' },
  WORKSPACE_LOCKED: {
    exit: 1,
    retry: true,
    remedy: 'Let the other reprod or DVC command finish, then run again, or wait longer with --wait SECONDS (or REPROD_LOCK_WAIT).',
  },
  WORKSPACE_LOCK: { exit: 1, retry: false, remedy: "Make .dvc/tmp a writable folder of the workspace, and install util-linux's flock (or python3)." },
  GIT: { exit: 1, retry: false, remedy: 'Run the command in a git repository (`git init`, then commit), with `git` on PATH.' },
  REVISION: { exit: 2, retry: false, remedy: 'Name a commit, branch or tag that exists (see `git log --oneline`), or `workspace`.' },
  PLOT: { exit: 2, retry: false, remedy: "Fix the plot's definition in dvc.yaml (template, x, y); `reprod plots templates` lists the built-in templates." },
  INPUT_LIMIT: {
    exit: 2,
    retry: false,
    remedy: 'Make the file smaller or simpler, or raise the limit (REPROD_MAX_STAGES, REPROD_MAX_DEPTH, REPROD_MAX_ALIAS_VALUES, REPROD_MAX_STAGE_VALUES; see docs/LIMITS.md).',
  },
  WORKSPACE_DIRTY: {
    exit: 1,
    retry: false,
    remedy: 'Commit or keep your changes elsewhere first (`git commit`, `reprod commit`), or add --force to overwrite them.',
  },
  RUN_CACHE_MISS: {
    exit: 1,
    retry: false,
    remedy: "Run the upstream stage's task first (against the same remote): a task takes its inputs from the remote's run-cache, and never runs another stage.",
  },
  ENCODING: { exit: 2, retry: false, remedy: 'Save the file as UTF-8 (the byte shown is where it stops being UTF-8).' },
  WEB_ASSETS: { exit: 1, retry: false, remedy: 'Build the web view with `npm run build` (it writes dist/web/), or use the reprod image, which has it.' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

/** Every entry of the catalogue has this shape (checked at compile time). */
ErrorCodes satisfies Record<string, { exit: number; retry: boolean; remedy: string }>;

export interface ReprodErrorOptions {
  source?: SourceRef;
  cause?: unknown;
  remedy?: string;
}

export class ReprodError extends Error {
  readonly code: ErrorCode;
  readonly source: SourceRef | undefined;
  readonly remedy: string;

  constructor(code: ErrorCode, message: string, opts: ReprodErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ReprodError';
    this.code = code;
    this.source = opts.source;
    this.remedy = opts.remedy ?? ErrorCodes[code].remedy;
  }

  get exitCode(): number {
    return ErrorCodes[this.code].exit;
  }

  /** `dvc.yaml:12: stages.train.deps: ...` — the form editors and humans both read. */
  get location(): string | undefined {
    const s = this.source;
    if (!s) return undefined;
    let loc = s.file;
    if (s.line !== undefined) loc += `:${s.line}`;
    if (s.line !== undefined && s.column !== undefined) loc += `:${s.column}`;
    if (s.key) loc += `: ${s.key}`;
    return loc;
  }

  /** The one-paragraph message the CLI prints. */
  format(): string {
    const where = this.location;
    return `${where ? `${where}: ` : ''}${this.message}\n  hint: ${this.remedy}`;
  }
}

/** Several errors found in one pass (validation reports all it finds, not only the first). */
export class ReprodErrors extends ReprodError {
  constructor(readonly errors: ReprodError[]) {
    const first = errors[0];
    super(first?.code ?? 'SCHEMA', errors.map((e) => e.format()).join('\n'), { source: first?.source });
    this.name = 'ReprodErrors';
  }

  override format(): string {
    return this.errors.map((e) => e.format()).join('\n');
  }
}

/** True when retrying may help (see `retry` in the catalogue); unexpected errors count as transient. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ReprodError ? ErrorCodes[err.code].retry : true;
}

/**
 * PATH_OUTSIDE for a path reached through a symlink that leaves the
 * workspace: names the path, the link and its target. `subject` says whose
 * path it is (`stage 'train': output`), `source` where it is declared.
 */
export function pathEscapeError(esc: PathEscape, opts: { subject?: string; source?: SourceRef } = {}): ReprodError {
  const what = `${opts.subject ? `${opts.subject} ` : ''}'${esc.path}'`;
  return new ReprodError('PATH_OUTSIDE', `${what} lies under '${esc.link}', a symlink to '${esc.target}' (${esc.reason}): reprod neither writes nor deletes through it`, {
    ...(opts.source ? { source: opts.source } : {}),
    remedy: `Replace the symlink '${esc.link}' by a real folder (or point it inside the workspace), or move the output; reprod never writes or deletes outside the workspace, nor in .git or .dvc.`,
  });
}
