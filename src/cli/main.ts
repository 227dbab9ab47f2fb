import { Command, InvalidArgumentError, Option } from 'commander';
import path from 'node:path';
import type { RuntimeMode } from '../app/project.js';
import { reprodVersion } from '../app/version.js';
import { ReprodError } from '../core/errors.js';
import { parseLockWaitSeconds, waitingMessage } from '../core/ports.js';
import { findWorkspaceRoot, resolveTarget, resolveTargets } from '../app/workspace-root.js';
import { registerCompareCommands } from './compare-cli.js';
import { registerExpCommands } from './exp-commands.js';
import { registerConfigCommands } from './config-commands.js';
import { registerDataSourceCommands } from './data-source-commands.js';
import { registerEditCommands } from './edit-commands.js';
import type { Io } from './io.js';
import { turnOffPretenuringFor } from './tenuring.js';

/*
 * The commands are loaded when one runs, never to build the command line:
 * `reprod --help` or a bad flag should not pay for pino, yaml, ajv and the
 * rest of what the commands use.
 */
const commands = () => import('./commands.js');

/** Builds the command line. Every command returns its exit code; errors become codes only here. */
export function buildCli(io: Io): Command {
  const program = new Command('reprod')
    .description('Keeps a DVC pipeline up to date: works out stale stages by content hash and runs them.')
    .version(reprodVersion())
    .option('-C, --cwd <dir>', 'run as if started in <dir>', '.')
    .option('-v, --verbose', 'log debug details to stderr')
    .addOption(
      new Option('--runtime <mode>', 'where stages run: containers per manifests and stages/<stage>/Dockerfile, or all on the host')
        .choices(['auto', 'docker', 'host'])
        .default('auto'),
    )
    .option('--wait <seconds>', 'how long a writing command waits for the workspace lock held by another reprod or DVC (inf: until it is free; default $REPROD_LOCK_WAIT, else 3)', lockWaitArg)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) });
  program.hook('preAction', (_program, action) => {
    let top = action;
    while (top.parent && top.parent !== program) top = top.parent;
    turnOffPretenuringFor(top.name());
  });

  // the workspace is the folder holding .dvc/ at or above the one started in (as DVC finds its repository)
  const where = () => findWorkspaceRoot(path.resolve(program.opts<{ cwd: string }>().cwd));
  const root = () => where().root;
  /** Stage targets as the pipeline names them: `inner` started in sub/ is `sub/dvc.yaml:inner` (stage-address.ts). */
  const stageTargets = (targets: string[]) => resolveTargets(targets, where().cwd);
  const verbose = () => program.opts<{ verbose?: boolean }>().verbose === true;
  const runtime = () => program.opts<{ runtime: RuntimeMode }>().runtime;
  /** Runs a command that writes the workspace under its lock (.dvc/tmp/lock, as DVC): one writer at a time. */
  const locked = async (fn: () => Promise<number>): Promise<number> => {
    const { lockWaitFromEnv, withWorkspaceLock } = await import('../app/workspace-lock.js');
    const waitMs = program.opts<{ wait?: number }>().wait ?? lockWaitFromEnv(process.env);
    return withWorkspaceLock(root(), { waitMs, onWait: (h) => io.err(`${waitingMessage(h)}\n`) }, fn);
  };
  const dataFlags = (o: { remote?: string; jobs?: number; runCache?: boolean; withDeps?: boolean; force?: boolean }) => ({
    ...(o.remote !== undefined ? { remote: o.remote } : {}),
    ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
    runCache: o.runCache === true,
    withDeps: o.withDeps === true,
    force: o.force === true,
    verbose: verbose(),
    // targets are read from the folder started in, as DVC reads them (its paths from the cwd)
    cwd: where().cwd,
  });

  program
    .command('validate')
    .description('check dvc.yaml: syntax, schema, interpolation, files and the DAG')
    .option('--schema-only <file>', 'check one file against the dvc.yaml schema alone, as an editor would')
    .action(async (o: { schemaOnly?: string }) => {
      io.exitCode = await (await commands()).commandValidate(io, root(), o.schemaOnly);
    });

  program
    .command('status')
    .description('show which stages are stale and why')
    .argument('[targets...]', 'stages (or foreach/matrix groups), or .dvc files, to check')
    .option('--json', 'print the shape `dvc status --json` prints')
    .option('-q, --quiet', 'print nothing; exit 1 when a stage is stale (as `dvc status -q`)')
    .option('-c, --cloud', 'compare the cache with the remote instead: what push would send, what is missing')
    .option('-r, --remote <name>', 'the remote to compare with (implies --cloud)')
    .option('-j, --jobs <n>', 'parallel requests to the remote', positiveInt)
    .action(async (targets: string[], o: { json?: boolean; quiet?: boolean; cloud?: boolean; remote?: string; jobs?: number }) => {
      if (o.cloud || o.remote !== undefined) {
        io.exitCode = await (await commands()).commandCloudStatus(io, root(), targets, { ...dataFlags(o), json: o.json === true });
        return;
      }
      io.exitCode = await (await commands()).commandStatus(io, root(), stageTargets(targets), {
        json: o.json === true,
        quiet: o.quiet === true,
        verbose: verbose(),
        runtime: runtime(),
        cwd: where().cwd,
      });
    });

  program
    .command('repro')
    .description('reproduce stale stages, upstream first')
    .argument('[targets...]', "stages (or groups, or dvc.yaml files) to bring up to date, with their upstream and the .dvc data sources they read (default: the current folder's dvc.yaml); or .dvc files to verify")
    .option('-P, --all-pipelines', 'every stage of every dvc.yaml in the workspace')
    .option('-f, --force', 'run even stages that are up to date')
    .option('--dry', 'only print what would run')
    .option('--downstream', 'the targets and every stage downstream of them')
    .option('-s, --single-item', 'only the targets, not their upstream')
    .option('-k, --keep-going', 'after a failure, go on with stages that do not depend on it')
    .option('--no-run-cache', 'always run commands; never restore outputs from the run-cache')
    .option('--pull', 'pull missing dependencies (and outputs that can be restored) from the remote before running a stage')
    .option('-j, --jobs <n>', 'stages that may run at once (default 1: one after another, in the order DVC runs them)', positiveInt)
    .option('--no-tracking', 'record no MLflow runs (as REPROD_TRACKING=off)')
    .action(
      async (
        targets: string[],
        o: {
          force?: boolean;
          dry?: boolean;
          downstream?: boolean;
          singleItem?: boolean;
          keepGoing?: boolean;
          runCache: boolean;
          pull?: boolean;
          jobs?: number;
          tracking: boolean;
          allPipelines?: boolean;
        },
      ) => {
        // as DVC: no target is the dvc.yaml of the folder started in; -P is every stage of every file
        const chosen = o.allPipelines === true ? [] : targets.length > 0 ? stageTargets(targets) : [resolveTarget('dvc.yaml', where().cwd)];
        const repro = async () => (await commands()).commandRepro(io, root(), chosen, {
          ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
          force: o.force === true,
          dry: o.dry === true,
          downstream: o.downstream === true,
          single: o.singleItem === true,
          keepGoing: o.keepGoing === true,
          runCache: o.runCache,
          pull: o.pull === true,
          tracking: o.tracking,
          verbose: verbose(),
          runtime: runtime(),
          cwd: where().cwd,
        });
        // a dry run writes nothing: like status, it takes no lock
        io.exitCode = o.dry === true ? await repro() : await locked(repro);
      },
    );

  program
    .command('commit')
    .description('record outputs produced outside reprod (by hand, by Airflow) in dvc.lock and the cache, as `dvc commit`')
    .argument('[targets...]', 'stages or .dvc files to commit (default: every stale stage and changed .dvc file)')
    .action(async (targets: string[]) => {
      io.exitCode = await locked(async () => (await commands()).commandCommit(io, root(), stageTargets(targets), { verbose: verbose(), runtime: runtime() }));
    });

  const exportCommand = program.command('export').description('export the pipeline to another orchestrator');
  exportCommand
    .command('airflow')
    .description('write an Airflow 2.x DAG: one task per stage, in dependency order')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .option('--dag-id <id>', 'the DAG id (default: reprod_<workspace folder>)')
    .addOption(
      new Option('--data <mode>', 'how tasks get their data: bind-mount this workspace (one machine), or only through the DVC remote (any machine)')
        .choices(['bind', 'remote'])
        .default('bind'),
    )
    .addOption(new Option('--operator <kind>', 'DockerOperator or KubernetesPodOperator tasks (kubernetes needs --data remote)').choices(['docker', 'kubernetes']).default('docker'))
    .option('--reprod-image <image>', "reprod's image: the bind mode's final task, the runner layered onto stage images with --data remote", 'reprod/reprod:latest')
    .option('--registry <host/path>', '--data remote: push the runner images to this registry, and name them there')
    .option('--no-check', 'bind mode: leave out the final commit-and-status task')
    .action(async (o: { out?: string; dagId?: string; reprodImage: string; registry?: string; check: boolean; data: 'bind' | 'remote'; operator: 'docker' | 'kubernetes' }) => {
      io.exitCode = await (await commands()).commandExportAirflow(io, root(), { ...o, verbose: verbose() });
    });
  exportCommand
    .command('k8s')
    .description('write one Kubernetes Job per stage, each running the stage with only the DVC remote (as --data remote)')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .option('--prefix <name>', "the Jobs' name prefix (default: reprod-<workspace folder>)")
    .option('--namespace <ns>', 'the namespace written into each Job (default: none, kubectl\'s)')
    .option('--reprod-image <image>', "reprod's image, whose runner is layered onto the stage images", 'reprod/reprod:latest')
    .option('--registry <host/path>', 'push the runner images to this registry, and name them there')
    .action(async (o: { out?: string; prefix?: string; namespace?: string; reprodImage: string; registry?: string }) => {
      io.exitCode = await (await commands()).commandExportK8s(io, root(), { ...o, verbose: verbose() });
    });

  program
    .command('stage-run')
    .description('run one stage as a task that shares nothing but the DVC remote (what exported --data remote tasks run)')
    .argument('<stage>', 'the stage')
    .option('--keep', 'keep the scratch workspace (for debugging)')
    .action(async (stage: string, o: { keep?: boolean }) => {
      io.exitCode = await (await commands()).commandStageRun(io, stage, { verbose: verbose(), keep: o.keep === true });
    });

  const dataCommand = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .argument('[targets...]', 'stages, .dvc files or tracked paths (default: everything dvc.lock and the .dvc files record)')
      .option('-r, --remote <name>', "the remote to use (default: each output's own remote, else core.remote)")
      .option('-j, --jobs <n>', "transfers at once (default: the remote's jobs, else 4 per CPU)", positiveInt)
      .option('--run-cache', 'also transfer the run-cache (.dvc/cache/runs)')
      .option('-d, --with-deps', 'include the stages upstream of the targets');
  type DataOpts = { remote?: string; jobs?: number; runCache?: boolean; withDeps?: boolean; force?: boolean };
  dataCommand('push', 'upload cached outputs the remote lacks').action(async (targets: string[], o: DataOpts) => {
    io.exitCode = await locked(async () => (await commands()).commandPush(io, root(), targets, dataFlags(o)));
  });
  dataCommand('fetch', 'download outputs the cache lacks from the remote, verified').action(async (targets: string[], o: DataOpts) => {
    io.exitCode = await locked(async () => (await commands()).commandFetch(io, root(), targets, dataFlags(o)));
  });
  dataCommand('pull', 'fetch, then check the outputs out into the workspace')
    .option('-f, --force', 'overwrite workspace changes that are not in the cache')
    .action(async (targets: string[], o: DataOpts) => {
      io.exitCode = await locked(async () => (await commands()).commandPull(io, root(), targets, dataFlags(o)));
    });
  program
    .command('gc')
    .description('remove cache objects that dvc.lock and the .dvc files no longer use (a dry run unless --force)')
    .option('-f, --force', 'remove them (default: only list them)')
    .option('-w, --workspace', 'keep what the workspace uses (the only mode; accepted as in DVC)')
    .option('-c, --cloud', 'also remove them from the remote')
    .option('-r, --remote <name>', 'the remote for --cloud')
    .option('-j, --jobs <n>', 'parallel requests to the remote', positiveInt)
    .action(async (o: { force?: boolean; cloud?: boolean; remote?: string; jobs?: number }) => {
      const gc = async () => (await commands()).commandGc(io, root(), { ...dataFlags(o), cloud: o.cloud === true });
      // without --force gc only lists: it takes no lock
      io.exitCode = o.force === true ? await locked(gc) : await gc();
    });

  program
    .command('checkout')
    .description('restore outputs from the cache to match dvc.lock')
    .argument('[targets...]', 'stages, .dvc files or tracked paths to check out (default: all)')
    .option('-f, --force', 'overwrite (and delete) workspace files whose content is not in the cache')
    .action(async (targets: string[], o: { force?: boolean }) => {
      io.exitCode = await locked(async () => (await commands()).commandCheckout(io, root(), targets, { force: o.force === true, verbose: verbose(), cwd: where().cwd }));
    });

  program
    .command('dag')
    .description('show the pipeline graph')
    .argument('[target]', 'only this stage and its upstream')
    .addOption(new Option('--dot', 'Graphviz DOT').conflicts(['mermaid', 'json']))
    .addOption(new Option('--mermaid', 'Mermaid flowchart').conflicts(['json']))
    .addOption(new Option('--md', 'Mermaid flowchart in a Markdown block, as `dvc dag --md`').conflicts(['dot', 'mermaid', 'json']))
    .option('--json', 'nodes and edges as JSON')
    .action(async (target: string | undefined, o: { dot?: boolean; mermaid?: boolean; json?: boolean; md?: boolean }) => {
      // every format names stages as DVC's dag does (stage.addressing: from the folder started in)
      const format = o.md ? 'md' : o.dot ? 'dot' : o.mermaid ? 'mermaid' : o.json ? 'json' : 'text';
      io.exitCode = await (await commands()).commandDag(io, root(), target === undefined ? undefined : resolveTarget(target, where().cwd), format, where().cwd);
    });

  registerCompareCommands(program, io, root);
  registerExpCommands(program, io, { root, verbose, runtime, locked });
  registerEditCommands(program, io, root, locked, stageTargets);
  registerDataSourceCommands(program, io, { root, cwd: () => where().cwd, verbose, locked });
  registerConfigCommands(program, io, root);

  program
    .command('daemon')
    .description('keep the pipeline up to date: watch its inputs, rerun stale stages, report in status/ (stops on SIGTERM or SIGINT)')
    .option('--max-parallel <n>', "stages running at once (default: the Pipeline manifest's maxParallel, else 2)", daemonInt(1))
    .option('--debounce-ms <ms>', 'quiet time that ends a burst of file events', daemonInt(0), 150)
    .option('--port <port>', 'port of /healthz and /metrics (0: any free port; -1: no endpoint)', daemonInt(-1, 65535), 9465)
    .option('--host <address>', 'address of /healthz and /metrics (0.0.0.0 to be scraped from elsewhere)', '127.0.0.1')
    .option('--poll', 'poll the file system instead of inotify (for file systems that send no events)')
    .option('--web-actions', "let the web view's rerun button work when --host is not loopback (it needs the token printed at start)")
    .option('--no-tracking', 'record no MLflow runs (as REPROD_TRACKING=off)')
    .option('--log-format <format>', 'json (pino lines, ISO times) or pretty (for people); default: REPROD_LOG_FORMAT, else pretty on a terminal, json elsewhere')
    .action(async (o: { maxParallel?: number; debounceMs: number; port: number; host: string; poll?: boolean; tracking: boolean; webActions?: boolean; logFormat?: string }) => {
      io.exitCode = await (await commands()).commandDaemon(io, root(), {
        ...(o.maxParallel !== undefined ? { maxParallel: o.maxParallel } : {}),
        debounceMs: o.debounceMs,
        http: o.port < 0 ? null : { host: o.host, port: o.port },
        poll: o.poll === true,
        tracking: o.tracking,
        ...(o.webActions ? { webActions: true } : {}),
        ...(o.logFormat !== undefined ? { logFormat: o.logFormat } : {}),
        verbose: verbose(),
        runtime: runtime(),
      });
    });

  return program;
}

/** A whole number in [min, max] for a daemon flag. */
function daemonInt(min: number, max = Number.MAX_SAFE_INTEGER): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^-?\d+$/.test(v.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

function lockWaitArg(v: string): number {
  const ms = parseLockWaitSeconds(v);
  if (ms === undefined) throw new InvalidArgumentError('expected seconds (a number ≥ 0) or inf');
  return ms;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[], io: Io): Promise<number> {
  const program = buildCli(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return io.exitCode;
  } catch (e) {
    if (e instanceof ReprodError) {
      io.err(`ERROR: ${e.format()}\n`);
      return e.exitCode;
    }
    const ce = e as { code?: string; exitCode?: number };
    if (typeof ce.code === 'string' && ce.code.startsWith('commander.')) {
      // help and the version asked for exit 0; every bad command line (unknown option or command, missing or
      // invalid argument, help shown for want of a command) exits 2, as the README promises, never 1 ("stale")
      if (ce.code === 'commander.helpDisplayed' || ce.code === 'commander.version') return 0;
      if (ce.code === 'commander.help' && ce.exitCode === 0) return 0;
      return 2;
    }
    io.err(`ERROR: unexpected: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}
