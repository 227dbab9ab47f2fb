import { chooseLogFormat, commandLogger, serviceLogger } from '../app/logging.js';
import type { RuntimeMode } from '../app/project.js';
import type { StageDecision } from '../app/oneshot.js';
import type { DataCommandOptions } from '../app/remotes.js';
import { pathFrom } from '../app/workspace-root.js';
import type { Logger } from '../core/ports.js';
import {
  formatCheckedOut,
  formatCommitted,
  formatDag,
  formatDecision,
  formatGc,
  formatSkipped,
  formatSourceDecision,
  formatStageStart,
  formatStatus,
  formatStatusJson,
  type DagFormat,
} from './format.js';

/*
 * The commands: each calls app/ and prints what it returns; the work is
 * app/'s. They load what they need when they run: a command line that only
 * reads status should not pay for loading the S3 SDK, dockerode or the file watcher.
 */
const oneshot = () => import('../app/oneshot.js');
const remotes = () => import('../app/remotes.js');
const report = () => import('../remote/report.js');

export { processIo, type Io } from './io.js';
import type { Io } from './io.js';

export async function commandValidate(io: Io, root: string, schemaOnly: string | undefined): Promise<number> {
  if (schemaOnly !== undefined) {
    await (await import('../app/validate.js')).validateSchemaOnly(root, schemaOnly);
    io.out(`${schemaOnly}: valid\n`);
    return 0;
  }
  const { stages, files } = await (await import('../app/validate.js')).validateWorkspace(root);
  io.out(`${files.join(', ')}: valid (${stages} stages)\n`);
  return 0;
}

export async function commandStatus(
  io: Io,
  root: string,
  targets: string[],
  opts: { json: boolean; quiet?: boolean; verbose: boolean; runtime: RuntimeMode; cwd?: string },
): Promise<number> {
  const log = commandLogger(opts.verbose);
  // `.dvc` data sources are reported after the stages; targets naming them are not stages
  const { changed, stale, looked } = await (await oneshot()).workspaceStatus({ root, runtime: opts.runtime, log, progress: progressOut(io) }, targets);
  // a daemon on the workspace knows what staleness cannot say: failed, running, blocked
  const daemon = await (await import('../app/daemon-status.js')).daemonView(root, looked);
  const failed = daemon?.phases.some((p) => p.phase === 'Failed') === true;
  if (opts.quiet) return stale.length > 0 || changed.length > 0 || failed ? 1 : 0;
  // started in a sub-folder: stages and paths as DVC prints them there, relative to it
  const { addressFrom, sourceFromFolder, staleFromFolder } = await import('../app/workspace-root.js');
  const cwd = opts.cwd ?? '.';
  const shown = staleFromFolder(stale, cwd);
  const sources = changed.map((c) => sourceFromFolder(c, cwd));
  const seen = daemon && cwd !== '.' ? { ...daemon, phases: daemon.phases.map((p) => ({ ...p, stage: addressFrom(p.stage, cwd) })) } : daemon;
  io.out(opts.json ? formatStatusJson(shown, seen, sources) : formatStatus(shown, seen, sources));
  return failed ? 1 : 0;
}

export async function commandRepro(
  io: Io,
  root: string,
  targets: string[],
  opts: {
    force: boolean;
    dry: boolean;
    downstream: boolean;
    single: boolean;
    keepGoing: boolean;
    runCache: boolean;
    pull?: boolean;
    jobs?: number;
    tracking?: boolean;
    verbose: boolean;
    runtime: RuntimeMode;
    /** The folder started in (workspace-relative): stages and paths are printed from there, as DVC prints them. */
    cwd?: string;
  },
): Promise<number> {
  let verified = 0;
  const { addressFrom, sourceFromFolder, staleFromFolder } = await import('../app/workspace-root.js');
  const cwd = opts.cwd ?? '.';
  const decisions = await (await oneshot()).reproOnce(
    // the command line runs a repro (but a dry one) under the workspace lock
    { root, runtime: opts.runtime, log: commandLogger(opts.verbose), lockHeld: !opts.dry, progress: progressOut(io) },
    {
      targets,
      ...(opts.jobs !== undefined ? { jobs: opts.jobs } : {}),
      force: opts.force,
      dry: opts.dry,
      downstream: opts.downstream,
      single: opts.single,
      keepGoing: opts.keepGoing,
      runCache: opts.runCache,
      pull: opts.pull === true,
      ...(opts.tracking === false ? { tracking: false } : {}),
      tee: () => ({ write: (chunk, stream) => (stream === 'stdout' ? io.out(chunk) : io.err(chunk)) }),
      onDecision: (d) => {
        const line = formatDecision(cwd === '.' ? d : { ...d, stage: addressFrom(d.stage, cwd) });
        if (line !== undefined) io.out(`${line}\n`);
      },
      onStart: (stage, reasons) => {
        const [shown] = staleFromFolder([{ stage, reasons: [...reasons] }], cwd);
        if (shown) io.out(formatStageStart(shown.stage, shown.reasons));
      },
      onSource: (d) => {
        if (d.action === 'verified') verified++;
        io.out(`${formatSourceDecision(sourceFromFolder(d, cwd))}\n`);
      },
    },
  );
  const failures = decisions.filter((d): d is Extract<StageDecision, { action: 'failed' }> => d.action === 'failed');
  for (const f of failures) io.err(`ERROR: ${f.error.format()}\n`);
  if (failures.length > 0) return Math.max(...failures.map((f) => f.error.exitCode));
  if (decisions.some((d) => d.action === 'cancelled')) return 130;
  if (!opts.dry && decisions.some((d) => d.action === 'ran' || d.action === 'restored')) {
    io.out('Updated dvc.lock\n');
  } else if (!opts.dry && verified === 0) {
    io.out('Data and pipelines are up to date.\n');
  }
  return 0;
}

/**
 * What checkout and pull print of the paths they restore, as DVC prints them
 * (relpath from the folder started in, dvc/repo/checkout.py): `M\tx` in
 * `sub/` for `sub/x`, `A\t../top.txt` for `top.txt`.
 */
function checkedOutFrom(res: { added: readonly string[]; modified: readonly string[] }, cwd: string): string {
  return formatCheckedOut({ added: res.added.map((p) => pathFrom(p, cwd)), modified: res.modified.map((p) => pathFrom(p, cwd)) });
}

export async function commandCheckout(io: Io, root: string, targets: string[], opts: { force: boolean; verbose: boolean; cwd?: string }): Promise<number> {
  const { checkoutOutputs, notCheckedOutError } = await import('../app/checkout.js');
  const cwd = opts.cwd ?? '.';
  const res = await checkoutOutputs(root, targets, { force: opts.force, log: commandLogger(opts.verbose), cwd });
  warnSkipped(io, res.skipped);
  io.out(checkedOutFrom(res, cwd));
  const missing = notCheckedOutError(res.failed.map((f) => ({ ...f, name: pathFrom(f.name, cwd) })));
  if (missing) throw missing;
  if (res.added.length + res.modified.length === 0) io.out('Nothing to check out: the workspace matches dvc.lock.\n');
  return 0;
}

export async function commandDag(
  io: Io,
  root: string,
  target: string | undefined,
  format: DagFormat,
  /** The folder started in (workspace-relative): stages are named from there. */
  cwd = '.',
): Promise<number> {
  io.out(formatDag((await import('../app/dag.js')).pipelineDag(root, target, cwd), format));
  return 0;
}

export async function commandCommit(io: Io, root: string, targets: string[], opts: { verbose: boolean; runtime: RuntimeMode }): Promise<number> {
  const log = commandLogger(opts.verbose);
  // the `.dvc` data sources first (their outputs are what stages read), then the stages
  const sources = await (await import('../app/data-sources.js')).commitSources(root, targets, log);
  const committed = sources.stageTargets === undefined ? [] : await (await oneshot()).commitStages({ root, runtime: opts.runtime, log }, sources.stageTargets);
  io.out(formatCommitted([...sources.committed, ...committed]));
  return 0;
}

export interface ExportCliOptions {
  out?: string;
  reprodImage: string;
  registry?: string;
  verbose: boolean;
}

async function writeOrPrint(io: Io, root: string, out: string | undefined, text: string): Promise<number> {
  if (out) {
    await (await import('../app/export.js')).writeExport(root, out, text);
    io.out(`Wrote ${out}\n`);
  } else {
    io.out(text);
  }
  return 0;
}

export async function commandExportAirflow(
  io: Io,
  root: string,
  opts: ExportCliOptions & { dagId?: string; check: boolean; data: 'bind' | 'remote'; operator: 'docker' | 'kubernetes' },
): Promise<number> {
  const exporter = await import('../app/export.js');
  const text = await exporter.exportAirflow({
    root,
    log: commandLogger(opts.verbose),
    ...(opts.dagId ? { dagId: opts.dagId } : {}),
    ...(opts.registry ? { registry: opts.registry } : {}),
    reprodImage: opts.reprodImage,
    noCheck: !opts.check,
    data: opts.data,
    operator: opts.operator,
  });
  return writeOrPrint(io, root, opts.out, text);
}

export async function commandExportK8s(io: Io, root: string, opts: ExportCliOptions & { prefix?: string; namespace?: string }): Promise<number> {
  const exporter = await import('../app/export.js');
  const text = await exporter.exportK8s({
    root,
    log: commandLogger(opts.verbose),
    reprodImage: opts.reprodImage,
    ...(opts.registry ? { registry: opts.registry } : {}),
    ...(opts.prefix ? { prefix: opts.prefix } : {}),
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
  });
  return writeOrPrint(io, root, opts.out, text);
}

/**
 * `reprod stage-run STAGE`: one stage as a `--data remote` task. Its inputs
 * come from the environment the export wrote (REPROD_DVC_CONFIG,
 * REPROD_SOURCES), the remote's credentials from the orchestrator's secrets.
 */
export async function commandStageRun(io: Io, stage: string, opts: { verbose: boolean; keep: boolean }): Promise<number> {
  const { parseTaskSources, runStageTask } = await import('../app/stage-task.js');
  const env = process.env;
  const result = await runStageTask({
    stage,
    dvcConfig: env.REPROD_DVC_CONFIG ?? '',
    sources: parseTaskSources(env.REPROD_SOURCES),
    ...(env.REPROD_SCRATCH ? { scratchParent: env.REPROD_SCRATCH } : {}),
    keep: opts.keep,
    env,
    log: serviceLogger(opts.verbose),
  });
  if (result.kind === 'failed') {
    io.err(`ERROR: ${result.error.format()}\n`);
    return result.error.exitCode;
  }
  io.out(result.kind === 'cached' ? `Stage '${stage}' is in the remote's run-cache: nothing ran\n` : `Stage '${stage}' ran; ${result.pushed} objects pushed with its run-cache entry\n`);
  return 0;
}

// ------------------------------------------------------------ data remotes

/** What the data commands (push, pull, fetch, status --cloud, gc) take from the command line. */
export interface DataCliOptions {
  remote?: string;
  jobs?: number;
  runCache?: boolean;
  withDeps?: boolean;
  force?: boolean;
  verbose: boolean;
  /** The folder started in (workspace-relative): targets are read, and restored or compared paths printed, from there. */
  cwd?: string;
}

/** Progress on stderr: a bar when it is a terminal, plain lines otherwise; which is asked when progress is first drawn (see processIo). */
function progressOut(io: Io): { write(s: string): void; readonly tty: boolean } {
  return {
    write: (s) => io.err(s),
    get tty(): boolean {
      return io.errIsTTY === true;
    },
  };
}

function dataOptions(io: Io, o: DataCliOptions): DataCommandOptions {
  return {
    ...(o.remote !== undefined ? { remote: o.remote } : {}),
    ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
    runCache: o.runCache === true,
    withDeps: o.withDeps === true,
    force: o.force === true,
    cwd: o.cwd,
    progress: progressOut(io),
    ...(io.askPassword ? { askPassword: io.askPassword } : {}),
    log: commandLogger(o.verbose),
  };
}

function warnSkipped(io: Io, skipped: Parameters<typeof formatSkipped>[0]): void {
  if (skipped.length > 0) io.err(formatSkipped(skipped));
}

/** What moved (`4 files pushed`); "Everything is up to date." only when nothing moved and nothing failed. */
function outcome(io: Io, moved: string, failed: number): void {
  if (moved !== '') io.out(`${moved}\n`);
  else if (failed === 0) io.out('Everything is up to date.\n');
}

export async function commandPush(io: Io, root: string, targets: string[], o: DataCliOptions): Promise<number> {
  const res = await (await remotes()).pushData(root, targets, dataOptions(io, o));
  const { summary, failuresError } = await report();
  warnSkipped(io, res.skipped);
  for (const n of res.notes ?? []) io.err(`${n}\n`);
  outcome(io, summary([['pushed', res.moved]]), res.failed.length);
  if (res.failed.length > 0) throw failuresError('push', res.failed);
  return 0;
}

export async function commandFetch(io: Io, root: string, targets: string[], o: DataCliOptions): Promise<number> {
  const res = await (await remotes()).fetchData(root, targets, dataOptions(io, o));
  const { summary, failuresError } = await report();
  warnSkipped(io, res.skipped);
  outcome(io, summary([['fetched', res.moved]]), res.failed.length);
  if (res.failed.length > 0) throw failuresError('fetch', res.failed);
  return 0;
}

export async function commandPull(io: Io, root: string, targets: string[], o: DataCliOptions): Promise<number> {
  const res = await (await remotes()).pullData(root, targets, dataOptions(io, o));
  const { summary, failuresError } = await report();
  warnSkipped(io, res.skipped);
  io.out(checkedOutFrom(res, o.cwd ?? '.'));
  const text = summary([
    ['fetched', res.moved],
    ['added', res.added.length],
    ['modified', res.modified.length],
  ]);
  outcome(io, text, res.failed.length);
  if (res.failed.length > 0) throw failuresError('pull', res.failed);
  return 0;
}

/** `status --cloud` / `status -r NAME`: what `dvc status -c` prints (`--json`: its JSON). */
export async function commandCloudStatus(io: Io, root: string, targets: string[], o: DataCliOptions & { json: boolean }): Promise<number> {
  const { remote, status: all } = await (await remotes()).cloudStatusData(root, targets, dataOptions(io, o));
  // named as DVC names them (str(out): from the folder started in, dvc/output.py)
  const status = new Map([...all].map(([name, state]) => [pathFrom(name, o.cwd ?? '.'), state]));
  io.out(o.json ? `${JSON.stringify(Object.fromEntries(status))}\n` : (await import('../remote/cloud-status.js')).formatCloudStatus(status, remote));
  return 0;
}

export async function commandGc(io: Io, root: string, o: DataCliOptions & { cloud: boolean }): Promise<number> {
  const res = await (await remotes()).gcData(root, { ...dataOptions(io, o), cloud: o.cloud });
  io.out(formatGc(res, o.force === true));
  return 0;
}

/**
 * `reprod daemon`: runs until SIGTERM or SIGINT, then stops cleanly (running
 * stages cancelled, their containers removed, status written) and exits 0. A
 * second signal exits at once; the next start cleans up after it.
 */
export async function commandDaemon(
  io: Io,
  root: string,
  opts: {
    maxParallel?: number;
    debounceMs: number;
    http: { host: string; port: number } | null;
    poll: boolean;
    tracking?: boolean;
    /** The web view's actions beyond loopback. */
    webActions?: boolean;
    verbose: boolean;
    runtime: RuntimeMode;
    /** `--log-format`; else REPROD_LOG_FORMAT, else pretty on a terminal. */
    logFormat?: string;
  },
): Promise<number> {
  const log: Logger = serviceLogger(opts.verbose, { format: chooseLogFormat(opts.logFormat, process.env, io.errIsTTY === true) });
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn({ signal: sig }, 'second signal: exiting without cleaning up');
      process.exit(130);
    }
    log.info({ signal: sig }, 'stopping');
    ac.abort();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await (await import('../app/daemon.js')).runDaemon(
      {
        root,
        runtime: opts.runtime,
        log,
        debounceMs: opts.debounceMs,
        http: opts.http,
        poll: opts.poll,
        ...(opts.tracking === false ? { tracking: false } : {}),
        ...(opts.maxParallel !== undefined ? { maxParallel: opts.maxParallel } : {}),
        ...(opts.webActions ? { web: { actions: true } } : {}),
        // the one line that carries the token of the actions: the operator opens that address
        onWebView: ({ url, token }) => log.info(token ? { url, actions: 'on', open: `${url}#token=${token}` } : { url, actions: 'off (read only)' }, 'web view'),
      },
      ac.signal,
    );
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  log.info({}, 'stopped');
  return 0;
}
