import { ReprodError } from '../core/errors.js';
import type { PyDict, PyValue } from '../core/pyvalue.js';
import { isFalsy, parseJsonText, parseParamsText } from '../pipeline/params-file.js';
import { loadYaml } from '../pipeline/yaml-load.js';
import { missingFileError, type EncodedError } from '../metrics/data-file.js';
import { readText, type RevTree } from '../metrics/rev-tree.js';

/** What one plot data file gave at a revision: parsed data, an image's bytes, or why it could not be read. */
export type SourceData = { data: PyValue } | { image: Uint8Array } | { error: EncodedError };

/** dvc-render's ImageRenderer.EXTENSIONS. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.gif', '.png', '.svg']);

/** Python's `os.path.splitext(path)[1]` (case kept: DVC compares it as written). */
export function extensionOf(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const stripped = base.replace(/^\.+/, '');
  const dot = stripped.lastIndexOf('.');
  return dot < 0 ? '' : stripped.slice(dot);
}

export function isImagePath(path: string): boolean {
  return IMAGE_EXTENSIONS.has(extensionOf(path));
}

const DATA_EXTENSIONS = new Set(['.json', '.toml', '.py', '.yml', '.yaml', '.csv', '.tsv']);

/**
 * DVC's plots `parse` (dvc/repo/plots/__init__.py): images as bytes; CSV and
 * TSV as rows of strings keyed by the header (or by column number with
 * `header: false`); JSON, YAML and TOML parsed (an empty document is `{}`).
 */
export function readPlotSource(tree: RevTree, path: string, props: PyDict): SourceData {
  const ext = extensionOf(path);
  if (IMAGE_EXTENSIONS.has(ext)) {
    const bytes = tree.read(path);
    return bytes === undefined ? { error: missingFileError(tree, path) } : { image: bytes };
  }
  if (!DATA_EXTENSIONS.has(ext)) {
    return { error: { type: 'PlotMetricTypeError', msg: `'${path}' - file type error\nOnly JSON, YAML, CSV and TSV formats are supported.` } };
  }
  let text: string | undefined;
  try {
    text = readText(tree, path);
  } catch (e) {
    if (e instanceof TypeError) return { error: { type: 'EncodingError', msg: `unable to read: '${path}', is not valid utf8` } };
    throw e;
  }
  if (text === undefined) return { error: missingFileError(tree, path) };
  if (ext === '.csv' || ext === '.tsv') return { data: loadSv(text, ext === '.tsv' ? '\t' : ',', props.get('header') !== false) };
  try {
    return { data: parseStructured(text, path, ext) };
  } catch (e) {
    if (!(e instanceof ReprodError)) throw e;
    const kind = ext === '.json' ? 'JSON' : ext === '.toml' ? 'TOML' : ext === '.py' ? 'Python' : 'YAML';
    return { error: { type: `${kind === 'Python' ? 'PythonFile' : `${kind}File`}CorruptedError`, msg: `unable to read: '${path}', ${kind} file structure is corrupted` } };
  }
}

function parseStructured(text: string, path: string, ext: string): PyValue {
  if (ext === '.json') {
    const v = parseJsonText(text, path);
    return isFalsy(v) ? new Map() : v;
  }
  if (ext === '.toml') return parseParamsText(text, path);
  if (ext === '.py') throw new ReprodError('PARAMS_FILE', `'${path}': Python files are not supported`);
  const v = loadYaml(text, path).value;
  return isFalsy(v) ? new Map() : v;
}

/**
 * DVC's `_load_sv`: `csv.DictReader` rows. Short rows get `None` for the
 * missing columns; extra cells go, as a list, under the key `None` (printed
 * `null`); blank lines are skipped. Without a header the columns are named
 * `0`, `1`, ... after the first row as read with commas (DVC does so for TSV too).
 */
export function loadSv(text: string, delimiter: string, header: boolean): PyDict[] {
  const rows = csvRows(text, delimiter);
  let fields: string[];
  let body: string[][];
  if (header) {
    fields = rows[0] ?? [];
    body = rows.slice(1);
  } else {
    fields = (csvRows(text, ',')[0] ?? []).map((_, i) => String(i));
    body = rows;
  }
  return body
    .filter((r) => r.length > 0)
    .map((r) => {
      const d: PyDict = new Map();
      fields.forEach((f, i) => d.set(f, r[i] ?? null));
      if (r.length > fields.length) d.set('null', r.slice(fields.length));
      return d;
    });
}

/** Python's `csv.reader` with the excel dialect (quote `"`, doubled quotes, not strict) and the given delimiter. */
export function csvRows(text: string, delimiter: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  type State = 'startRecord' | 'startField' | 'inField' | 'inQuoted' | 'quoteInQuoted';
  let state = 'startRecord' as State;
  const endField = () => {
    row.push(field);
    field = '';
  };
  const endRecord = () => {
    rows.push(row);
    row = [];
    state = 'startRecord';
  };
  for (const c of text) {
    const eol = c === '\n' || c === '\r';
    if (state === 'startRecord') {
      if (eol) {
        endRecord();
        continue;
      }
      state = 'startField';
    }
    switch (state) {
      case 'startField':
        if (c === '"') state = 'inQuoted';
        else if (c === delimiter) endField();
        else if (eol) {
          endField();
          endRecord();
        } else {
          field += c;
          state = 'inField';
        }
        break;
      case 'inField':
        if (eol) {
          endField();
          endRecord();
        } else if (c === delimiter) {
          endField();
          state = 'startField';
        } else field += c;
        break;
      case 'inQuoted':
        if (c === '"') state = 'quoteInQuoted';
        else field += c;
        break;
      case 'quoteInQuoted':
        if (c === '"') {
          field += c;
          state = 'inQuoted';
        } else if (c === delimiter) {
          endField();
          state = 'startField';
        } else if (eol) {
          endField();
          endRecord();
        } else {
          field += c;
          state = 'inField';
        }
        break;
    }
  }
  if (state !== 'startRecord') {
    endField();
    rows.push(row);
  }
  return rows;
}
