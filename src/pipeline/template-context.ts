import type { ErrorCode } from '../core/errors.js';
import { isPyDict, type PyDict, type PyValue } from '../core/pyvalue.js';
import { selectPath, TemplateError } from './interpolate.js';
import { parseParamsText, type ParamsLimits } from './params-file.js';
import { joinWsPath } from './paths.js';

/** Reads a workspace-relative file; `undefined` when it does not exist. */
export type ReadFile = (wsRelPath: string) => string | undefined;

const REDEFINE_REMEDY =
  'Define each variable once: rename one of them, or import only some keys of a file with `file.yaml:key1,key2`.';

/** A TemplateError that is better reported under another code than INTERPOLATION. */
export class ContextLoadError extends TemplateError {
  constructor(
    message: string,
    readonly code: ErrorCode,
  ) {
    super(message);
    this.name = 'ContextLoadError';
  }
}

/**
 * The variables `${}` sees, built as DVC 3 builds them (dvc/parsing/context.py):
 *
 * - the dvc.yaml folder's `params.yaml`, when it exists, then each `vars`
 *   entry in order: a file (`f.yaml`, or `f.yaml:a,b` for some top-level
 *   keys, read relative to the folder of the dvc.yaml or of the stage's
 *   wdir) or an inline mapping;
 * - mappings merge key by key; any other value defined twice is an error
 *   naming both sources (nothing is ever overwritten);
 * - a file already imported whole is skipped when named again; importing a
 *   file both whole and in part, or the same key twice, is an error;
 * - a stage's own `vars` extend a copy of the global context;
 * - `item` and `key` are set for each generated stage and reserved while it
 *   is resolved.
 */
export class TemplateContext {
  private constructor(
    private readonly data: PyDict,
    /** Which source defined each key of each mapping in `data` (for merge errors). */
    private readonly sources: Map<PyDict, Map<string, string>>,
    /** Imported file → the keys imported from it, or null when imported whole. */
    private readonly imports: Map<string, string[] | null>,
    private readonly reserved: Set<string>,
    /** Bounds on the params and vars files read (nesting, aliases). */
    private readonly limits: ParamsLimits,
  ) {}

  static empty(limits: ParamsLimits = {}): TemplateContext {
    const data: PyDict = new Map();
    return new TemplateContext(data, new Map([[data, new Map()]]), new Map(), new Set(), limits);
  }

  /** A deep copy: merging into it leaves this context as it was. */
  clone(): TemplateContext {
    const sources = new Map<PyDict, Map<string, string>>();
    const copy = (d: PyDict): PyDict => {
      const out: PyDict = new Map();
      for (const [k, v] of d) out.set(k, isPyDict(v) ? copy(v) : v);
      sources.set(out, new Map(this.sources.get(d) ?? []));
      return out;
    };
    const data = copy(this.data);
    const imports = new Map<string, string[] | null>();
    for (const [k, v] of this.imports) imports.set(k, v === null ? null : [...v]);
    return new TemplateContext(data, sources, imports, new Set(this.reserved), this.limits);
  }

  has(key: string): boolean {
    return this.data.has(key);
  }

  /** The value at an expression's names; a TemplateError naming it when there is none. */
  lookup(parts: readonly string[]): PyValue {
    const r = selectPath(this.data, parts);
    if (!r.found) throw new TemplateError(`Could not find '${parts.join('.')}'`);
    return r.value;
  }

  /** Imports `defaultFile` (params.yaml) from `wdir` when it exists. */
  loadDefault(defaultFile: string, wdir: string, readFile: ReadFile): void {
    const p = joinWsPath(wdir, defaultFile);
    if (p !== undefined && readFile(p) !== undefined) this.mergeFrom(defaultFile, wdir, readFile);
  }

  /**
   * Adds one `vars` entry: a file name (relative to `wdir`) or an inline
   * mapping, named `vars[i]` (or `<stage>.vars[i]`) in errors.
   */
  loadVarsEntry(item: PyValue, index: number, wdir: string, readFile: ReadFile, stageName?: string): void {
    if (typeof item === 'string') {
      this.mergeFrom(item, wdir, readFile);
    } else if (isPyDict(item)) {
      this.mergeUpdate(item, stageName ? `${stageName}.vars[${index}]` : `vars[${index}]`);
    } else {
      throw new TemplateError('expected a file name or a mapping');
    }
  }

  /** Merges an inline mapping; `source` names it in errors (`vars[0]`, `train.vars[1]`, `params.yaml`). */
  mergeUpdate(update: PyDict, source: string, item?: string): void {
    const clash = [...this.reserved].filter((k) => update.has(k));
    if (clash.length > 0) {
      const keys = clash.length > 1 ? `${clash.slice(0, -1).join(', ')} and ${clash[clash.length - 1]}` : clash[0];
      throw new TemplateError(
        `attempted to modify reserved key${clash.length > 1 ? 's' : ''} ${keys}${item === undefined ? '' : ` in '${item}'`}`,
        '`item` and `key` are set by foreach and matrix; rename the variable.',
      );
    }
    this.merge(this.data, update, source, []);
  }

  /** Imports `file` or `file:key1,key2`, relative to `wdir`. */
  mergeFrom(item: string, wdir: string, readFile: ReadFile): void {
    const colon = item.indexOf(':');
    const rel = colon < 0 ? item : item.slice(0, colon);
    const keysText = colon < 0 ? '' : item.slice(colon + 1);
    const path = joinWsPath(wdir, rel);
    if (path === undefined) throw new ContextLoadError(`'${rel}' is outside the workspace`, 'PATH_OUTSIDE');
    const selectKeys = keysText === '' ? null : keysText.split(',').filter((k) => k !== '');
    const wanted = selectKeys !== null && selectKeys.length > 0;

    if (this.imports.has(path)) {
      // Naming a whole file again is allowed and changes nothing.
      if (!wanted && this.imports.get(path) === null) return;
      this.checkLoaded(path, item, selectKeys);
    }

    const text = readFile(path);
    if (text === undefined) throw new ContextLoadError(`'${path}' does not exist`, 'PARAMS_FILE');
    let data = parseParamsText(text, path, this.limits);
    if (wanted) {
      const picked: PyDict = new Map();
      for (const k of selectKeys) {
        if (!data.has(k)) throw new ContextLoadError(`could not find '${k}' in '${path}'`, 'PARAMS_FILE');
        picked.set(k, data.get(k) as PyValue);
      }
      data = picked;
    }
    this.mergeUpdate(data, path, item);

    const prev = this.imports.get(path);
    if (prev === undefined) this.imports.set(path, selectKeys === null ? null : [...selectKeys]);
    else if (prev !== null && wanted) prev.push(...selectKeys);
  }

  private checkLoaded(path: string, item: string, keys: string[] | null): void {
    const imported = this.imports.get(path);
    const wanted = keys !== null && keys.length > 0;
    if (!wanted && Array.isArray(imported)) {
      throw new TemplateError(`cannot load '${item}' as it's partially loaded already`, REDEFINE_REMEDY);
    }
    if (wanted && imported === null) {
      throw new TemplateError(`cannot partially load '${item}' as it's already loaded.`, REDEFINE_REMEDY);
    }
    if (Array.isArray(imported) && keys !== null && keys.some((k) => imported.includes(k))) {
      throw new TemplateError(`cannot load '${item}' as it's partially loaded already`, REDEFINE_REMEDY);
    }
  }

  private merge(into: PyDict, update: PyDict, source: string, path: readonly string[]): void {
    const intoSources = this.sourcesOf(into);
    for (const [key, val] of update) {
      const existing = into.get(key);
      const keyPath = [...path, key];
      if (isPyDict(existing) && isPyDict(val)) {
        this.merge(existing, val, source, keyPath);
      } else if (into.has(key)) {
        throw new TemplateError(
          `cannot redefine '${keyPath.join('.')}' from '${source}' as it already exists in '${intoSources.get(key) ?? '<local>'}'`,
          REDEFINE_REMEDY,
        );
      } else {
        into.set(key, this.copyIn(val, source));
        intoSources.set(key, source);
      }
    }
  }

  private copyIn(v: PyValue, source: string): PyValue {
    if (!isPyDict(v)) return v;
    const out: PyDict = new Map();
    const src = new Map<string, string>();
    for (const [k, x] of v) {
      out.set(k, this.copyIn(x, source));
      src.set(k, source);
    }
    this.sources.set(out, src);
    return out;
  }

  private sourcesOf(d: PyDict): Map<string, string> {
    let s = this.sources.get(d);
    if (s === undefined) {
      s = new Map();
      this.sources.set(d, s);
    }
    return s;
  }

  /**
   * Runs `fn` with top-level values set and reserved (`item`, `key`), then
   * puts back what was there before.
   */
  withTemporary<T>(entries: readonly (readonly [string, PyValue])[], fn: () => T): T {
    const prev = new Map<string, PyValue>();
    const prevSources = new Map<string, string | undefined>();
    const absent: string[] = [];
    const top = this.sourcesOf(this.data);
    for (const [k] of entries) {
      if (this.data.has(k)) {
        prev.set(k, this.data.get(k) as PyValue);
        prevSources.set(k, top.get(k));
      } else {
        absent.push(k);
      }
    }
    const newlyReserved = entries.map(([k]) => k).filter((k) => !this.reserved.has(k));
    for (const [k, v] of entries) {
      this.data.set(k, v);
      top.set(k, '<local>');
    }
    for (const k of newlyReserved) this.reserved.add(k);
    try {
      return fn();
    } finally {
      for (const k of newlyReserved) this.reserved.delete(k);
      for (const [k, v] of prev) {
        this.data.set(k, v);
        const s = prevSources.get(k);
        if (s === undefined) top.delete(k);
        else top.set(k, s);
      }
      for (const k of absent) {
        this.data.delete(k);
        top.delete(k);
      }
    }
  }
}
