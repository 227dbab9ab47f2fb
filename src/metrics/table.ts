import { isPyDict, PyFloat, pyStrCompare, type PyValue } from '../core/pyvalue.js';
import type { DiffResult } from './diff.js';
import { flatten, formatDict } from './diff.js';
import type { RevResult } from './results.js';
import { pyRound, pyStrOf } from './py-format.js';

/**
 * The tables DVC prints for people (dvc/compare.py, printed by `tabulate`
 * with `disable_numparse=True`, `missingval="-"`): `plain` for terminals,
 * `github` for `--md`.
 */
export type TableFormat = 'plain' | 'github';

export interface Table {
  headers: string[];
  rows: string[][];
}

/** tabulate 0.9's MIN_PADDING: every column is at least two wider than its header. */
const MIN_PADDING = 2;

const width = (s: string): number => [...s].length;
const padRight = (s: string, w: number): string => s + ' '.repeat(Math.max(0, w - width(s)));

/**
 * `tabulate(rows, headers, tablefmt, disable_numparse=True)`: every cell a
 * left-aligned string, stripped, each line right-trimmed. No trailing newline.
 */
export function tabulate(t: Table, fmt: TableFormat): string {
  const { headers } = t;
  if (headers.length === 0 && t.rows.length === 0) return '';
  const ncols = Math.max(headers.length, ...t.rows.map((r) => r.length));
  const cols: string[][] = [];
  for (let c = 0; c < ncols; c++) cols.push(t.rows.map((r) => (r[c] ?? '').trim()));
  const widths = cols.map((col, c) => {
    const min = headers.length > 0 ? width(headers[c] ?? '') + MIN_PADDING : 0;
    return Math.max(min, 0, ...col.map(width));
  });
  const pad = fmt === 'github' ? 1 : 0;
  const [begin, sep, end] = fmt === 'github' ? ['|', '|', '|'] : ['', '  ', ''];
  const line = (cells: string[]) => `${begin}${cells.map((s, c) => `${' '.repeat(pad)}${padRight(s, widths[c] ?? 0)}${' '.repeat(pad)}`).join(sep)}${end}`.trimEnd();
  const lines: string[] = [];
  if (headers.length > 0) {
    lines.push(line(headers));
    if (fmt === 'github') lines.push(`|${widths.map((w) => '-'.repeat(w + 2 * pad)).join('|')}|`.trimEnd());
  }
  for (let r = 0; r < t.rows.length; r++) lines.push(line(cols.map((col) => col[r] ?? '')));
  return lines.join('\n');
}

/** What DVC writes for a table: nothing for an empty plain table; `--md` ends with a blank line. */
export function renderTable(t: Table, fmt: TableFormat): string {
  if (t.rows.length === 0 && fmt === 'plain') return '';
  return fmt === 'github' ? `${tabulate(t, fmt)}\n\n` : `${tabulate(t, fmt)}\n`;
}

/** DVC's default `--precision` for metrics tables. */
export const DEFAULT_PRECISION = 5;

/** DVC's `_format_field`: floats rounded to `precision` decimals (when given), then Python's `str()`. */
export function formatField(v: PyValue, precision: number | undefined): string {
  const round = (x: PyValue): PyValue => {
    if (x instanceof PyFloat && precision) return new PyFloat(pyRound(x.value, precision));
    if (isPyDict(x)) return new Map([...x].map(([k, y]) => [k, round(y)]));
    if (Array.isArray(x)) return x.map(round);
    return x;
  };
  return pyStrOf(round(v));
}

export interface DiffTableOptions {
  /** `Metric` or `Param`. */
  title: string;
  aRev: string;
  bRev: string;
  noPath: boolean;
  /** The `Change` column (metrics have it, params do not). */
  showChanges: boolean;
  precision?: number;
}

/** DVC's `diff_table`: one row per changed key, keys sorted within each file, `-` where a side has no value. */
export function diffTable(diff: DiffResult, o: DiffTableOptions): Table {
  const fill = (v: PyValue | undefined): string => (v === undefined || v === null ? '-' : formatField(v, o.precision));
  const rows: string[][] = [];
  for (const [file, changes] of diff) {
    for (const key of [...changes.keys()].sort(pyStrCompare)) {
      const c = changes.get(key);
      if (!c) continue;
      const row = [key, fill(c.old), fill(c.new)];
      if (o.showChanges) row.push(fill(c.diff));
      rows.push(o.noPath ? row : [file, ...row]);
    }
  }
  const headers = [o.title, o.aRev, o.bRev, ...(o.showChanges ? ['Change'] : [])];
  return { headers: o.noPath ? headers : ['Path', ...headers], rows };
}

/**
 * DVC's `metrics_table`: a row per file, a column per metric (dotted keys,
 * sorted), `-` where a file lacks one; the revision column only when several
 * revisions are shown.
 */
export function metricsTable(results: ReadonlyMap<string, RevResult>, o: { precision?: number; showRevision: boolean }): Table {
  const columns: string[] = [];
  const rows: Map<string, string>[] = [];
  for (const [rev, result] of results) {
    if ('error' in result) continue;
    for (const [file, loaded] of result.data) {
      const row = new Map<string, string>([
        ['Revision', rev],
        ['Path', file],
      ]);
      const metric = 'error' in loaded ? new Map() : loaded.data;
      const flat = isPyDict(metric) ? flatten(formatDictOf(metric)) : new Map([['', metric]]);
      for (const [k, v] of flat) {
        if (!columns.includes(k) && k !== 'Revision' && k !== 'Path') columns.push(k);
        row.set(k, formatField(v, o.precision));
      }
      rows.push(row);
    }
  }
  const headers = [...(o.showRevision ? ['Revision'] : []), 'Path', ...[...columns].sort(pyStrCompare)];
  return { headers, rows: rows.map((r) => headers.map((h) => r.get(h) ?? '-')) };
}

function formatDictOf(d: Map<string, PyValue>): Map<string, PyValue> {
  const f = formatDict(d);
  return isPyDict(f) ? f : new Map([['', f]]);
}

