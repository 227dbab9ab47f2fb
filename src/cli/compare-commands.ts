import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import { loadPipeline } from '../app/project.js';
import { pyJsonDumps } from '../lock/py-json.js';
import { diffJson } from '../metrics/diff.js';
import { revResultJson } from '../metrics/results.js';
import { diffTable, metricsTable, renderTable } from '../metrics/table.js';
import { dagOfTarget, dagToMermaid } from '../pipeline/dag-format.js';
import { ReprodError } from '../core/errors.js';
import type { PyDict, PyValue } from '../core/pyvalue.js';
import { TEMPLATES } from '../plots/templates.js';
import { isBuiltinTemplate, templateValue } from '../plots/vega-template.js';
import type { Io } from './commands.js';

/*
 * The commands that show and compare what a pipeline produced (metrics,
 * params, plots) and `dag --md`, printed as DVC prints them: `--json` as
 * Python's json.dumps, tables as tabulate lays them out.
 */

const metricsApp = () => import('../app/metrics.js');
const plotsApp = () => import('../app/plots.js');

/** DVC's default `--precision` for metrics tables. */
const DEFAULT_PRECISION = 5;

/** `reprod dag --md [target]`: what `dvc dag --md` prints, a mermaid flowchart in a Markdown block. */
export async function commandDagMarkdown(io: Io, root: string, target: string | undefined): Promise<number> {
  const { dag } = loadPipeline(path.resolve(root));
  io.out(dagToMermaid(target ? dagOfTarget(dag, target) : dag, { markdown: true }));
  return 0;
}

function warnErrored(io: Io, what: string, errored: readonly string[]): void {
  if (errored.length > 0) io.err(`reprod failed to load some ${what} for following revisions: '${errored.join(', ')}'.\n`);
}

function precisionOf(p: number | undefined): number {
  // DVC: `args.precision or DEFAULT_PRECISION`, so 0 means the default too
  return p || DEFAULT_PRECISION;
}

export interface MetricsShowOptions {
  json: boolean;
  md: boolean;
  precision?: number;
}

export async function commandMetricsShow(io: Io, root: string, targets: string[], o: MetricsShowOptions): Promise<number> {
  const { results, errored } = (await metricsApp()).showMetrics(path.resolve(root), targets);
  warnErrored(io, 'metrics', errored);
  if (o.json) {
    io.out(`${pyJsonDumps(new Map([...results].map(([rev, r]) => [rev, revResultJson(r)])))}\n`);
  } else {
    io.out(renderTable(metricsTable(results, { precision: precisionOf(o.precision), showRevision: false }), o.md ? 'github' : 'plain'));
  }
  return 0;
}

export interface DiffCliOptions {
  targets?: string[];
  all?: boolean;
  json?: boolean;
  md?: boolean;
  /** false with `--no-path` */
  path: boolean;
  precision?: number;
  deps?: boolean;
}

export async function commandMetricsDiff(io: Io, root: string, aRev: string, bRev: string, o: DiffCliOptions): Promise<number> {
  const { diff, errored } = (await metricsApp()).diffMetrics(path.resolve(root), { aRev, bRev, targets: o.targets ?? [], all: o.all === true });
  warnErrored(io, 'metrics', errored);
  if (o.json) {
    io.out(`${pyJsonDumps(diffJson(diff))}\n`);
    return 0;
  }
  const table = diffTable(diff, { title: 'Metric', aRev, bRev, noPath: !o.path, showChanges: true, precision: precisionOf(o.precision) });
  io.out(renderTable(table, o.md ? 'github' : 'plain'));
  return 0;
}

export async function commandParamsDiff(io: Io, root: string, aRev: string, bRev: string, o: DiffCliOptions): Promise<number> {
  const { diff, errored } = (await metricsApp()).diffParams(path.resolve(root), {
    aRev,
    bRev,
    targets: o.targets ?? [],
    all: o.all === true,
    deps: o.deps === true,
  });
  // DVC says "metrics" here too
  warnErrored(io, 'metrics', errored);
  if (o.json) {
    io.out(`${pyJsonDumps(diffJson(diff))}\n`);
    return 0;
  }
  const table = diffTable(diff, { title: 'Param', aRev, bRev, noPath: !o.path, showChanges: false });
  io.out(renderTable(table, o.md ? 'github' : 'plain'));
  return 0;
}

export interface PlotsCliOptions {
  template?: string;
  x?: string;
  y?: string;
  xLabel?: string;
  yLabel?: string;
  title?: string;
  /** false with `--no-header` */
  header?: boolean;
  out?: string;
  json?: boolean;
  targets?: string[];
}

/** The display properties given on the command line, in DVC's PLOT_PROPS order. */
function plotProps(o: PlotsCliOptions): PyDict {
  const props: [string, PyValue | undefined][] = [
    ['template', o.template],
    ['x', o.x],
    ['y', o.y],
    ['x_label', o.xLabel],
    ['y_label', o.yLabel],
    ['title', o.title],
    ['header', o.header === false ? false : undefined],
  ];
  return new Map(props.filter((p): p is [string, PyValue] => p[1] !== undefined));
}

async function printPlots(io: Io, outcome: Awaited<ReturnType<Awaited<ReturnType<typeof plotsApp>>['showPlots']>>): Promise<number> {
  warnErrored(io, 'plots', outcome.errored);
  if (outcome.kind === 'json') io.out(`${pyJsonDumps(outcome.json)}\n`);
  else if (outcome.kind === 'none') io.err('No plots were loaded, visualization file will not be created.\n');
  else io.out(`${outcome.url}\n`);
  return 0;
}

/** `reprod plots show [targets]`: the page (or `--json`) of the workspace's plots. */
export async function commandPlotsShow(io: Io, root: string, targets: string[], o: PlotsCliOptions): Promise<number> {
  const app = await plotsApp();
  return printPlots(io, app.showPlots(path.resolve(root), { targets, props: plotProps(o), json: o.json === true, ...(o.out ? { out: o.out } : {}) }));
}

/** `reprod plots diff [revisions]`: the same plots over several revisions, overlaid. */
export async function commandPlotsDiff(io: Io, root: string, revisions: string[], o: PlotsCliOptions): Promise<number> {
  const app = await plotsApp();
  const opts = { targets: o.targets ?? [], props: plotProps(o), json: o.json === true, ...(o.out ? { out: o.out } : {}) };
  return printPlots(io, app.diffPlots(path.resolve(root), revisions, opts));
}

/** `reprod plots templates [name]`: the built-in template names, or one template's JSON. */
export function commandPlotsTemplates(io: Io, name: string | undefined): number {
  if (name === undefined) {
    io.out(Object.keys(TEMPLATES).map((n) => `${n}\n`).join(''));
    return 0;
  }
  if (!isBuiltinTemplate(name)) {
    throw new ReprodError('USAGE', `Unexpected template: ${name}.`, { remedy: 'Run `reprod plots templates` for the names.' });
  }
  io.out(`${pyJsonDumps(templateValue(TEMPLATES[name]()))}\n`);
  return 0;
}

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
      io.exitCode = await commandMetricsShow(io, root(), targets, { json: o.json === true, md: o.md === true, ...(o.precision !== undefined ? { precision: o.precision } : {}) });
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
      io.exitCode = await commandMetricsDiff(io, root(), a, b, o);
    });
  const params = program.command('params').description('compare params, as `dvc params`');
  diffCommand(params, 'params')
    .description('compare params between two git revisions, or a revision and the workspace (default: HEAD and the workspace)')
    .option('--deps', 'only the params stages depend on')
    .action(async (a: string, b: string, o: DiffCliOptions) => {
      io.exitCode = await commandParamsDiff(io, root(), a, b, o);
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
    io.exitCode = await commandPlotsShow(io, root(), targets, o);
  });
  plotOptions(
    plots
      .command('diff')
      .description('the plots of several git revisions overlaid (default: HEAD, when files changed, and the workspace)')
      .argument('[revisions...]', 'git revisions (one: compared with the workspace)')
      .option('--targets <ids...>', 'plot ids or data files (default: every plot)'),
  ).action(async (revisions: string[], o: PlotsCliOptions) => {
    io.exitCode = await commandPlotsDiff(io, root(), revisions, o);
  });
  plots
    .command('templates')
    .description('list the built-in Vega-Lite templates, or print one')
    .argument('[template]', 'a template name')
    .action((name: string | undefined) => {
      io.exitCode = commandPlotsTemplates(io, name);
    });
}
