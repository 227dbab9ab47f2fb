import { ReprodError } from '../core/errors.js';
import type { PyValue } from '../core/pyvalue.js';
import { isFalsy, paramsFormatOf, parseJsonText, parseParamsText, type ParamsFormat } from '../pipeline/params-file.js';
import { loadYaml } from '../pipeline/yaml-load.js';
import { readText, type RevTree } from './rev-tree.js';

/** An exception as DVC's `--json` outputs encode it (`encode_exception`): its class name and message. */
export interface EncodedError {
  type: string;
  msg: string;
}

/** What reading one file gave: its data, or the error DVC would have recorded for it. */
export type Loaded = { data: PyValue } | { error: EncodedError };

export type DataFormat = ParamsFormat;

/** DVC's `LOADERS` by lower-cased suffix: `.json`, `.toml`, `.py`, and YAML for anything else (as for params files). */
export const dataFormatOf: (path: string) => DataFormat = paramsFormatOf;

const CORRUPTED: Record<DataFormat, [string, string]> = {
  json: ['JSONFileCorruptedError', 'JSON file structure is corrupted'],
  yaml: ['YAMLFileCorruptedError', 'YAML file structure is corrupted'],
  toml: ['TOMLFileCorruptedError', 'TOML file structure is corrupted'],
  py: ['PythonFileCorruptedError', 'Python params files are not supported by reprod'],
};

/** The error of a path that holds no file at this revision. */
export function missingFileError(tree: RevTree, path: string): EncodedError {
  return tree.isDir(path)
    ? { type: 'IsADirectoryError', msg: `[Errno 21] Is a directory: '${path}'` }
    : { type: 'FileNotFoundError', msg: `[Errno 2] No such file or directory: '${path}'` };
}

/**
 * Reads a metrics or params file as DVC's `load_path` does: parsed by its
 * suffix, and an empty (falsy) document read as `{}`. A file that is absent or
 * does not parse is not an exception here: DVC reports it in its output (and
 * says on stderr which revisions failed), and so does reprod.
 */
export function loadDataFile(tree: RevTree, path: string, format: DataFormat = dataFormatOf(path)): Loaded {
  let text: string | undefined;
  try {
    text = readText(tree, path);
  } catch (e) {
    if (e instanceof TypeError) return { error: { type: 'EncodingError', msg: `unable to read: '${path}', is not valid utf-8` } };
    throw e;
  }
  if (text === undefined) return { error: missingFileError(tree, path) };
  const [type, what] = CORRUPTED[format];
  try {
    const value = parseData(text, path, format);
    return { data: isFalsy(value) ? new Map() : value };
  } catch (e) {
    if (e instanceof ReprodError) return { error: { type, msg: `unable to read: '${path}', ${what}` } };
    throw e;
  }
}

function parseData(text: string, path: string, format: DataFormat): PyValue {
  switch (format) {
    case 'json':
      return parseJsonText(text, path);
    case 'toml':
      return parseParamsText(text, path);
    case 'yaml':
      return loadYaml(text, path).value;
    case 'py':
      throw new ReprodError('PARAMS_FILE', `'${path}': Python params files are not supported`);
  }
}
