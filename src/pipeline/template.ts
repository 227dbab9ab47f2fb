import { ReprodError } from '../core/errors.js';
import { isPyDict, type PyDict, type PyValue } from '../core/pyvalue.js';
import {
  findInterpolations,
  interpolateString,
  isInterpolated,
  parseExpression,
  TemplateError,
  toStr,
  type Interpolation,
  type ParsingConfig,
} from './interpolate.js';
import { pyTypeName } from './params-file.js';
import { joinWsPath, wsDirname } from './paths.js';
import { ContextLoadError, TemplateContext, type ReadFile } from './template-context.js';
import { formatKeyPath, type KeyPath } from './yaml-load.js';

/**
 * Expands a (schema-valid) dvc.yaml the way DVC 3's DataResolver does
 * (dvc/parsing/__init__.py): `vars` build the context, every string of a
 * stage is interpolated (mapping keys too), `foreach` makes one stage per
 * item and `matrix` one per combination.
 *
 * Generated names:
 *
 *   foreach over a mapping            name@<key>
 *   foreach over a list of scalars    name@<value>        (`true`, `0.1`, `None`)
 *   foreach over a list with any
 *     list or mapping in it           name@0, name@1, ...
 *   matrix {a: [x, y], b: [{..}]}     name@x-b0, name@y-b0 (a list or mapping
 *                                     value is named <matrix key><index>)
 *
 * A repeated name keeps its first position and its last value. A boolean
 * that came from `vars` through `${}` names a stage as Python prints it
 * (`True`), one written in dvc.yaml as DVC prints it (`true`).
 */

export interface TemplateOptions {
  /** Workspace-relative path of the dvc.yaml. */
  file: string;
  readFile: ReadFile;
  /** Line of a key path in the dvc.yaml, for errors. */
  lineOf: (path: KeyPath) => number | undefined;
  parsing?: ParsingConfig;
}

export interface ResolvedStage {
  name: string;
  group: string;
  /** Where the stage's keys sit in dvc.yaml: `['stages', g]`, or `['stages', g, 'do']` for foreach. */
  defPath: KeyPath;
  /** The stage's keys after interpolation; `vars`, `foreach`, `do` and `matrix` removed. */
  data: PyDict;
  /** Workspace-relative working directory of the stage. */
  wdir: string;
}

export interface ResolvedDvcYaml {
  stages: ResolvedStage[];
  params: PyValue[];
  metrics: PyValue[];
  /** Top-level plots as a list; the mapping form becomes one single-key mapping per plot. */
  plots: PyValue[];
}

interface ParsedTemplate {
  found: Interpolation[];
  parsed: string[][];
}

const NO_VARS: readonly PyValue[] = [];

class Resolver {
  readonly errors: ReprodError[] = [];
  readonly stages: ResolvedStage[] = [];
  private readonly templates = new Map<string, ParsedTemplate>();
  private readonly dvcDir: string;
  private readonly config: ParsingConfig;
  /** The generated stage being resolved, named in messages. */
  private generated: string | undefined;

  constructor(private readonly opts: TemplateOptions) {
    this.dvcDir = wsDirname(opts.file);
    this.config = opts.parsing ?? {};
  }

  error(
    code: 'INTERPOLATION' | 'SCHEMA' | 'PATH_OUTSIDE' | 'PARAMS_FILE',
    message: string,
    path: KeyPath,
    cause?: unknown,
    remedy?: string,
  ): ReprodError {
    const line = this.opts.lineOf(path);
    const where = this.generated === undefined ? '' : ` (stage '${this.generated}')`;
    return new ReprodError(code, `${message}${where}`, {
      source: { file: this.opts.file, key: formatKeyPath(path), ...(line !== undefined ? { line } : {}) },
      ...(cause !== undefined ? { cause } : {}),
      ...(remedy !== undefined ? { remedy } : {}),
    });
  }

  /** Turns a failure at `path` into a located ReprodError (ReprodErrors from files pass through). */
  located(e: unknown, path: KeyPath): ReprodError {
    if (e instanceof ReprodError) return e;
    if (e instanceof ContextLoadError) return this.error(e.code === 'PATH_OUTSIDE' ? 'PATH_OUTSIDE' : 'PARAMS_FILE', e.message, path, e);
    if (e instanceof TemplateError) return this.error('INTERPOLATION', e.message, path, e, e.remedy);
    throw e;
  }

  private template(s: string, path: KeyPath): ParsedTemplate {
    let t = this.templates.get(s);
    if (t === undefined) {
      const found = findInterpolations(s);
      try {
        t = { found, parsed: found.map((m) => parseExpression(m.inner)) };
      } catch (e) {
        throw this.located(e, path);
      }
      this.templates.set(s, t);
    }
    return t;
  }

  resolveStr(s: string, ctx: TemplateContext, key: string | null, path: KeyPath): PyValue {
    const t = this.template(s, path);
    if (t.found.length === 0) return s.includes('\\${') ? s.split('\\${').join('${') : s;
    try {
      return interpolateString(s, t.found, t.parsed, (parts) => ctx.lookup(parts), key, this.config);
    } catch (e) {
      throw this.located(e, path);
    }
  }

  /** Interpolates every string in `src`, mapping keys included; `key` is the stage key it sits under. */
  resolve(src: PyValue, ctx: TemplateContext, key: string | null, path: KeyPath): PyValue {
    if (typeof src === 'string') return this.resolveStr(src, ctx, key, path);
    if (Array.isArray(src)) return src.map((v, i) => this.resolve(v, ctx, key, [...path, i]));
    if (isPyDict(src)) {
      const out: PyDict = new Map();
      for (const [k, v] of src) {
        const kp = [...path, k];
        const rk = isInterpolated(k) || k.includes('\\${') ? this.resolveStr(k, ctx, key, kp) : k;
        out.set(typeof rk === 'string' ? rk : toStr(rk, this.config), this.resolve(v, ctx, key, kp));
      }
      return out;
    }
    return src;
  }

  /** `vars` are read as written: DVC refuses `${}` inside them. */
  checkNoInterpolation(v: PyValue, path: KeyPath): void {
    if (typeof v === 'string') {
      if (isInterpolated(v)) throw this.error('INTERPOLATION', 'interpolating is not allowed in vars', path);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => this.checkNoInterpolation(x, [...path, i]));
    } else if (isPyDict(v)) {
      for (const [k, x] of v) {
        if (isInterpolated(k)) throw this.error('INTERPOLATION', 'interpolating is not allowed in vars', [...path, k]);
        this.checkNoInterpolation(x, [...path, k]);
      }
    }
  }

  loadGlobalVars(doc: PyDict): TemplateContext | undefined {
    const ctx = TemplateContext.empty();
    const vars = doc.get('vars');
    const list = Array.isArray(vars) ? vars : NO_VARS;
    let at: KeyPath = ['vars'];
    try {
      list.forEach((v, i) => this.checkNoInterpolation(v, ['vars', i]));
      ctx.loadDefault('params.yaml', this.dvcDir, this.opts.readFile);
      list.forEach((v, i) => {
        at = ['vars', i];
        ctx.loadVarsEntry(v, i, this.dvcDir, this.opts.readFile);
      });
    } catch (e) {
      this.errors.push(this.located(e, at));
      return undefined;
    }
    return ctx;
  }

  /** One stage from its (template) definition, as DVC's EntryDefinition does. */
  entry(name: string, group: string, def: PyDict, defPath: KeyPath, ctx: TemplateContext): void {
    let wdir = this.dvcDir;
    let stageCtx = ctx;
    try {
      const rawWdir = def.get('wdir');
      if (typeof rawWdir === 'string' && rawWdir !== '') {
        const w = this.resolveStr(rawWdir, ctx, null, [...defPath, 'wdir']);
        const joined = joinWsPath(this.dvcDir, toStr(w, this.config));
        if (joined === undefined) {
          throw this.error('PATH_OUTSIDE', `wdir '${toStr(w, this.config)}' is outside the workspace`, [...defPath, 'wdir']);
        }
        wdir = joined;
      }
      const vars = def.get('vars');
      if (Array.isArray(vars) && vars.length > 0) {
        this.checkNoInterpolation(vars, [...defPath, 'vars']);
        const local = ctx.clone();
        vars.forEach((v, i) => {
          try {
            local.loadVarsEntry(v, i, wdir, this.opts.readFile, name);
          } catch (e) {
            throw this.located(e, [...defPath, 'vars', i]);
          }
        });
        stageCtx = local;
      }
    } catch (e) {
      this.errors.push(this.located(e, defPath));
      return;
    }

    const data: PyDict = new Map();
    let failed = false;
    for (const [k, v] of def) {
      if (k === 'vars') continue;
      try {
        data.set(k, this.resolve(v, stageCtx, k, [...defPath, k]));
      } catch (e) {
        this.errors.push(this.located(e, [...defPath, k]));
        failed = true;
      }
    }
    if (!failed) this.stages.push({ name, group, defPath, data, wdir });
  }

  foreach(name: string, def: PyDict, ctx: TemplateContext): void {
    const path: KeyPath = ['stages', name, 'foreach'];
    const src = def.get('foreach') ?? null;
    const body = def.get('do');
    if (!isPyDict(body)) return; // the schema requires `do`
    let iterable: PyValue;
    try {
      iterable = this.resolve(src, ctx, null, path);
    } catch (e) {
      this.errors.push(this.located(e, path));
      return;
    }
    const isMap = isPyDict(iterable);
    const members = new Map<string, PyValue>();
    if (isPyDict(iterable)) {
      for (const [k, v] of iterable) members.set(k, v);
    } else if (Array.isArray(iterable)) {
      const list = iterable;
      if (list.some((v) => Array.isArray(v) || isPyDict(v))) {
        list.forEach((v, i) => members.set(String(i), v));
      } else {
        const fromVars = elementsFromVars(src, list.length);
        list.forEach((v, i) => members.set(nameFragment(v, fromVars[i] ?? false, this.config), v));
      }
    } else {
      this.errors.push(this.error('INTERPOLATION', `expected list/dictionary, got ${pyTypeName(iterable)}`, path));
      return;
    }

    for (const [key, item] of members) {
      const generated = `${name}@${key}`;
      const temp: [string, PyValue][] = isMap ? [['item', item], ['key', key]] : [['item', item]];
      this.generated = generated;
      try {
        ctx.withTemporary(temp, () => this.entry(generated, name, body, ['stages', name, 'do'], ctx));
      } finally {
        this.generated = undefined;
      }
    }
  }

  matrix(name: string, def: PyDict, ctx: TemplateContext): void {
    const path: KeyPath = ['stages', name, 'matrix'];
    const src = def.get('matrix');
    if (!isPyDict(src)) return; // the schema requires a mapping
    let resolved: PyValue;
    try {
      resolved = this.resolve(src, ctx, null, path);
    } catch (e) {
      this.errors.push(this.located(e, path));
      return;
    }
    if (!isPyDict(resolved)) return;

    const axes: { key: string; values: PyValue[]; fromVars: boolean[] }[] = [];
    for (const [k, v] of resolved) {
      const raw = src.get(k) ?? null;
      if (Array.isArray(v)) {
        axes.push({ key: k, values: v, fromVars: elementsFromVars(raw, v.length) });
      } else if (isPyDict(v)) {
        // iterating a mapping yields its keys
        axes.push({ key: k, values: [...v.keys()], fromVars: [...v.keys()].map(() => true) });
      } else if (typeof v === 'string' && !(typeof raw === 'string' && isWhole(raw))) {
        // a plain string iterates over its characters, as Python does
        axes.push({ key: k, values: [...v], fromVars: [...v].map(() => false) });
      } else {
        this.errors.push(this.error('INTERPOLATION', `expected a list, got ${pyTypeName(v)}`, [...path, k]));
        return;
      }
    }

    const combos = new Map<string, PyDict>();
    const walk = (depth: number, fragments: string[], item: PyDict): void => {
      const axis = axes[depth];
      if (axis === undefined) {
        combos.set(fragments.join('-'), new Map(item));
        return;
      }
      axis.values.forEach((v, i) => {
        const frag = Array.isArray(v) || isPyDict(v) ? `${axis.key}${i}` : nameFragment(v, axis.fromVars[i] ?? false, this.config);
        item.set(axis.key, v);
        walk(depth + 1, [...fragments, frag], item);
      });
      item.delete(axis.key);
    };
    walk(0, [], new Map());

    const template: PyDict = new Map([...def].filter(([k]) => k !== 'matrix'));
    for (const [key, item] of combos) {
      const generated = `${name}@${key}`;
      this.generated = generated;
      try {
        ctx.withTemporary(
          [
            ['key', key],
            ['item', item],
          ],
          () => this.entry(generated, name, template, ['stages', name], ctx),
        );
      } finally {
        this.generated = undefined;
      }
    }
  }

  topLevel(items: readonly PyValue[], ctx: TemplateContext, path: (i: number) => KeyPath): PyValue[] {
    const out: PyValue[] = [];
    items.forEach((item, i) => {
      try {
        out.push(this.resolve(item, ctx, null, path(i)));
      } catch (e) {
        this.errors.push(this.located(e, path(i)));
      }
    });
    return out;
  }
}

function isWhole(s: string): boolean {
  const found = findInterpolations(s);
  const only = found[0];
  return found.length === 1 && only !== undefined && only.start === 0 && only.end === s.length;
}

/**
 * Which elements of a resolved foreach/matrix list came out of the context
 * (DVC keeps those as context nodes, and names them with Python's `str()`).
 */
function elementsFromVars(src: PyValue, n: number): boolean[] {
  if (typeof src === 'string') return new Array<boolean>(n).fill(true);
  if (Array.isArray(src)) return src.map((v) => typeof v === 'string' && isWhole(v));
  return new Array<boolean>(n).fill(false);
}

function nameFragment(v: PyValue, fromVars: boolean, config: ParsingConfig): string {
  if (typeof v === 'boolean' && fromVars) return v ? 'True' : 'False';
  return toStr(v, config);
}

/**
 * Resolves a schema-valid dvc.yaml document. Errors are collected (one stage
 * failing does not hide the others' errors); a failing `vars` stops everything,
 * as nothing can be resolved without it.
 */
export function resolveDvcYaml(doc: PyDict, opts: TemplateOptions): { resolved: ResolvedDvcYaml; errors: ReprodError[] } {
  const r = new Resolver(opts);
  const resolved: ResolvedDvcYaml = { stages: r.stages, params: [], metrics: [], plots: [] };
  const ctx = r.loadGlobalVars(doc);
  if (ctx === undefined) return { resolved, errors: r.errors };

  const stages = doc.get('stages');
  if (isPyDict(stages)) {
    for (const [name, def] of stages) {
      if (!isPyDict(def)) continue; // the schema reports it
      if (def.has('matrix') && !def.has('foreach') && !def.has('do')) r.matrix(name, def, ctx);
      else if (def.has('foreach')) r.foreach(name, def, ctx);
      else r.entry(name, name, def, ['stages', name], ctx);
    }
  }

  const list = (k: string): PyValue[] => {
    const v = doc.get(k);
    return Array.isArray(v) ? v : [];
  };
  resolved.params = r.topLevel(list('params'), ctx, (i) => ['params', i]);
  resolved.metrics = r.topLevel(list('metrics'), ctx, (i) => ['metrics', i]);
  const plots = doc.get('plots');
  if (isPyDict(plots)) {
    const ids = [...plots.keys()];
    const asList: PyValue[] = ids.map((id) => new Map([[id, plots.get(id) ?? null]]));
    resolved.plots = r.topLevel(asList, ctx, (i) => ['plots', ids[i] ?? i]);
  } else {
    resolved.plots = r.topLevel(list('plots'), ctx, (i) => ['plots', i]);
  }
  return { resolved, errors: r.errors };
}
