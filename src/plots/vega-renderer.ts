import { ReprodError } from '../core/errors.js';
import { isPyDict, pyStrCompare, type PyDict, type PyValue } from '../core/pyvalue.js';
import { escapeField, type Template } from './vega-template.js';

/**
 * dvc-render 1.0.2's `VegaRenderer.get_filled_template` (dvc_render/vega.py),
 * rewritten: the datapoints of every revision and the plot's properties go
 * into the template's anchors, optional anchors first (colour by revision,
 * zoom, size, grouping, tooltip; then, for several data series, facets and
 * dashes by file/field), then title, x, y, labels and the data.
 */

export type Datapoint = Map<string, PyValue>;
export type PlotProps = Map<string, PyValue>;

const FIELD_SEPARATOR = '::';
const REV = 'rev';
const FILENAME = 'filename';
const FIELD = 'field';
const FILENAME_FIELD = [FILENAME, FIELD] as const;
const CONCAT_FIELDS = FILENAME_FIELD.join(FIELD_SEPARATOR);

const OPTIONAL_ANCHORS = [
  'color',
  'column',
  'group_by_x',
  'group_by_y',
  'group_by',
  'pivot_field',
  'plot_height',
  'plot_width',
  'row',
  'shape',
  'stroke_dash',
  'tooltip',
  'zoom_and_pan',
];

const ANCHOR_RANGES: Record<string, PyValue[]> = {
  stroke_dash: [
    [1, 0],
    [8, 8],
    [8, 4],
    [4, 4],
    [4, 2],
    [2, 1],
    [1, 1],
  ],
  color: ['#945dd6', '#13adc7', '#f46837', '#48bb78', '#4299e1', '#ed8936', '#f56565'],
  shape: ['circle', 'square', 'triangle', 'diamond'],
};

const str = (v: PyValue | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

/** The revisions to colour: those with datapoints, in the order they came, as `get_revs` gives them. */
export function renderRevs(datapoints: readonly Datapoint[], props: PlotProps): string[] {
  const given = props.get('revs_with_datapoints');
  if (Array.isArray(given) && given.length > 0) return given.filter((r): r is string => typeof r === 'string');
  const revs: string[] = [];
  for (const d of datapoints) {
    const rev = d.get(REV);
    if (typeof rev === 'string' && rev !== '' && !revs.includes(rev)) revs.push(rev);
  }
  return revs;
}

/**
 * The filled Vega-Lite spec; `{}` when there are no datapoints. Fills the
 * properties it defaults (title, labels, data) into `props` and drops the
 * file/field keys from the datapoints it no longer needs, as DVC's does.
 */
export function fillVegaTemplate(template: Template, datapoints: Datapoint[], props: PlotProps): PyDict {
  template.reset();
  if (datapoints.length === 0) return new Map();
  for (const axis of ['x', 'y']) {
    const field = str(props.get(axis));
    if (field && !datapoints.some((d) => d.has(field))) {
      throw new ReprodError('PLOT', `Field '${field}' does not exist in provided data.`, {
        remedy: `Give the plot an ${axis} that is a column (or key) of its data, or leave ${axis} out to let it be inferred.`,
      });
    }
  }
  if (!props.has('title')) props.set('title', '');
  if (!props.has('x_label')) props.set('x_label', props.get('x') ?? null);
  if (!props.has('y_label')) props.set('y_label', props.get('y') ?? null);
  if (!props.has('data')) props.set('data', datapoints);

  const varied = fillOptionalAnchors(template, datapoints, props);
  updateDatapoints(datapoints, varied);

  for (const name of ['title', 'x', 'y', 'x_label', 'y_label', 'data']) {
    const value = props.get(name);
    if (value === undefined || value === null) continue;
    if (name === 'data' && !template.hasAnchor('data')) {
      throw new ReprodError('PLOT', `Template '${template.name}' is not using '<DVC_METRIC_DATA>' anchor`);
    }
    template.fill(name, (name === 'x' || name === 'y') && typeof value === 'string' ? escapeField(value) : value);
  }
  return template.content;
}

/** `_process_optional_anchors`: `undefined` when the template has none, else the varied keys (`[]` for one data series). */
function fillOptionalAnchors(template: Template, datapoints: Datapoint[], props: PlotProps): string[] | undefined {
  const optional = OPTIONAL_ANCHORS.filter((a) => template.hasAnchor(a));
  if (optional.length === 0) return undefined;
  const take = (name: string, value: () => PyValue): void => {
    const i = optional.indexOf(name);
    if (i < 0) return;
    optional.splice(i, 1);
    template.fill(name, value());
  };
  const x = props.get('x') ?? null;
  const y = props.get('y') ?? null;
  const groupBy = (by: string[]) => {
    take('group_by', () => by);
    take('group_by_x', () => [...by, x]);
    take('group_by_y', () => [...by, y]);
  };
  const tooltip = (extra: string[]) => take('tooltip', () => [REV, x, y, ...extra].map((f) => new Map([['field', f]])));

  take('color', () => anchorMapping(REV, 'color', renderRevs(datapoints, props)));
  take('zoom_and_pan', () => new Map<string, PyValue>([['name', 'grid'], ['select', 'interval'], ['bind', 'scales']]));
  take('plot_height', () => 300);
  take('plot_width', () => 300);

  const yDefs = props.get('anchors_y_definitions');
  const definitions = Array.isArray(yDefs) ? yDefs.filter(isPyDict) : [];
  if (definitions.length <= 1) {
    groupBy([REV]);
    take('pivot_field', () => 'datum.rev');
    tooltip([]);
    for (const a of [...optional]) template.fill(a, new Map());
    return [];
  }

  const { varied, domain } = variations(definitions);
  const concat = varied.join(FIELD_SEPARATOR);
  groupBy([REV, concat]);
  take('pivot_field', () => [REV, ...varied].map((k) => `datum.${k}`).join(` + '${FIELD_SEPARATOR}' + `));
  take('row', () => new Map<string, PyValue>([['field', concat], ['sort', []]]));
  take('column', () => new Map<string, PyValue>([['field', concat], ['sort', []]]));
  tooltip([concat]);
  for (const a of ['stroke_dash', 'shape']) take(a, () => anchorMapping(concat, a, domain));
  return varied;
}

/** `_collect_variations`: which of file and field differ between the data series, and their sorted values. */
function variations(definitions: PyDict[]): { varied: string[]; domain: string[] } {
  const values = new Map<string, Set<PyValue>>([
    [FILENAME, new Set()],
    [FIELD, new Set()],
    [CONCAT_FIELDS, new Set()],
  ]);
  for (const d of definitions) {
    for (const k of FILENAME_FIELD) values.get(k)?.add(d.get(k) ?? null);
    values.get(CONCAT_FIELDS)?.add([str(d.get(FILENAME)) ?? '', str(d.get(FIELD)) ?? ''].join(FIELD_SEPARATOR));
  }
  const varied = FILENAME_FIELD.filter((k) => (values.get(k)?.size ?? 0) !== 1);
  const first = varied[0];
  if (first === undefined) throw new ReprodError('PLOT', 'the data series of a plot are all the same file and field');
  const domainOf = varied.length === 2 ? CONCAT_FIELDS : first;
  const domain = [...(values.get(domainOf) ?? [])].map((v) => (typeof v === 'string' ? v : '')).sort(pyStrCompare);
  return { varied, domain };
}

/** `_get_optional_anchor_mapping`: a field scaled onto the anchor's range, cycled as needed. */
function anchorMapping(field: string, name: string, domain: string[]): PyDict {
  const range = ANCHOR_RANGES[name] ?? [];
  const out: PyDict = new Map<string, PyValue>([
    ['field', field],
    ['scale', new Map<string, PyValue>([['domain', domain], ['range', domain.map((_, i) => range[i % range.length] ?? null)]])],
  ]);
  if (name !== 'color') {
    out.set('legend', new Map<string, PyValue>([['symbolFillColor', 'transparent'], ['symbolStrokeColor', 'grey']]));
  }
  return out;
}

/** `_update_datapoints`: the file/field keys joined into one when both vary, dropped when they do not. */
function updateDatapoints(datapoints: Datapoint[], varied: string[] | undefined): void {
  if (varied === undefined) return;
  const both = varied.length === 2;
  const remove = both ? varied : FILENAME_FIELD.filter((k) => !varied.includes(k));
  for (const d of datapoints) {
    if (both) d.set(varied.join(FIELD_SEPARATOR), varied.map((k) => str(d.get(k)) ?? '').join(FIELD_SEPARATOR));
    for (const k of remove) d.delete(k);
  }
}
