import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadPipeline, withProject, type RuntimeMode } from '../app/project.js';
import { ReprodError, ReprodErrors } from '../core/errors.js';
import type { Logger } from '../core/ports.js';
import { selectStages } from '../pipeline/dag.js';
import { dagToDot, dagToJson, dagToMermaid, dagToText } from '../pipeline/dag-format.js';
import { validateDvcYamlText } from '../pipeline/schema.js';
import { describeReason, toDvcStatusJson } from '../pipeline/stage-status.js';
import { observeStage } from '../reconcile/observe.js';
import type { StageDecision } from '../app/oneshot.js';
import { lockEntryFromObserved } from '../reconcile/stage-steps.js';
import type { DataCommandOptions } from '../app/remotes.js';
import { formatCloudStatus } from '../remote/cloud-status.js';
import { failuresError, summary } from '../remote/report.js';
import type { SkippedOut } from '../remote/tracked.js';

/*
 * Commands load what they need when they run: a command line that only reads
 * status should not pay for loading the S3 SDK or dockerode.
 */
const oneshot = () => import('../app/oneshot.js');
const remotes = () => import('../app/remotes.js');

export { processIo, type Io } from './io.js';
import type { Io } from './io.js';
import { cliLogger } from './cli-logger.js';

function makeLogger(verbose: boolean): Logger {
  return cliLogger(verbose);
}


export async function commandValidate(io: Io, root: string, schemaOnly: string | undefined): Promise<number> {
  if (schemaOnly !== undefined) {
    const abs = path.resolve(root, schemaOnly);
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (cause) {
      throw new ReprodError('USAGE', `cannot read ${schemaOnly}`, { cause, remedy: 'Give the path of a dvc.yaml file.' });
    }
    const errors = validateDvcYamlText(text, schemaOnly);
    if (errors.length === 0) {
      io.out(`${schemaOnly}: valid\n`);
      return 0;
    }
    throw errors.length === 1 ? errors[0] : new ReprodErrors(errors);
  }
  return withProject(root, undefined, async (project) => {
    const { pipeline, dag } = loadPipeline(project.root);
    const errors: ReprodError[] = [];
    for (const stage of pipeline.stages) {
      for (const dep of stage.deps) {
        const produced = [...dag.producers.keys()].some((o) => dep.path === o || dep.path.startsWith(`${o}/`) || o.startsWith(`${dep.path}/`));
        if (!produced && !(await project.ws.exists(dep.path))) {
          errors.push(
            new ReprodError('DEP_MISSING', `stage '${stage.name}': dependency '${dep.defPath}' does not exist and no stage produces it`, {
              source: { ...stage.source, key: `${stage.source.key ?? `stages.${stage.name}`}.deps` },
            }),
          );
        }
      }
      const produced = stage.params.every((p) => dag.producers.has(p.path));
      if (!produced && stage.params.length > 0) {
        try {
          const paramsOnly = { ...stage, deps: [], outs: [] };
          lockEntryFromObserved(paramsOnly, await observeStage(project, paramsOnly, undefined), false);
        } catch (e) {
          if (e instanceof ReprodError) errors.push(e);
          else throw e;
        }
      }
    }
    if (errors.length > 0) throw errors.length === 1 ? errors[0] : new ReprodErrors(errors);
    io.out(`dvc.yaml: valid (${pipeline.stages.length} stages)\n`);
    return 0;
  });
}

export async function commandStatus(
  io: Io,
  root: string,
  targets: string[],
  opts: { json: boolean; quiet?: boolean; verbose: boolean; runtime: RuntimeMode },
): Promise<number> {
  const stale = await (await oneshot()).pipelineStatus({ root, runtime: opts.runtime, log: makeLogger(opts.verbose) }, targets);
  if (opts.quiet) return stale.length ? 1 : 0;
  if (opts.json) {
    io.out(`${JSON.stringify(Object.fromEntries(stale.map(({ stage, reasons }) => [stage.name, toDvcStatusJson(reasons)])))}\n`);
  } else if (stale.length === 0) {
    io.out('Data and pipelines are up to date.\n');
  } else {
    io.out(`${stale.flatMap(({ stage, reasons }) => [`${stage.name}:`, ...reasons.map((r) => `    ${describeReason(r)}`)]).join('\n')}\n`);
  }
  return 0;
}

function describeDecision(d: StageDecision): string {
  switch (d.action) {
    case 'skipped':
      return `Stage '${d.stage}' didn't change, skipping`;
    case 'frozen':
      return `Stage '${d.stage}' is frozen, skipping`;
    case 'would-run':
      return `Would run stage '${d.stage}': ${d.reasons.map(describeReason).join('; ')}`;
    case 'ran':
      return `Stage '${d.stage}' done`;
    case 'restored':
      return `Stage '${d.stage}' restored from the run-cache`;
    case 'failed':
      return `Stage '${d.stage}' failed`;
    case 'blocked':
      return `Stage '${d.stage}' not run: upstream '${d.upstream}' failed`;
    case 'cancelled':
      return `Stage '${d.stage}' cancelled`;
  }
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
  },
): Promise<number> {
  const decisions = await (await oneshot()).reproOnce(
    // the command line runs a repro (but a dry one) under the workspace lock
    { root, runtime: opts.runtime, log: makeLogger(opts.verbose), lockHeld: !opts.dry },
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
        if (d.action === 'skipped' || d.action === 'would-run' || d.action === 'frozen' || d.action === 'blocked') {
          io.out(`${describeDecision(d)}\n`);
        } else if (d.action === 'restored') {
          io.out(`Stage '${d.stage}' is cached: restored its outputs from the run-cache\n`);
        }
      },
      onStart: (stage, reasons) => {
        const cmds = typeof stage.cmd === 'string' ? [stage.cmd] : stage.cmd;
        const why = reasons.length ? ` (${reasons.map(describeReason).join('; ')})` : ' (forced)';
        io.out(`Running stage '${stage.name}'${why}:\n${cmds.map((c) => `> ${c}`).join('\n')}\n`);
      },
    },
  );
  const failures = decisions.filter((d): d is Extract<StageDecision, { action: 'failed' }> => d.action === 'failed');
  for (const f of failures) io.err(`ERROR: ${f.error.format()}\n`);
  if (failures.length > 0) return Math.max(...failures.map((f) => f.error.exitCode));
  if (decisions.some((d) => d.action === 'cancelled')) return 130;
  if (!opts.dry && decisions.some((d) => d.action === 'ran' || d.action === 'restored')) {
    io.out('Updated dvc.lock\n');
  } else if (!opts.dry) {
    io.out('Data and pipelines are up to date.\n');
  }
  return 0;
}

export async function commandCheckout(io: Io, root: string, targets: string[]): Promise<number> {
  return withProject(root, undefined, async (project) => {
    const { dag } = loadPipeline(project.root);
    const lock = await project.lockStore.read();
    const stages = targets.length ? selectStages(dag, targets, { single: true }) : dag.stages;
    let restored = 0;
    const missing: string[] = [];
    for (const stage of stages) {
      const entry = lock.stages.get(stage.name);
      if (!entry) continue;
      for (const out of stage.outs) {
        const locked = entry.outs.find((o) => o.path === out.defPath);
        if (!locked || !out.cache) continue;
        const actual = await project.hasher.hash(out.path);
        if (actual?.info.md5 === locked.md5) continue;
        if (!(await project.cache.has(locked.md5))) {
          missing.push(out.path);
          continue;
        }
        await project.cache.checkout(out.path, locked.md5);
        io.out(`${actual ? 'M' : 'A'}\t${out.path}\n`);
        restored++;
      }
    }
    await project.hasher.flush();
    if (missing.length) {
      throw new ReprodError('CACHE', `not in the cache, so not checked out: ${missing.join(', ')}`, {
        remedy: 'Run `reprod repro` to produce them, or pull them from a remote.',
      });
    }
    if (restored === 0) io.out('Nothing to check out: the workspace matches dvc.lock.\n');
    return 0;
  });
}

export async function commandDag(
  io: Io,
  root: string,
  target: string | undefined,
  format: 'text' | 'dot' | 'mermaid' | 'json',
): Promise<number> {
  const { dag: full } = loadPipeline(path.resolve(root));
  let dag = full;
  if (target) {
    const keep = new Set(selectStages(full, [target]).map((s) => s.name));
    dag = {
      ...full,
      stages: full.stages.filter((s) => keep.has(s.name)),
      upstream: new Map([...full.upstream].filter(([k]) => keep.has(k))),
    };
  }
  const text =
    format === 'json'
      ? `${JSON.stringify(dagToJson(dag), null, 2)}\n`
      : format === 'dot'
        ? dagToDot(dag)
        : format === 'mermaid'
          ? dagToMermaid(dag)
          : dagToText(dag);
  io.out(text);
  return 0;
}

export async function commandCommit(io: Io, root: string, targets: string[], opts: { verbose: boolean; runtime: RuntimeMode }): Promise<number> {
  const committed = await (await oneshot()).commitStages({ root, runtime: opts.runtime, log: makeLogger(opts.verbose) }, targets);
  io.out(committed.length ? committed.map((s) => `Committed stage '${s}'\n`).join('') : 'Nothing to commit: dvc.lock matches the workspace.\n');
  return 0;
}

export async function commandExportAirflow(
  io: Io,
  root: string,
  opts: { out?: string; dagId?: string; reprodImage: string; check: boolean; verbose: boolean },
): Promise<number> {
  const text = await (await import('../app/export.js')).exportAirflow({
    root,
    log: makeLogger(opts.verbose),
    ...(opts.dagId ? { dagId: opts.dagId } : {}),
    reprodImage: opts.check ? opts.reprodImage : null,
  });
  if (opts.out) {
    const file = path.resolve(root, opts.out);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, text);
    io.out(`Wrote ${opts.out}\n`);
  } else {
    io.out(text);
  }
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
}

function dataOptions(io: Io, o: DataCliOptions): DataCommandOptions {
  return {
    ...(o.remote !== undefined ? { remote: o.remote } : {}),
    ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
    runCache: o.runCache === true,
    withDeps: o.withDeps === true,
    force: o.force === true,
    progress: { write: (s) => io.err(s), tty: io.errIsTTY === true },
    log: makeLogger(o.verbose),
  };
}

function warnSkipped(io: Io, skipped: readonly SkippedOut[]): void {
  for (const s of skipped) io.err(`WARNING: '${s.path}' (${s.owner}) is not transferred: ${s.reason}\n`);
}

export async function commandPush(io: Io, root: string, targets: string[], o: DataCliOptions): Promise<number> {
  const res = await (await remotes()).pushData(root, targets, dataOptions(io, o));
  warnSkipped(io, res.skipped);
  io.out(`${summary([['pushed', res.moved]]) || 'Everything is up to date.'}\n`);
  if (res.failed.length > 0) throw failuresError('push', res.failed);
  return 0;
}

export async function commandFetch(io: Io, root: string, targets: string[], o: DataCliOptions): Promise<number> {
  const res = await (await remotes()).fetchData(root, targets, dataOptions(io, o));
  warnSkipped(io, res.skipped);
  io.out(`${summary([['fetched', res.moved]]) || 'Everything is up to date.'}\n`);
  if (res.failed.length > 0) throw failuresError('fetch', res.failed);
  return 0;
}

export async function commandPull(io: Io, root: string, targets: string[], o: DataCliOptions): Promise<number> {
  const res = await (await remotes()).pullData(root, targets, dataOptions(io, o));
  warnSkipped(io, res.skipped);
  for (const p of res.modified) io.out(`M\t${p}\n`);
  for (const p of res.added) io.out(`A\t${p}\n`);
  const text = summary([
    ['fetched', res.moved],
    ['added', res.added.length],
    ['modified', res.modified.length],
  ]);
  io.out(`${text || 'Everything is up to date.'}\n`);
  if (res.failed.length > 0) throw failuresError('pull', res.failed);
  return 0;
}

/** `status --cloud` / `status -r NAME`: what `dvc status -c` prints (`--json`: its JSON). */
export async function commandCloudStatus(io: Io, root: string, targets: string[], o: DataCliOptions & { json: boolean }): Promise<number> {
  const { remote, status } = await (await remotes()).cloudStatusData(root, targets, dataOptions(io, o));
  io.out(o.json ? `${JSON.stringify(Object.fromEntries(status))}\n` : formatCloudStatus(status, remote));
  return 0;
}

export async function commandGc(io: Io, root: string, o: DataCliOptions & { cloud: boolean }): Promise<number> {
  const res = await (await remotes()).gcData(root, { ...dataOptions(io, o), cloud: o.cloud });
  const report = (where: string, keys: readonly string[], kept: number) => {
    if (keys.length === 0) {
      io.out(`Nothing to remove from ${where}: all ${kept} objects are in use.\n`);
    } else if (o.force) {
      io.out(`Removed ${keys.length} objects from ${where}; ${kept} in use are kept.\n`);
    } else {
      io.out(`Would remove ${keys.length} objects from ${where}; ${kept} in use are kept (dry run: add --force to remove them):\n`);
      for (const k of keys) io.out(`  ${k}\n`);
    }
  };
  report('the cache', res.cache, res.kept);
  if (res.remote) report(`the remote ${res.remote.display}`, res.remote.keys, res.remote.kept);
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
    verbose: boolean;
    runtime: RuntimeMode;
  },
): Promise<number> {
  // a service logs what it does; sync, so that the last lines before an exit are not lost
  const { pino } = await import('pino');
  const log: Logger = pino({ level: opts.verbose ? 'debug' : 'info', base: null }, pino.destination({ fd: 2, sync: true }));
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
        onListening: (port: number) => io.err(`reprod daemon: /healthz and /metrics on ${opts.http?.host ?? ''}:${port}\n`),
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
