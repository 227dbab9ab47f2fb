import type { ErrorObject } from 'ajv';
import { ReprodError, ReprodErrors } from '../core/errors.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from '../core/input-limits.js';
import { getDotted, isPyDict, pyStrCompare, type PyDict, type PyValue } from '../core/pyvalue.js';
import { oidProblem } from '../core/oid.js';
import type { HashInfo, LockFileEntry, Lockfile, LockStage, Stage } from '../core/types.js';
import { checkSchema, problemErrors, type Described, type SchemaWording } from '../pipeline/schema-errors.js';
import { formatKeyPath, loadYaml, type KeyPath, type LoadedYaml } from '../pipeline/yaml-load.js';
import { emitYaml } from './yaml-emit.js';

/** DVC's default params file: listed first under a stage's `params:`. */
const DEFAULT_PARAMS_FILE = 'params.yaml';
const LOCK_SCHEMA_VERSION = '2.0';
/**
 * dvc.lock holds params values under `stages.<name>.params.<file>`: it may
 * nest that many levels deeper than the params file they were read from.
 */
const LOCK_NESTING = 5;

/** The bounds of a params file, which dvc.lock is read with (plus {@link LOCK_NESTING}). */
export type LockLimits = Partial<Pick<InputLimits, 'maxDepth' | 'maxAliasValues'>>;

export function emptyLockfile(): Lockfile {
  return { stages: new Map() };
}

// ------------------------------------------------------------------ reading

/**
 * Reads dvc.lock text into the model. Anything DVC 3 would reject (bad YAML,
 * a schema other than '2.0', unknown keys, wrong types) is LOCK_CORRUPT with
 * the key and line; so is a file with no document at all, as DVC rejects it
 * too. A missing file is the caller's case: use {@link emptyLockfile}.
 *
 * The model keeps what reprod writes (path, hash, md5, size, nfiles, isexec);
 * DVC's cloud-versioning extras (`files`, `version_id`, `etag`, `cloud`, ...)
 * and top-level `datasets` are accepted and not kept.
 */
export function parseLockfile(text: string, file = 'dvc.lock', limits: LockLimits = {}): Lockfile {
  const loaded = loadLockYaml(text, file, limits);
  const root = loaded.value;
  if (root === null) throw corrupt(file, loaded, [], "the file is empty; DVC 3 reads only a mapping with `schema: '2.0'`");
  if (isPyDict(root) && !root.has('schema') && root.size > 0 && [...root.values()].every((v) => isPyDict(v) && v.has('cmd'))) {
    throw corrupt(file, loaded, [], "this is a DVC 1 lock file (no `schema: '2.0'`), which DVC 3 no longer reads");
  }
  validateAgainstSchema(root, file, loaded);
  const top = expectDict(root, file, loaded, []);
  const stages = new Map<string, LockStage>();
  const stagesNode = top.get('stages');
  if (stagesNode !== undefined && stagesNode !== null) {
    for (const [name, entry] of expectDict(stagesNode, file, loaded, ['stages'])) {
      stages.set(name, toLockStage(entry, file, loaded, ['stages', name]));
    }
  }
  return { stages };
}

/**
 * Reads one stage's entry on its own, as DVC's run-cache stores it (the same
 * mapping as under `stages.<name>` in dvc.lock). Errors as {@link parseLockfile}.
 */
export function parseLockStage(text: string, file: string, limits: LockLimits = {}): LockStage {
  const loaded = loadLockYaml(text, file, limits);
  if (loaded.value === null) throw corrupt(file, loaded, [], 'the file is empty');
  // Validate as the entry of a one-stage lock file, so that the same schema applies.
  const wrapped: PyDict = new Map<string, PyValue>([
    ['schema', LOCK_SCHEMA_VERSION],
    ['stages', new Map([['_', loaded.value]])],
  ]);
  const unwrap = (path: KeyPath): KeyPath => (path[0] === 'stages' ? path.slice(2) : path);
  validateAgainstSchema(wrapped, file, loaded, unwrap);
  return toLockStage(loaded.value, file, loaded, []);
}

function loadLockYaml(text: string, file: string, limits: LockLimits): LoadedYaml {
  try {
    return loadYaml(text, file, { written: true, limits: { ...limits, maxDepth: (limits.maxDepth ?? DEFAULT_INPUT_LIMITS.maxDepth) + LOCK_NESTING } });
  } catch (err) {
    if (err instanceof ReprodError && err.code !== 'INPUT_LIMIT') {
      throw new ReprodError('LOCK_CORRUPT', err.message, {
        ...(err.source ? { source: err.source } : {}),
        cause: err,
      });
    }
    throw err;
  }
}

function corrupt(file: string, loaded: LoadedYaml, path: KeyPath, message: string): ReprodError {
  const line = loaded.lineOf(path);
  const key = formatKeyPath(path);
  return new ReprodError('LOCK_CORRUPT', message, {
    source: { file, ...(key ? { key } : {}), ...(line !== undefined ? { line } : {}) },
  });
}


/**
 * Unknown keys are named themselves, a missing key by the entry that lacks
 * it; the schema's only alternatives get one message each.
 */
const LOCK_WORDING: Partial<SchemaWording> = {
  unknownKeyAt: 'key',
  missingKeyAt: 'mapping',
  alternatives: 'summary',
  special(e: ErrorObject, at: KeyPath): Described | undefined {
    // Only `cmd` has alternatives of different types, and only checksums (md5, etag, checksum) have anyOf.
    if (e.keyword === 'oneOf') return { path: at, message: 'must be a string or a list of strings' };
    if (e.keyword === 'anyOf') return { path: at, message: 'must be a hash string' };
    return undefined;
  },
};

function validateAgainstSchema(root: PyValue, file: string, loaded: LoadedYaml, mapPath?: (p: KeyPath) => KeyPath): void {
  const checked = checkSchema('dvc.lock', root, { lineOf: (p) => loaded.lineOf(p), wording: LOCK_WORDING, ...(mapPath ? { mapPath } : {}) });
  if (checked.valid) return;
  const found = problemErrors(checked.problems, file, 'LOCK_CORRUPT');
  if (found.length === 1 && found[0]) throw found[0];
  throw new ReprodErrors(found);
}

// After schema validation these checks cannot fail; they narrow the types without casts.

function expectDict(v: PyValue | undefined, file: string, loaded: LoadedYaml, path: KeyPath): PyDict {
  if (isPyDict(v)) return v;
  throw corrupt(file, loaded, path, 'must be a mapping');
}

function expectList(v: PyValue | undefined, file: string, loaded: LoadedYaml, path: KeyPath): PyValue[] {
  if (Array.isArray(v)) return v;
  throw corrupt(file, loaded, path, 'must be a list');
}

function expectString(v: PyValue | undefined, file: string, loaded: LoadedYaml, path: KeyPath): string {
  if (typeof v === 'string') return v;
  throw corrupt(file, loaded, path, 'must be a string');
}

function optionalInt(v: PyValue | undefined, file: string, loaded: LoadedYaml, path: KeyPath): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  throw corrupt(file, loaded, path, 'must be an integer');
}

/** DVC accepts a checksum as a string or an integer; an empty one (or null) means none. */
function checksum(v: PyValue | undefined, file: string, loaded: LoadedYaml, path: KeyPath): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if ((typeof v === 'number' && Number.isSafeInteger(v)) || typeof v === 'bigint') return v.toString();
  throw corrupt(file, loaded, path, 'must be a hash string');
}

function toLockStage(v: PyValue | undefined, file: string, loaded: LoadedYaml, path: KeyPath): LockStage {
  const d = expectDict(v, file, loaded, path);
  const cmdNode = d.get('cmd');
  const cmd = Array.isArray(cmdNode)
    ? cmdNode.map((c, i) => expectString(c, file, loaded, [...path, 'cmd', i]))
    : expectString(cmdNode, file, loaded, [...path, 'cmd']);
  const entries = (key: 'deps' | 'outs'): LockFileEntry[] => {
    const node = d.get(key);
    if (node === undefined) return [];
    return expectList(node, file, loaded, [...path, key]).map((e, i) => toEntry(e, file, loaded, [...path, key, i]));
  };
  const params = new Map<string, PyDict>();
  const paramsNode = d.get('params');
  if (paramsNode !== undefined) {
    for (const [pfile, values] of expectDict(paramsNode, file, loaded, [...path, 'params'])) {
      params.set(pfile, expectDict(values, file, loaded, [...path, 'params', pfile]));
    }
  }
  return { cmd, deps: entries('deps'), params, outs: entries('outs') };
}

function toEntry(v: PyValue, file: string, loaded: LoadedYaml, path: KeyPath): LockFileEntry {
  const d = expectDict(v, file, loaded, path);
  const entry: LockFileEntry = {
    path: expectString(d.get('path'), file, loaded, [...path, 'path']),
    md5: checksum(d.get('md5'), file, loaded, [...path, 'md5']),
  };
  if (d.get('hash') === 'md5') entry.hash = 'md5';
  const size = optionalInt(d.get('size'), file, loaded, [...path, 'size']);
  if (size !== undefined) entry.size = size;
  const nfiles = optionalInt(d.get('nfiles'), file, loaded, [...path, 'nfiles']);
  if (nfiles !== undefined) entry.nfiles = nfiles;
  if (d.get('isexec') === true) entry.isexec = true;
  return entry;
}

// ------------------------------------------------------------------ writing

function byPath(a: LockFileEntry, b: LockFileEntry): number {
  return pyStrCompare(a.path, b.path);
}

/** Params files in DVC's order: `params.yaml` first, then the others by name. */
function byParamsFile(a: string, b: string): number {
  if (a === b) return 0;
  if (a === DEFAULT_PARAMS_FILE) return -1;
  if (b === DEFAULT_PARAMS_FILE) return 1;
  return pyStrCompare(a, b);
}

function entryData(e: LockFileEntry): PyDict {
  const d: PyDict = new Map<string, PyValue>([['path', e.path]]);
  if (e.hash !== undefined) d.set('hash', e.hash);
  if (e.md5 !== '') d.set('md5', e.md5);
  if (e.size !== undefined) d.set('size', e.size);
  if (e.nfiles !== undefined) d.set('nfiles', e.nfiles);
  if (e.isexec === true) d.set('isexec', true);
  return d;
}

/**
 * One stage's entry as DVC serialises it (`to_single_stage_lockfile`): keys in
 * the order cmd, deps, params, outs, each left out when empty; deps and outs
 * sorted by path (code point order); params files `params.yaml` first then by
 * name, their keys sorted at the top level only, values nested as given.
 * An entry whose md5 is '' (none known) is written without `md5`.
 */
export function lockStageData(entry: LockStage): PyDict {
  const d: PyDict = new Map<string, PyValue>([['cmd', Array.isArray(entry.cmd) ? [...entry.cmd] : entry.cmd]]);
  if (entry.deps.length > 0) d.set('deps', [...entry.deps].sort(byPath).map(entryData));
  if (entry.params.size > 0) {
    const params: PyDict = new Map();
    for (const pfile of [...entry.params.keys()].sort(byParamsFile)) {
      const values = entry.params.get(pfile) ?? new Map<string, PyValue>();
      params.set(pfile, new Map([...values].sort(([a], [b]) => pyStrCompare(a, b))));
    }
    d.set('params', params);
  }
  if (entry.outs.length > 0) d.set('outs', [...entry.outs].sort(byPath).map(entryData));
  return d;
}

/** The bytes DVC 3 writes for this lock: `schema: '2.0'` first, stages in map order. */
export function serializeLockfile(lock: Lockfile): string {
  const stages: PyDict = new Map();
  for (const [name, entry] of lock.stages) stages.set(name, lockStageData(entry));
  return emitYaml(
    new Map<string, PyValue>([
      ['schema', LOCK_SCHEMA_VERSION],
      ['stages', stages],
    ]),
  );
}

/** Replaces a stage's entry where it stands, or appends it at the end, as DVC does. */
export function upsertStage(lock: Lockfile, name: string, entry: LockStage): Lockfile {
  const stages = new Map(lock.stages);
  stages.set(name, entry);
  return { stages };
}

// ------------------------------------------------------------------ from a run

/** What a finished run observed, keyed by workspace-relative path. */
export interface RunRecord {
  /** Hash of every dep (`DepSpec.path`) and out (`OutSpec.path`). */
  hashes: ReadonlyMap<string, HashInfo>;
  /** Parsed params files by `ParamsDep.path`. */
  params: ReadonlyMap<string, PyDict>;
}

function fileEntry(defPath: string, info: HashInfo): LockFileEntry {
  const e: LockFileEntry = { path: defPath, hash: 'md5', md5: info.md5, size: info.size };
  if (info.nfiles !== undefined) e.nfiles = info.nfiles;
  if (info.isexec === true) e.isexec = true;
  return e;
}

/**
 * The dvc.lock entry of a stage that ran: DVC 3 entries (`hash: md5`) for
 * every dep and out, and the values of its params (listed keys looked up
 * dotted, or every top-level key of a whole-file params dep), in DVC's order.
 * A missing hash or params key is an error: the entry must describe the run.
 */
export function lockStageFromRun(stage: Stage, run: RunRecord): LockStage {
  const hashOf = (path: string, defPath: string, what: 'dependency' | 'output'): HashInfo => {
    const h = run.hashes.get(path);
    if (h) return h;
    throw what === 'dependency'
      ? new ReprodError('DEP_MISSING', `stage '${stage.name}': dependency '${defPath}' does not exist`, { source: stage.source })
      : new ReprodError('OUT_MISSING', `stage '${stage.name}' did not produce its output '${defPath}'`, { source: stage.source });
  };
  const deps = stage.deps.map((d) => fileEntry(d.defPath, hashOf(d.path, d.defPath, 'dependency'))).sort(byPath);
  const outs = stage.outs.map((o) => fileEntry(o.defPath, hashOf(o.path, o.defPath, 'output'))).sort(byPath);

  const params = new Map<string, PyDict>();
  const missing: ReprodError[] = [];
  for (const p of [...stage.params].sort((a, b) => byParamsFile(a.defPath, b.defPath))) {
    const content = run.params.get(p.path);
    if (!content) {
      // a missing input, as a missing dependency is: `status` reports the file deleted
      missing.push(new ReprodError('DEP_MISSING', `stage '${stage.name}': params file '${p.defPath}' does not exist`, { source: p.source ?? stage.source }));
      continue;
    }
    const values = params.get(p.defPath) ?? new Map<string, PyValue>();
    if (p.keys === null) {
      for (const [k, v] of content) values.set(k, v);
    } else {
      // each key where dvc.yaml lists it (the params file has no line for a key it lacks)
      for (const k of p.keys.filter((key) => !getDotted(content, key).found)) {
        missing.push(
          new ReprodError('PARAMS_MISSING', `stage '${stage.name}': parameter '${k}' is missing from '${p.defPath}'`, {
            source: p.keySources?.get(k) ?? { file: p.path, key: k },
          }),
        );
      }
      for (const k of p.keys) {
        const found = getDotted(content, k);
        if (found.found) values.set(k, found.value);
      }
    }
    params.set(p.defPath, new Map([...values].sort(([a], [b]) => pyStrCompare(a, b))));
  }
  if (missing.length === 1 && missing[0]) throw missing[0];
  if (missing.length > 1) throw new ReprodErrors(missing);
  return { cmd: Array.isArray(stage.cmd) ? [...stage.cmd] : stage.cmd, deps, params, outs };
}

// ------------------------------------------------------------------ md5s as object names

/**
 * The outputs of `lock` whose md5 cannot name an object (anything but 32
 * lowercase hex digits, plus `.dir` for a directory), as OBJECT_INVALID
 * errors naming the file, the key and the line. DVC's schema accepts any
 * string there; reprod reads it too (a stage with such an md5 is simply
 * stale), but never makes a cache or remote path from one: commands that
 * move or check out data refuse the file first. `text` is the file's text,
 * read again for lines only when something is wrong (with the `limits` it
 * was parsed under).
 */
export function outOidErrors(lock: Lockfile, text: string, file = 'dvc.lock', limits: LockLimits = {}): ReprodError[] {
  const bad: { stage: string; i: number; path: string; problem: string }[] = [];
  for (const [stage, entry] of lock.stages) {
    entry.outs.forEach((o, i) => {
      const problem = o.md5 === '' ? undefined : oidProblem(o.md5);
      if (problem !== undefined) bad.push({ stage, i, path: o.path, problem });
    });
  }
  if (bad.length === 0) return [];
  const loaded = loadLockYaml(text, file, limits);
  return bad.map((b) => {
    const at: KeyPath = ['stages', b.stage, 'outs', b.i, 'md5'];
    const line = loaded.lineOf(at);
    return new ReprodError(
      'OBJECT_INVALID',
      `stage '${b.stage}': output '${b.path}': ${b.problem}; no cache or remote path is made from it`,
      { source: { file, key: formatKeyPath(at), ...(line !== undefined ? { line } : {}) } },
    );
  });
}
