import { InvalidArgumentError, type Command } from 'commander';
import path from 'node:path';
import { loadPipeline } from '../app/project.js';
import { pyJsonDumps } from '../lock/py-json.js';
import { diffJson } from '../metrics/diff.js';
import { revResultJson } from '../metrics/results.js';
import { diffTable, metricsTable, renderTable } from '../metrics/table.js';
import { dagOfTarget, dagToMermaid } from '../pipeline/dag-format.js';
import type { Io } from './commands.js';

/*
 * The commands that show and compare what a pipeline produced (metrics,
 * params, plots) and `dag --md`, printed as DVC prints them: `--json` as
 * Python's json.dumps, tables as tabulate lays them out.
 */

const metricsApp = () => import('../app/metrics.js');

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
}
