import { Command, InvalidArgumentError, Option } from 'commander';
import { commandLogger } from '../app/logging.js';
import type { RuntimeMode } from '../app/project.js';
import { pyJsonDumps } from '../lock/py-json.js';
import type { Io } from './commands.js';
import { formatDecision } from './format.js';

/*
 * `reprod exp run | show | diff | apply | remove` (docs/EXPERIMENTS.md): the
 * work is app/experiments/'s; this file parses flags and prints.
 */
const runner = () => import('../app/experiments/exp-run.js');
const results = () => import('../app/experiments/exp-results.js');

export interface ExpCliContext {
  root(): string;
  verbose(): boolean;
  runtime(): RuntimeMode;
  /** Runs `fn` under the workspace lock, as the other writing commands do. */
  locked(fn: () => Promise<number>): Promise<number>;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

export function registerExpCommands(program: Command, io: Io, ctx: ExpCliContext): void {
  const exp = program.command('exp').description('experiments: parameter sweeps run side by side, compared, applied (docs/EXPERIMENTS.md)');

  exp
    .command('run')
    .description('run experiments: each -S setting (or grid of them) in its own workspace, up to -j at once')
    .option('-S, --set-param <key=value>', '[file:]key=value; value may be a,b,c, choice(a,b) or range(start,stop[,step]); several make a grid', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('-n, --name <name>', 'the experiment name (numbered NAME-1, NAME-2... for a sweep)')
    .option('-j, --jobs <n>', 'experiments running at once (default 1)', positiveInt)
    .option('--queue', 'only queue them; `exp run --run-all` runs the queue')
    .option('--run-all', 'run every queued experiment')
    .action(async (o: { setParam: string[]; name?: string; jobs?: number; queue?: boolean; runAll?: boolean }) => {
      io.exitCode = await expRun(io, ctx, o);
    });

  exp
    .command('show')
    .description('the workspace, its baseline and their experiments: params, metrics, state, run time')
    .addOption(new Option('--json', 'the shape `dvc exp show --json` prints').conflicts('csv'))
    .option('--csv', 'the rows `dvc exp show --csv` prints')
    .option('--sort-by <metric>', 'sort experiments by a metric or param (key, or file:key)')
    .addOption(new Option('--sort-order <order>', 'with --sort-by').choices(['asc', 'desc']).default('asc'))
    .option('--only-changed', 'only the columns whose value differs between rows')
    .action(async (o: { json?: boolean; csv?: boolean; sortBy?: string; sortOrder: 'asc' | 'desc'; onlyChanged?: boolean }) => {
      const data = (await results()).experimentsShow(ctx.root());
      const { showCsv, showJson, showTable } = await import('../experiments/exp-table.js');
      const opts = { ...(o.sortBy ? { sortBy: o.sortBy } : {}), sortOrder: o.sortOrder, onlyChanged: o.onlyChanged === true };
      if (o.json) io.out(`${pyJsonDumps(showJson(data.workspace, data.baselines))}\n`);
      else if (o.csv) io.out(showCsv(data.workspace, data.baselines, opts));
      else io.out(showTable(data.workspace, data.baselines, opts));
      io.exitCode = 0;
    });

  exp
    .command('diff')
    .description('params and metrics of experiment A against B (default: the workspace)')
    .argument('<a>', 'an experiment name')
    .argument('[b]', 'another experiment, or workspace')
    .option('--all', 'unchanged values too')
    .option('--json', 'as JSON: {"params": ..., "metrics": ...}')
    .option('--md', 'Markdown tables')
    .action(async (a: string, b: string | undefined, o: { all?: boolean; json?: boolean; md?: boolean }) => {
      const d = (await results()).experimentsDiff(ctx.root(), a, b, o.all === true);
      const [{ diffJson }, { diffTable, renderTable }] = await Promise.all([import('../metrics/diff.js'), import('../metrics/table.js')]);
      if (o.json) {
        io.out(`${pyJsonDumps(new Map([['params', diffJson(d.params)], ['metrics', diffJson(d.metrics)]]))}\n`);
      } else {
        const fmt = o.md ? 'github' : 'plain';
        const bRev = b ?? 'workspace';
        io.out(renderTable(diffTable(d.params, { title: 'Param', aRev: a, bRev, noPath: false, showChanges: false }), fmt));
        io.out(renderTable(diffTable(d.metrics, { title: 'Metric', aRev: a, bRev, noPath: false, showChanges: true }), fmt));
      }
      io.exitCode = 0;
    });

  exp
    .command('apply')
    .description("bring an experiment's params and outputs into the workspace (refuses to overwrite uncommitted work)")
    .argument('<name>', 'the experiment')
    .option('-f, --force', 'overwrite uncommitted changes')
    .action(async (name: string, o: { force?: boolean }) => {
      io.exitCode = await ctx.locked(async () => {
        const r = await (await results()).applyExperiment(ctx.root(), name, o.force === true);
        for (const f of r.written) io.out(`M\t${f}\n`);
        for (const f of r.restored) io.out(`A\t${f}\n`);
        io.out(`Changes for experiment '${name}' have been applied to your current workspace.\n`);
        return 0;
      });
    });

  exp
    .command('remove')
    .alias('rm')
    .description('remove experiments (their refs in git, their records)')
    .argument('[names...]', 'experiments to remove')
    .option('-A, --all', 'every experiment of the baseline')
    .option('--queue', 'every queued experiment')
    .action(async (names: string[], o: { all?: boolean; queue?: boolean }) => {
      io.exitCode = await ctx.locked(async () => {
        const removed = (await results()).removeExperiments(ctx.root(), names, { all: o.all === true, queue: o.queue === true });
        io.out(removed.length ? `Removed experiments: ${removed.join(', ')}\n` : 'No experiments to remove.\n');
        return 0;
      });
    });
}

async function expRun(io: Io, ctx: ExpCliContext, o: { setParam: string[]; name?: string; jobs?: number; queue?: boolean; runAll?: boolean }): Promise<number> {
  const ac = new AbortController();
  const onSignal = () => {
    io.err('Cancelling the experiments (the main workspace is left as it was)...\n');
    ac.abort(new Error('interrupted'));
    process.off('SIGINT', onSignal);
  };
  process.on('SIGINT', onSignal);
  try {
    const res = await (await runner()).runExperiments({
      root: ctx.root(),
      runtime: ctx.runtime(),
      log: commandLogger(ctx.verbose()),
      set: o.setParam,
      ...(o.name !== undefined ? { name: o.name } : {}),
      jobs: o.jobs ?? 1,
      queue: o.queue === true,
      runAll: o.runAll === true,
      signal: ac.signal,
      withMainLock: (fn) => {
        let value: Awaited<ReturnType<typeof fn>> | undefined;
        return ctx.locked(async () => ((value = await fn()), 0)).then(() => value as Awaited<ReturnType<typeof fn>>);
      },
      onEvent: (e) => {
        switch (e.kind) {
          case 'queued':
            io.out(`Queued experiment '${e.name}' (${e.overrides.join(' ') || 'no changes'}) for future execution.\n`);
            break;
          case 'shared':
            io.out(`Running the stages every experiment shares once: ${e.stages.join(', ')}\n`);
            break;
          case 'started':
            io.out(`Reproducing experiment '${e.name}' (${e.overrides.join(' ') || 'no changes'})\n`);
            break;
          case 'decision': {
            const line = e.decision.action === 'ran' ? `Ran stage '${e.decision.stage}'` : formatDecision(e.decision);
            if (line !== undefined) io.out(`[${e.name}] ${line}\n`);
            break;
          }
          case 'finished':
            if (e.state === 'failed') io.err(`ERROR: experiment '${e.name}' failed: ${e.error ?? ''}${e.logs ? `\n  its stage logs: ${e.logs}` : ''}\n`);
            if (e.state === 'cancelled') io.err(`experiment '${e.name}' was cancelled\n`);
            break;
        }
      },
    });
    if (o.queue) return 0;
    const ok = res.filter((r) => r.state === 'success').map((r) => r.name);
    if (ok.length > 0) io.out(`\nRan experiment(s): ${ok.join(', ')}\nTo apply the results of an experiment to your workspace run:\n\n\treprod exp apply <exp>\n`);
    if (res.length === 0) io.out('No experiments to run.\n');
    if (res.some((r) => r.state === 'failed')) return Math.max(1, ...res.flatMap((r) => (r.error ? [r.error.exitCode] : [])));
    if (res.some((r) => r.state === 'cancelled')) return 130;
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
  }
}
