import { ReprodError } from '../core/errors.js';
import type { InputLimits } from '../core/input-limits.js';
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
import { ExpansionBudget, type BudgetProblem } from './expansion-budget.js';
import { pyTypeName } from './params-file.js';
import { joinWsPath, wsDirname } from './paths.js';
import { ContextLoadError, TemplateContext, type ReadFile } from './template-context.js';
import { foreachMembers, matrixAxes, matrixCombos } from './template-items.js';
import { formatKeyPath, type KeyPath } from './yaml-load.js';

/**
 * Expands a (schema-valid) dvc.yaml the way DVC 3's DataResolver does
 * (dvc/parsing/__init__.py): `vars` build the context, every string of a
 * stage is interpolated (mapping keys too), `foreach` makes one stage per
 * item and `matrix` one per combination (named as template-items.ts says).
 * What it generates is bounded (see expansion-budget.ts): a group is
 * counted before it is expanded.
 */

export interface TemplateOptions {
  /** Workspace-relative path of the dvc.yaml. */
  file: string;
  readFile: ReadFile;
  /** Line of a key path in the dvc.yaml, for errors. */
  lineOf: (path: KeyPath) => number | undefined;
  parsing?: ParsingConfig;
  /** Bounds on stages, values, and (for the params and vars files read) nesting and aliases. */
  limits?: Partial<InputLimits>;
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
  private readonly budget: ExpansionBudget;
  /** A limit was passed: nothing more is resolved (each further step would only cost, and repeat the error). */
  exhausted = false;

  constructor(private readonly opts: TemplateOptions) {
    this.dvcDir = wsDirname(opts.file);
    this.config = opts.parsing ?? {};
    this.budget = new ExpansionBudget(opts.limits);
  }

  error(
    code: 'INTERPOLATION' | 'SCHEMA' | 'PATH_OUTSIDE' | 'PARAMS_FILE' | 'INPUT_LIMIT',
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

  /** A limit passed at `path`: templating stops there. */
  overBudget(problem: BudgetProblem, path: KeyPath): ReprodError {
    this.exhausted = true;
    return this.error('INPUT_LIMIT', problem.message, path, undefined, problem.remedy);
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
    let out: PyValue;
    try {
      out = interpolateString(s, t.found, t.parsed, (parts) => ctx.lookup(parts), key, this.config);
    } catch (e) {
      throw this.located(e, path);
    }
    if (typeof out === 'string') {
      const problem = this.budget.text(out.length);
      if (problem) throw this.overBudget(problem, path);
    }
    return out;
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
    const ctx = TemplateContext.empty(this.opts.limits);
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

  /** A stage written out in dvc.yaml (not generated). */
  plain(name: string, def: PyDict, ctx: TemplateContext): void {
    const problem = this.budget.stage(name, def);
    if (problem) {
      this.errors.push(this.overBudget(problem, ['stages', name]));
      return;
    }
    this.entry(name, name, def, ['stages', name], ctx);
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
    const count = isPyDict(iterable) ? iterable.size : Array.isArray(iterable) ? iterable.length : 0;
    const problem = this.budget.group('foreach', name, BigInt(count), body);
    if (problem) {
      this.errors.push(this.overBudget(problem, path));
      return;
    }
    if (!isPyDict(iterable) && !Array.isArray(iterable)) {
      this.errors.push(this.error('INTERPOLATION', `expected list/dictionary, got ${pyTypeName(iterable)}`, path));
      return;
    }
    const members = foreachMembers(iterable, src, this.config);

    for (const [key, item] of members) {
      if (this.exhausted) return;
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

    const found = matrixAxes(resolved, src);
    if ('bad' in found) {
      this.errors.push(this.error('INTERPOLATION', `expected a list, got ${pyTypeName(found.value)}`, [...path, found.bad]));
      return;
    }
    const { axes } = found;

    const template: PyDict = new Map([...def].filter(([k]) => k !== 'matrix'));
    const factors = axes.map((a) => a.values.length);
    const problem = this.budget.group('matrix', name, factors.reduce((p, n) => p * BigInt(n), 1n), template, factors);
    if (problem) {
      this.errors.push(this.overBudget(problem, path));
      return;
    }

    for (const [key, item] of matrixCombos(axes, this.config)) {
      if (this.exhausted) return;
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
      if (r.exhausted) return { resolved, errors: r.errors };
      if (!isPyDict(def)) continue; // the schema reports it
      if (def.has('matrix') && !def.has('foreach') && !def.has('do')) r.matrix(name, def, ctx);
      else if (def.has('foreach')) r.foreach(name, def, ctx);
      else r.plain(name, def, ctx);
    }
  }
  if (r.exhausted) return { resolved, errors: r.errors };

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
