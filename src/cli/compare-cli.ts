import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_PRECISION } from '../metrics/table.js';
import type { DiffCliOptions, PlotsCliOptions } from './compare-commands.js';
import type { Io } from './io.js';

/*
 * The command line of `metrics`, `params` and `plots`. The commands
 * themselves (compare-commands.ts) are loaded when one runs: building the
 * command line for another command should not load the metrics and plots
 * code.
 */
const compare = () => import('./compare-commands.js');

function wholeNumber(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim())) throw new InvalidArgumentError('expected a whole number');
  return n;
}

/** Adds `metrics`, `params` and `plots` to the command line. */
export function registerCompareCommands(program: Command, io: Io, root: () => string): void {
  const metrics = program.command('metrics').description('show and compare metrics files, as `dvc metrics`');
  metrics
    .command('show')
    .description("print the metrics of the pipeline's metrics files (or of the targets)")
    .argument('[targets...]', 'metrics files (default: every metrics file dvc.yaml declares)')
    .option('--json', 'print what `dvc metrics show --json` prints')
    .option('--md', 'a Markdown (GitHub) table')
    .option('--precision <n>', `round to n decimals (default ${DEFAULT_PRECISION})`, wholeNumber)
    .action(async (targets: string[], o: { json?: boolean; md?: boolean; precision?: number }) => {
      io.exitCode = await (await compare()).commandMetricsShow(io, root(), targets, { json: o.json === true, md: o.md === true, ...(o.precision !== undefined ? { precision: o.precision } : {}) });
    });
  const diffCommand = (parent: Command, what: string) =>
    parent
      .command('diff')
      .argument('[a_rev]', 'old git revision', 'HEAD')
      .argument('[b_rev]', 'new git revision, or `workspace`', 'workspace')
      .option('--targets <paths...>', `${what} files to compare (default: every one dvc.yaml declares)`)
      .option('--all', 'list unchanged values too')
      .option('--json', `print what \`dvc ${what} diff --json\` prints`)
      .option('--md', 'a Markdown (GitHub) table')
      .option('--no-path', 'leave out the Path column');
  diffCommand(metrics, 'metrics')
    .description('compare metrics between two git revisions, or a revision and the workspace (default: HEAD and the workspace)')
    .option('--precision <n>', `round to n decimals (default ${DEFAULT_PRECISION})`, wholeNumber)
    .action(async (a: string, b: string, o: DiffCliOptions) => {
      io.exitCode = await (await compare()).commandMetricsDiff(io, root(), a, b, o);
    });
  const params = program.command('params').description('compare params, as `dvc params`');
  diffCommand(params, 'params')
    .description('compare params between two git revisions, or a revision and the workspace (default: HEAD and the workspace)')
    .option('--deps', 'only the params stages depend on')
    .action(async (a: string, b: string, o: DiffCliOptions) => {
      io.exitCode = await (await compare()).commandParamsDiff(io, root(), a, b, o);
    });

  const plots = program.command('plots').description('draw the plots dvc.yaml defines, as `dvc plots`');
  const plotOptions = (c: Command) =>
    c
      .option('-t, --template <name>', 'Vega-Lite template: a built-in one (`reprod plots templates`) or a JSON file')
      .option('-x <field>', 'the field for the x axis')
      .option('-y <field>', 'the field for the y axis')
      .option('--no-header', 'the CSV/TSV files have no header row')
      .option('--title <text>', 'the plot title')
      .option('--x-label <text>', 'the x axis label')
      .option('--y-label <text>', 'the y axis label')
      .option('-o, --out <dir>', 'the folder for index.html (default: dvc_plots)')
      .option('--json', 'print what `dvc plots show --json` prints (the filled Vega-Lite specs) instead of writing the page');
  plotOptions(
    plots
      .command('show')
      .description('write a self-contained HTML page of the plots (dvc_plots/index.html) and print its file:// URL')
      .argument('[targets...]', 'plot ids or data files (default: every plot)'),
  ).action(async (targets: string[], o: PlotsCliOptions) => {
    io.exitCode = await (await compare()).commandPlotsShow(io, root(), targets, o);
  });
  plotOptions(
    plots
      .command('diff')
      .description('the plots of several git revisions overlaid (default: HEAD, when files changed, and the workspace)')
      .argument('[revisions...]', 'git revisions (one: compared with the workspace)')
      .option('--targets <ids...>', 'plot ids or data files (default: every plot)'),
  ).action(async (revisions: string[], o: PlotsCliOptions) => {
    io.exitCode = await (await compare()).commandPlotsDiff(io, root(), revisions, o);
  });
  plots
    .command('templates')
    .description('list the built-in Vega-Lite templates, or print one')
    .argument('[template]', 'a template name')
    .action(async (name: string | undefined) => {
      io.exitCode = (await compare()).commandPlotsTemplates(io, name);
    });
}

