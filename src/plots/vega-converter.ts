import { ReprodError } from '../core/errors.js';
import { isPyDict, type PyDict, type PyValue } from '../core/pyvalue.js';
import type { Datapoint, PlotProps } from './vega-renderer.js';

/**
 * DVC 3.67's `VegaConverter` (dvc/render/converter/vega.py), rewritten: a
 * plot's data files (any JSON/YAML shape, or CSV rows) become flat
 * datapoints, with x and y inferred when the definition leaves them out (x:
 * the row number as `step`; y: the last key of the first row), each datapoint
 * tagged with its revision, file and field.
 */

const INDEX = 'step';
const REVISION = 'rev';
const FILENAME = 'filename';
const FIELD = 'field';

/** A failure DVC reports per plot and revision (the plot is drawn from the other revisions). */
export class PlotDataError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** `_lists`: the lists in a blob, depth first (a list is its own one list). */
function* lists(blob: PyValue): Generator<PyValue[]> {
  if (Array.isArray(blob)) {
    yield blob;
    return;
  }
  if (!isPyDict(blob)) throw new PlotDataError('AttributeError', `'${typeof blob}' object has no attribute 'values'`);
  for (const v of blob.values()) {
    if (isPyDict(v)) yield* lists(v);
    else if (Array.isArray(v)) yield v;
  }
}

function firstDict(lst: PyValue[]): PyDict {
  const first = lst[0];
  if (!isPyDict(first)) throw new PlotDataError('AttributeError', "'NoneType' object has no attribute 'keys'");
  return first;
}

/** `_is_datapoints`: every item a mapping, all with the first one's keys. */
function isDatapoints(lst: PyValue[]): lst is PyDict[] {
  if (!lst.every(isPyDict)) return false;
  const keys = new Set(firstDict(lst).keys());
  const all = new Set(lst.flatMap((d) => [...(d as PyDict).keys()]));
  return keys.size === all.size && [...all].every((k) => keys.has(k));
}

/** `get_datapoints`: every list of datapoints in a file, merged row by row. */
export function getDatapoints(content: PyValue): Datapoint[] {
  const result: Datapoint[] = [];
  for (const lst of lists(content)) {
    if (!isDatapoints(lst)) continue;
    lst.forEach((d, i) => {
      const row = result[i] ?? new Map<string, PyValue>();
      for (const [k, v] of d) row.set(k, v);
      result[i] = row;
    });
  }
  return result;
}

/** `_file_field`: (file, field) pairs of axis definitions `{file: field}` or `{file: [fields]}`. */
function fileFields(...defs: (PyValue | undefined)[]): [string, string][] {
  const out: [string, string][] = [];
  for (const def of defs) {
    if (!isPyDict(def)) continue;
    for (const [file, val] of def) {
      if (typeof val === 'string') out.push([file, val]);
      else if (Array.isArray(val)) for (const f of val) if (typeof f === 'string') out.push([file, f]);
    }
  }
  return out;
}

function verifyField(file2dps: Map<string, Datapoint[]>, file: string, field: string): void {
  const dps = file2dps.get(file);
  if (dps === undefined) return;
  const first = dps[0];
  if (first === undefined) throw new PlotDataError('TypeError', "argument of type 'NoneType' is not iterable");
  if (!first.has(field)) {
    throw new PlotDataError('FieldNotFoundError', `Could not find provided field ('${field}') in data fields ('${[...first.keys()].join(', ')}').`);
  }
}

export interface Converted {
  datapoints: Datapoint[];
  /** The properties the renderer gets (x, y, labels, `anchors_y_definitions` filled in); empty when there are no datapoints. */
  props: PlotProps;
}

/**
 * `VegaConverter(plot_id, data, props).flat_datapoints(rev)`: `data` maps
 * each source file of the plot to its parsed content.
 */
export function flatDatapoints(plotId: string, data: ReadonlyMap<string, PyValue>, properties: PlotProps, rev: string): Converted {
  const { file2dps, props } = convert(plotId, data, properties);
  const update = new Map<string, PyValue>();

  const xs = fileFields(props.get('x')).map(([f, x]) => (verifyField(file2dps, f, x), [f, x] as [string, string]));
  let [xFile, xField]: [string | undefined, string] = xs[0] ?? [undefined, INDEX];
  const multipleXFields = xs.length > 1 && new Set(xs.map((x) => x[1])).size > 1;
  update.set('x', multipleXFields ? 'dvc_inferred_x_value' : xField);

  const ys = fileFields(props.get('y')).map(([f, y]) => (verifyField(file2dps, f, y), [f, y] as [string, string]));
  if (xs.length > 1 && xs.length !== ys.length) {
    throw new PlotDataError(
      'DvcException',
      `Cannot have different number of x and y data sources. Found ${xs.length} x and ${ys.length} y data sources.`,
    );
  }
  const yFiles = [...new Set(ys.map(([f]) => f))];
  const yFields = [...new Set(ys.map(([, y]) => y))];
  update.set('y', yFields.length > 1 ? 'dvc_inferred_y_value' : (yFields[0] ?? null));
  const prefixLen = yFiles.length > 1 ? commonPath(yFiles).length : 0;
  const short = (f: string) => f.slice(prefixLen).replace(/^[/\\]+|[/\\]+$/g, '');
  update.set(
    'anchors_y_definitions',
    ys.map(([f, y]) => new Map([[FILENAME, short(f)], [FIELD, y]])),
  );

  const all: Datapoint[] = [];
  ys.forEach(([yFile, yField], i) => {
    if (xs.length > 1) [xFile, xField] = xs[i] as [string, string];
    const dps = (file2dps.get(yFile) ?? []).map((d) => new Map(d));
    if (update.get('y') === 'dvc_inferred_y_value') for (const d of dps) if (d.has(yField)) d.set('dvc_inferred_y_value', d.get(yField) as PyValue);
    if (xField === INDEX && xFile === undefined) {
      dps.forEach((d, n) => d.set(INDEX, n));
    } else {
      const source = file2dps.get(xFile ?? '') ?? [];
      if (source.length !== dps.length) {
        throw new PlotDataError('DvcException', `Cannot join '${xField}' from '${xFile}' and '${yField}' from '${yFile}'. They have to have same length.`);
      }
      const target = multipleXFields ? 'dvc_inferred_x_value' : xField;
      dps.forEach((d, n) => {
        const s = source[n] as Datapoint;
        if (s.has(xField)) d.set(target, s.get(xField) as PyValue);
      });
    }
    for (const d of dps) {
      d.set(REVISION, rev);
      d.set(FILENAME, short(yFile));
      d.set(FIELD, yField);
    }
    all.push(...dps);
  });
  if (all.length === 0) return { datapoints: [], props: new Map() };
  return { datapoints: all, props: new Map([...props, ...update]) };
}

/** `convert`: x and y inferred, every file's datapoints, the labels. */
function convert(plotId: string, data: ReadonlyMap<string, PyValue>, properties: PlotProps): { file2dps: Map<string, Datapoint[]>; props: PlotProps } {
  const props: PlotProps = new Map([...properties, ...inferXY(plotId, data, properties)]);
  const file2dps = new Map<string, Datapoint[]>();
  for (const [file, content] of data) file2dps.set(file, getDatapoints(content));
  props.set('y_label', inferYLabel(props));
  props.set('x_label', inferXLabel(props));
  return { file2dps, props };
}

function inferXY(plotId: string, data: ReadonlyMap<string, PyValue>, props: PlotProps): PlotProps {
  const x = props.get('x');
  const y = props.get('y');
  const inferred: PlotProps = new Map();
  if (typeof x === 'string') {
    const xs: PyDict = new Map();
    if (isPyDict(y)) {
      for (const [file, fields] of y) xs.set(file, Array.isArray(fields) ? fields.map(() => x) : x);
    } else {
      xs.set(plotId, x);
    }
    inferred.set('x', xs);
  }
  if (y === undefined || y === null) inferred.set('y', inferYFromData(plotId, data));
  else if (!isPyDict(y)) inferred.set('y', new Map([[plotId, y]]));
  return inferred;
}

function inferYFromData(plotId: string, data: ReadonlyMap<string, PyValue>): PyValue {
  const content = data.get(plotId);
  if (content === undefined) return null;
  for (const lst of lists(content)) {
    if (lst.every(isPyDict)) {
      const keys = [...firstDict(lst).keys()];
      return new Map([[plotId, keys[keys.length - 1] ?? null]]);
    }
  }
  return null;
}

function inferYLabel(props: PlotProps): PyValue {
  const label = props.get('y_label');
  if (label !== undefined && label !== null) return label;
  const y = props.get('y');
  if (typeof y === 'string') return y;
  if (Array.isArray(y)) return 'y';
  if (!isPyDict(y)) return null;
  const fields = new Set(fileFields(y).map(([, f]) => f));
  return fields.size === 1 ? ([...fields][0] as string) : 'y';
}

function inferXLabel(props: PlotProps): PyValue {
  const label = props.get('x_label');
  if (label !== undefined && label !== null) return label;
  const x = props.get('x');
  if (!isPyDict(x)) return INDEX;
  const fields = new Set(fileFields(x).map(([, f]) => f));
  return fields.size === 1 ? ([...fields][0] as string) : 'x';
}

/** Python's `os.path.commonpath` of POSIX paths. */
function commonPath(paths: string[]): string {
  const split = paths.map((p) => p.split('/').filter((s) => s !== '' && s !== '.'));
  const first = split[0] ?? [];
  let n = 0;
  while (n < first.length && split.every((s) => s[n] === first[n])) n++;
  const abs = paths[0]?.startsWith('/') ? '/' : '';
  return abs + first.slice(0, n).join('/');
}

export function plotDataError(e: unknown): { type: string; msg: string } {
  if (e instanceof PlotDataError) return { type: e.type, msg: e.message };
  if (e instanceof ReprodError) return { type: e.code, msg: e.message };
  throw e;
}
