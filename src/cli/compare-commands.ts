import path from 'node:path';
import { pyJsonDumps } from '../lock/py-json.js';
import { diffJson } from '../metrics/diff.js';
import { revResultJson } from '../metrics/results.js';
import { DEFAULT_PRECISION, diffTable, metricsTable, renderTable } from '../metrics/table.js';
import { ReprodError } from '../core/errors.js';
import type { PyDict, PyValue } from '../core/pyvalue.js';
import { TEMPLATES } from '../plots/templates.js';
import { isBuiltinTemplate, templateValue } from '../plots/vega-template.js';
import type { Io } from './io.js';

/*
 * The commands that show and compare what a pipeline produced (metrics,
 * params, plots), printed as DVC prints them: `--json` as Python's
 * json.dumps, tables as tabulate lays them out.
 */

const metricsApp = () => import('../app/metrics.js');
const plotsApp = () => import('../app/plots.js');

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
