import type { ViewExperiment } from '../../src/core/ports/web-view.js';
import { fill, h } from './dom.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const isObject = (v: Json | undefined): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Leaves of a metrics file, by dotted key. */
function leaves(v: Json, prefix: string, out: [string, string][]): void {
  if (isObject(v)) for (const [k, x] of Object.entries(v)) leaves(x, prefix ? `${prefix}.${k}` : k, out);
  else out.push([prefix, typeof v === 'number' ? String(Number.isInteger(v) ? v : Number(v.toPrecision(6))) : JSON.stringify(v)]);
}

/** `metrics show --json`'s document as a table: file, key, value (and a file's error in its row). */
export function metricsTable(parsed: unknown): HTMLElement | undefined {
  // parsed JSON is Json by construction
  const doc = parsed as Json;
  const files = isObject(doc) && isObject(doc['data']) ? doc['data'] : undefined;
  if (!files || Object.keys(files).length === 0) return undefined;
  const rows: HTMLElement[] = [];
  for (const [file, entry] of Object.entries(files)) {
    if (!isObject(entry)) continue;
    if (isObject(entry['error'])) {
      rows.push(h('tr', {}, h('td', {}, file), h('td', { colspan: '2', class: 'error' }, String(entry['error']['msg'] ?? 'unreadable'))));
      continue;
    }
    const kv: [string, string][] = [];
    leaves(entry['data'] ?? null, '', kv);
    kv.forEach(([k, v], i) => rows.push(h('tr', {}, h('td', { class: 'muted' }, i === 0 ? file : ''), h('td', {}, k), h('td', { class: 'num' }, v))));
  }
  return h('table', { class: 'metrics' }, h('thead', {}, h('tr', {}, h('th', {}, 'file'), h('th', {}, 'metric'), h('th', { class: 'num' }, 'value'))), h('tbody', {}, ...rows));
}

/**
 * `plots show --json`'s document drawn: each filled Vega-Lite spec with
 * vega-embed (DVC's templates, as `reprod plots show` draws them), one
 * figure per plot, its id as the caption; images by their path.
 */
export async function drawPlots(container: HTMLElement, parsed: unknown): Promise<number> {
  const doc = parsed as Json;
  const data = isObject(doc) && isObject(doc['data']) ? doc['data'] : {};
  const figures: HTMLElement[] = [];
  const pending: Promise<unknown>[] = [];
  for (const [id, items] of Object.entries(data)) {
    if (!Array.isArray(items)) continue;
    for (const item of items) {
      if (!isObject(item)) continue;
      const chart = h('div', { class: 'chart' });
      figures.push(h('figure', { class: 'plot', 'data-plot': id }, chart, h('figcaption', {}, id)));
      if (item['type'] === 'vega') pending.push(vegaEmbed(chart, item['content'], { actions: false, renderer: 'svg' }));
    }
  }
  fill(container, ...figures);
  await Promise.all(pending);
  return figures.length;
}

/** The experiments table, or undefined when there are none. */
export function experimentsTable(rows: ViewExperiment[]): HTMLElement | undefined {
  if (rows.length === 0) return undefined;
  const params = [...new Set(rows.flatMap((r) => Object.keys(r.params)))];
  const metrics = [...new Set(rows.flatMap((r) => Object.keys(r.metrics)))];
  return h(
    'table',
    { class: 'metrics' },
    h('thead', {}, h('tr', {}, h('th', {}, 'experiment'), h('th', {}, 'rev'), ...params.map((p) => h('th', {}, p)), ...metrics.map((m) => h('th', { class: 'num' }, m)))),
    h(
      'tbody',
      {},
      ...rows.map((r) =>
        h('tr', {}, h('td', {}, r.name), h('td', {}, h('code', {}, r.rev.slice(0, 7))), ...params.map((p) => h('td', {}, r.params[p] ?? '')), ...metrics.map((m) => h('td', { class: 'num' }, r.metrics[m] ?? ''))),
      ),
    ),
  );
}
