import { isPyDict, type PyDict, type PyValue } from '../core/pyvalue.js';
import type { EncodedError, Loaded } from '../metrics/data-file.js';
import { flatten } from '../metrics/diff.js';
import { pyStrOf } from '../metrics/py-format.js';
import { loadedJson } from '../metrics/results.js';
import { tabulate } from '../metrics/table.js';

/**
 * What `exp show` prints, in DVC 3's shapes (`dvc/repo/experiments/show.py`
 * and `serialize.py`): `--json` is the list of baselines, the workspace
 * first, each baseline's experiments under it; `--csv` and the table are the
 * rows of `_build_rows`: Experiment, rev, typ, Created, parent, then the
 * metrics, params and deps columns (deps sorted by path).
 */

export interface DepInfo {
  path: string;
  hash: string;
  size: number | null;
  nfiles: number | null;
}
export interface OutInfo extends DepInfo {
  useCache: boolean;
}

/** One revision's data (DVC's SerializableExp). */
export interface ExpData {
  rev: string;
  /** `2026-12-01T19:55:38` (local time, as DVC prints it); null for the workspace. */
  timestamp: string | null;
  params: ReadonlyMap<string, Loaded>;
  metrics: ReadonlyMap<string, Loaded>;
  deps: readonly DepInfo[];
  outs: readonly OutInfo[];
}

export type ExpState = 'success' | 'failed' | 'queued';

export interface ShownExp {
  name: string;
  state: ExpState;
  /** Undefined for a queued experiment, or a failed one whose results were not kept. */
  data?: ExpData;
  error?: EncodedError;
  /** Wall time of the run, for the table. */
  durationMs?: number;
}

export interface ShownBaseline {
  /** `workspace` or a commit sha. */
  rev: string;
  /** The branch (or tag) naming the baseline; null for the workspace and detached heads. */
  name: string | null;
  data: ExpData;
  experiments: readonly ShownExp[];
}

function dataJson(d: ExpData): PyDict {
  const files = (m: ReadonlyMap<string, Loaded>): PyDict => new Map([...m].map(([f, l]) => [f, loadedJson(l)]));
  const dep = (x: DepInfo): PyDict => new Map<string, PyValue>([['hash', x.hash], ['size', x.size], ['nfiles', x.nfiles]]);
  return new Map<string, PyValue>([
    ['rev', d.rev],
    ['timestamp', d.timestamp],
    ['params', files(d.params)],
    ['metrics', files(d.metrics)],
    ['deps', new Map(d.deps.map((x) => [x.path, dep(x)]))],
    ['outs', new Map(d.outs.map((x) => [x.path, new Map([...dep(x), ['use_cache', x.useCache], ['is_data_source', false]])]))],
    ['meta', new Map()],
  ]);
}

function errorJson(e: EncodedError | undefined): PyValue {
  return e ? new Map<string, PyValue>([['type', e.type], ['msg', e.msg]]) : null;
}

function expJson(e: ShownExp): PyDict {
  const rev = e.data?.rev ?? '';
  const executor: PyValue = e.state === 'success' ? null : new Map<string, PyValue>([['state', e.state], ['name', null], ['local', null]]);
  const revs: PyValue[] = e.data
    ? [new Map<string, PyValue>([['rev', rev], ['name', e.name], ['data', dataJson(e.data)], ['error', errorJson(e.error)], ['experiments', null]])]
    : [];
  return new Map<string, PyValue>([['revs', revs], ['executor', executor], ['name', e.name]]);
}

/** The `--json` document. */
export function showJson(workspace: ExpData, baselines: readonly ShownBaseline[]): PyValue[] {
  const entry = (rev: string, name: string | null, data: ExpData, exps: readonly ShownExp[] | null): PyDict =>
    new Map<string, PyValue>([
      ['rev', rev],
      ['name', name],
      ['data', dataJson(data)],
      ['error', null],
      ['experiments', exps && exps.length > 0 ? exps.map(expJson) : null],
    ]);
  const ws = baselines.find((b) => b.rev === 'workspace');
  return [entry('workspace', null, workspace, ws ? ws.experiments : null), ...baselines.filter((b) => b !== ws).map((b) => entry(b.rev, b.name, b.data, b.experiments))];
}

export interface ShowOptions {
  sortBy?: string;
  sortOrder?: 'asc' | 'desc';
  onlyChanged?: boolean;
}

interface Row {
  experiment: string;
  rev: string;
  typ: 'baseline' | 'branch_base' | 'branch_commit';
  created: string;
  parent: string;
  state: string;
  runTime: string;
  values: Map<string, PyValue>;
}

interface Column {
  id: string;
  header: string;
}

/** Each metric and param as `file\0key`; headers are the key alone unless two files share it. */
function columnsOf(datas: readonly ExpData[], pick: (d: ExpData) => ReadonlyMap<string, Loaded>): Column[] {
  const ids: string[] = [];
  for (const d of datas) {
    for (const [file, l] of pick(d)) {
      if (!('data' in l) || !isPyDict(l.data)) continue;
      for (const k of flatten(l.data).keys()) if (!ids.includes(`${file}\0${k}`)) ids.push(`${file}\0${k}`);
    }
  }
  const keyCount = new Map<string, number>();
  for (const id of ids) keyCount.set(id.split('\0')[1] as string, (keyCount.get(id.split('\0')[1] as string) ?? 0) + 1);
  return ids.map((id) => {
    const [file, key] = id.split('\0') as [string, string];
    return { id, header: (keyCount.get(key) ?? 0) > 1 ? `${file}:${key}` : key };
  });
}

function valuesOf(d: ExpData | undefined): Map<string, PyValue> {
  const out = new Map<string, PyValue>();
  if (!d) return out;
  for (const m of [d.metrics, d.params]) {
    for (const [file, l] of m) if ('data' in l && isPyDict(l.data)) for (const [k, v] of flatten(l.data)) out.set(`${file}\0${k}`, v);
  }
  for (const dep of d.deps) out.set(`dep\0${dep.path}`, dep.hash);
  return out;
}

function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  const s = Math.round(ms / 100) / 10;
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
}

function rowsOf(workspace: ExpData, baselines: readonly ShownBaseline[], o: ShowOptions): Row[] {
  const rows: Row[] = [{ experiment: '', rev: 'workspace', typ: 'baseline', created: '', parent: '', state: '', runTime: '', values: valuesOf(workspace) }];
  for (const b of baselines) {
    if (b.rev !== 'workspace') {
      rows.push({ experiment: '', rev: b.name ?? b.rev.slice(0, 7), typ: 'baseline', created: b.data.timestamp ?? '', parent: '', state: '', runTime: '', values: valuesOf(b.data) });
    }
    const exps = sortExps(b.experiments, o, columnsOf([...b.experiments.flatMap((e) => (e.data ? [e.data] : []))], (d) => d.metrics));
    for (const e of exps) {
      rows.push({
        experiment: e.name,
        rev: e.data && e.data.rev !== e.name ? e.data.rev.slice(0, 7) : '',
        // one commit per experiment: each is its range's last (DVC's branch_base); the rest would be branch_commit
        typ: 'branch_base',
        created: e.data?.timestamp ?? '',
        parent: '',
        state: e.state === 'success' ? 'Success' : e.state === 'failed' ? 'Failed' : 'Queued',
        runTime: duration(e.durationMs),
        values: valuesOf(e.data),
      });
    }
  }
  return rows;
}

/** Experiments by `--sort-by` (a metric or param, `key` or `file:key`), missing values last; else as given. */
function sortExps(exps: readonly ShownExp[], o: ShowOptions, metricCols: Column[]): ShownExp[] {
  if (!o.sortBy) return [...exps];
  const all = [...metricCols, ...columnsOf(exps.flatMap((e) => (e.data ? [e.data] : [])), (d) => d.params)];
  const col = all.find((c) => c.header === o.sortBy || c.id.replace('\0', ':') === o.sortBy || c.id.split('\0')[1] === o.sortBy);
  if (!col) return [...exps];
  const key = (e: ShownExp) => valuesOf(e.data).get(col.id);
  const sign = o.sortOrder === 'desc' ? -1 : 1;
  return [...exps].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    if (x === undefined || x === null) return y === undefined || y === null ? 0 : 1;
    if (y === undefined || y === null) return -1;
    const [nx, ny] = [numeric(x), numeric(y)];
    if (nx !== undefined && ny !== undefined) return sign * (nx - ny);
    return sign * pyStrOf(x).localeCompare(pyStrOf(y));
  });
}

function numeric(v: PyValue): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'object' && v !== null && 'value' in v && typeof v.value === 'number') return v.value;
  return undefined;
}

/** The column set: metrics, params, deps; `onlyChanged` keeps those whose value differs between rows. */
function columns(workspace: ExpData, baselines: readonly ShownBaseline[], rows: readonly Row[], o: ShowOptions): Column[] {
  const datas = [workspace, ...baselines.flatMap((b) => [b.data, ...b.experiments.flatMap((e) => (e.data ? [e.data] : []))])];
  const depPaths = [...new Set(datas.flatMap((d) => d.deps.map((x) => x.path)))].sort();
  const cols = [...columnsOf(datas, (d) => d.metrics), ...columnsOf(datas, (d) => d.params), ...depPaths.map((p) => ({ id: `dep\0${p}`, header: p }))];
  if (!o.onlyChanged) return cols;
  return cols.filter((c) => new Set(rows.map((r) => cell(r.values.get(c.id)))).size > 1);
}

function cell(v: PyValue | undefined): string {
  return v === undefined || v === null ? '' : pyStrOf(v);
}

function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** `exp show --csv`, as DVC writes it (Python's csv module, `\n` line ends as captured). */
export function showCsv(workspace: ExpData, baselines: readonly ShownBaseline[], o: ShowOptions = {}): string {
  const rows = rowsOf(workspace, baselines, o);
  const cols = columns(workspace, baselines, rows, o);
  const lines = [['Experiment', 'rev', 'typ', 'Created', 'parent', ...cols.map((c) => c.header)]];
  for (const r of rows) lines.push([r.experiment, r.rev, r.typ, r.created, r.parent, ...cols.map((c) => cell(r.values.get(c.id)))]);
  return lines.map((l) => l.map(csvField).join(',')).join('\n') + '\n';
}

/**
 * `exp show` for people: one line per revision, experiments drawn under their
 * baseline (├── / └──) with their state and run time, then the metrics, params
 * and deps columns; `-` where a revision has no value.
 */
export function showTable(workspace: ExpData, baselines: readonly ShownBaseline[], o: ShowOptions = {}): string {
  const rows = rowsOf(workspace, baselines, o);
  const cols = columns(workspace, baselines, rows, o).filter((c) => !c.id.startsWith('dep\0') || o.onlyChanged);
  const out: string[][] = [];
  rows.forEach((r, i) => {
    const next = rows[i + 1];
    const label = r.typ === 'baseline' ? r.rev : `${next && next.typ !== 'baseline' ? '├──' : '└──'} ${r.experiment}${r.rev ? ` [${r.rev}]` : ''}`;
    out.push([label, r.created || '-', r.state || '-', r.runTime || '-', ...cols.map((c) => cell(r.values.get(c.id)) || '-')]);
  });
  return `${tabulate({ headers: ['Experiment', 'Created', 'State', 'Run time', ...cols.map((c) => c.header)], rows: out }, 'plain')}\n`;
}
