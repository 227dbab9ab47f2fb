import { ReprodError } from '../core/errors.js';
import { isPyDict, type PyDict, type PyValue } from '../core/pyvalue.js';
import { dvcInternalPart, joinWsPath, normalizeWsPath, wsDirname } from './paths.js';
import { formatKeyPath, loadYaml, type KeyPath, type LoadedYaml } from './yaml-load.js';

/**
 * One output of a `.dvc` file (what `dvc add` writes):
 *
 *   outs:
 *   - md5: 55ef7578b917b32028f18767310eac72
 *     size: 13
 *     hash: md5
 *     path: raw.csv
 */
export interface DvcFileOut {
  /** As written (relative to the file's folder and `wdir`). */
  defPath: string;
  /** Workspace-relative. */
  path: string;
  /** Absent when the output was never committed (`dvc add --no-commit`). */
  md5?: string;
  size?: number;
  nfiles?: number;
  isexec?: boolean;
  /** `hash: md5` marks DVC 3 hashes; without it the entry is DVC 2's (legacy cache layout). */
  legacy: boolean;
  cache: boolean;
  push: boolean;
  remote?: string;
}

/** A `.dvc` file: a data source DVC tracks outside any pipeline. */
export interface DvcFile {
  /** Workspace-relative path of the `.dvc` file. */
  file: string;
  outs: DvcFileOut[];
  frozen: boolean;
  /** `dvc import` made it (it has `deps:`): its outputs come from elsewhere, and are never verified as data sources are. */
  isImport: boolean;
}

const TOP_KEYS = new Set(['md5', 'frozen', 'deps', 'outs', 'wdir', 'meta', 'desc']);
const OUT_KEYS = new Set([
  'path',
  'md5',
  'hash',
  'size',
  'nfiles',
  'isexec',
  'cache',
  'push',
  'remote',
  'desc',
  'type',
  'labels',
  'meta',
  'etag',
  'checksum',
  'version_id',
  'cloud',
  'files',
  'persist',
]);

function fail(file: string, loaded: LoadedYaml, path: KeyPath, message: string): ReprodError {
  const line = loaded.lineOf(path);
  const key = formatKeyPath(path);
  return new ReprodError('SCHEMA', message, {
    source: { file, ...(key ? { key } : {}), ...(line !== undefined ? { line } : {}) },
    remedy: 'Fix the .dvc file, or recreate it with `dvc add`.',
  });
}

function optional<T>(
  d: PyDict,
  key: string,
  check: (v: PyValue) => v is PyValue & T,
  what: string,
  err: (path: KeyPath, msg: string) => ReprodError,
  at: KeyPath,
): T | undefined {
  const v = d.get(key);
  if (v === undefined || v === null) return undefined;
  if (!check(v)) throw err([...at, key], `'${key}' must be ${what}`);
  return v;
}

const isString = (v: PyValue): v is string => typeof v === 'string';
const isBool = (v: PyValue): v is boolean => typeof v === 'boolean';
const isInt = (v: PyValue): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/**
 * Parses a `.dvc` file. Paths are resolved against the file's folder and its
 * `wdir`; a path outside the workspace, an unknown key or a wrong type is a
 * SCHEMA error naming the line. Import stages (`deps:`) are read for their
 * outputs only.
 */
export function parseDvcFile(text: string, file: string): DvcFile {
  const loaded = loadYaml(text, file);
  const err = (path: KeyPath, msg: string) => fail(file, loaded, path, msg);
  const root = loaded.value;
  if (root === null) return { file, outs: [], frozen: false, isImport: false };
  if (!isPyDict(root)) throw err([], 'a .dvc file must be a mapping');
  for (const k of root.keys()) if (!TOP_KEYS.has(k)) throw err([k], `unknown key '${k}' in a .dvc file`);
  const wdirRaw = optional(root, 'wdir', isString, 'a string', err, []) ?? '.';
  const base = joinWsPath(wsDirname(file), wdirRaw);
  if (base === undefined) throw err(['wdir'], `wdir '${wdirRaw}' is outside the workspace`);
  const frozen = optional(root, 'frozen', isBool, 'true or false', err, []) ?? false;
  const outsNode = root.get('outs');
  const outs: DvcFileOut[] = [];
  if (outsNode !== undefined && outsNode !== null) {
    if (!Array.isArray(outsNode)) throw err(['outs'], "'outs' must be a list");
    outsNode.forEach((o, i) => {
      const at: KeyPath = ['outs', i];
      if (!isPyDict(o)) throw err(at, 'each output must be a mapping');
      for (const k of o.keys()) if (!OUT_KEYS.has(k)) throw err([...at, k], `unknown key '${k}' in an output`);
      const defPath = optional(o, 'path', isString, 'a string', err, at);
      if (defPath === undefined) throw err(at, "an output needs a 'path'");
      const path = joinWsPath(base, defPath);
      if (path === undefined || normalizeWsPath(path) === '.') throw err([...at, 'path'], `output '${defPath}' is outside the workspace`);
      const internal = dvcInternalPart(path);
      if (internal !== undefined) throw err([...at, 'path'], `output '${defPath}' is inside ${internal}, which DVC never tracks`);
      const md5 = optional(o, 'md5', isString, 'a string', err, at);
      if (md5 !== undefined && !/^[0-9a-f]{32}(\.dir)?$/.test(md5)) throw err([...at, 'md5'], `'${md5}' is not an md5 hash`);
      const hash = optional(o, 'hash', isString, 'a string', err, at);
      if (hash !== undefined && hash !== 'md5') throw err([...at, 'hash'], `unknown hash '${hash}' (DVC 3 writes 'md5')`);
      const size = optional(o, 'size', isInt, 'a whole number', err, at);
      const nfiles = optional(o, 'nfiles', isInt, 'a whole number', err, at);
      const isexec = optional(o, 'isexec', isBool, 'true or false', err, at);
      const remote = optional(o, 'remote', isString, 'a string', err, at);
      outs.push({
        defPath,
        path,
        ...(md5 !== undefined ? { md5 } : {}),
        ...(size !== undefined ? { size } : {}),
        ...(nfiles !== undefined ? { nfiles } : {}),
        ...(isexec !== undefined ? { isexec } : {}),
        legacy: hash === undefined,
        cache: optional(o, 'cache', isBool, 'true or false', err, at) ?? true,
        push: optional(o, 'push', isBool, 'true or false', err, at) ?? true,
        ...(remote !== undefined ? { remote } : {}),
      });
    });
  }
  const deps = root.get('deps');
  return { file, outs, frozen, isImport: Array.isArray(deps) && deps.length > 0 };
}
