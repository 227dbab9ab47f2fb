import { ReprodError, ReprodErrors } from '../core/errors.js';
import type { InputLimits } from '../core/input-limits.js';
import { isPyDict, type PyDict, type PyValue } from '../core/pyvalue.js';
import type { DepSpec, OutKind, OutSpec, ParamsDep, Pipeline, SourceRef, Stage } from '../core/types.js';
import type { ParsingConfig } from './interpolate.js';
import { isFalsy, pyTypeName } from './params-file.js';
import { isUrlLike, joinWsPath, wsDirname } from './paths.js';
import { validateDvcYamlSchema, yamlKeyLines, type KeyLineOf } from './schema.js';
import { resolveDvcYaml, type ResolvedStage } from './template.js';
import { formatKeyPath, loadYaml, type KeyPath } from './yaml-load.js';

export interface ParseDvcYamlOptions {
  /** Workspace-relative path of the file, e.g. `dvc.yaml` or `sub/dvc.yaml`. */
  file: string;
  /** Reads a workspace-relative file (params.yaml, vars files); `undefined` when absent. */
  readFile: (wsRelPath: string) => string | undefined;
  /** `[parsing]` of `.dvc/config`; DVC's defaults when absent. */
  parsing?: ParsingConfig;
  /**
   * Bounds on what the file may cost (nesting, aliases, stages, values), for
   * dvc.yaml and the params and vars files templating reads; the defaults
   * where absent (see core/input-limits.ts).
   */
  limits?: Partial<InputLimits>;
}

/** A plot output's display properties, in DVC's order (dvc/schema.py PLOT_PROPS). */
const PLOT_PROPS = ['template', 'x', 'y', 'x_label', 'y_label', 'title', 'header'] as const;

/** The params file a bare key belongs to, relative to the stage's wdir. */
export const DEFAULT_PARAMS_FILE = 'params.yaml';

/**
 * dvc.yaml text → {@link Pipeline}: YAML syntax, then the schema (on the file
 * as written), then templating (vars, `${}`, foreach, matrix), then the
 * stage model with workspace-relative paths. Every error found is thrown at
 * once (a ReprodErrors when there are several).
 *
 * Stage fields follow DVC's loader (dvc/stage/loader.py):
 * - `params`: bare keys go to `params.yaml`; `{file: [keys]}` adds keys;
 *   `{file: null}` (or `[]`) tracks the whole file, and then keys listed for
 *   it elsewhere are dropped; files keep their first position;
 * - `outs`/`metrics`/`plots`: one entry per path within each list, flags of
 *   repeated entries merged; `cache`, `persist`, `push` default to true,
 *   false, true;
 * - paths stay as written in `defPath` and are joined to the wdir in `path`.
 */
export function parseDvcYaml(text: string, opts: ParseDvcYamlOptions): Pipeline {
  const { file } = opts;
  const loaded = loadYaml(text, file, opts.limits ? { limits: opts.limits } : {});
  const keyLine = yamlKeyLines(text);
  const schemaErrors = validateDvcYamlSchema(loaded, file, keyLine);
  if (schemaErrors.length > 0) throw combine(schemaErrors);

  const doc: PyDict = isPyDict(loaded.value) ? loaded.value : new Map();
  const reads = new Map<string, string | undefined>();
  const readFile = (p: string): string | undefined => {
    if (!reads.has(p)) reads.set(p, opts.readFile(p));
    return reads.get(p);
  };
  const lineOf = (p: KeyPath): number | undefined => keyLine(p) ?? loaded.lineOf(p);
  const { resolved, errors } = resolveDvcYaml(doc, {
    file,
    readFile,
    lineOf,
    ...(opts.parsing ? { parsing: opts.parsing } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });

  const builder = new StageBuilder(file, lineOf, keyLine, errors);
  const stages = resolved.stages.map((s) => builder.stage(s)).filter((s): s is Stage => s !== undefined);

  const strings = (items: PyValue[], section: string): string[] =>
    items.flatMap((v, i) => {
      if (typeof v === 'string') return [v];
      errors.push(builder.error('SCHEMA', `expected a string after interpolation, got '${pyTypeName(v)}'`, [section, i]));
      return [];
    });
  const pipeline: Pipeline = {
    file,
    stages,
    params: strings(resolved.params, 'params'),
    metrics: strings(resolved.metrics, 'metrics'),
    plots: resolved.plots,
  };
  if (errors.length > 0) throw combine(errors);
  return pipeline;
}

function combine(errors: ReprodError[]): ReprodError {
  return errors.length === 1 && errors[0] !== undefined ? errors[0] : new ReprodErrors(errors);
}

class StageBuilder {
  private readonly dvcDir: string;

  constructor(
    private readonly file: string,
    private readonly lineOf: (p: KeyPath) => number | undefined,
    private readonly keyLine: KeyLineOf,
    private readonly errors: ReprodError[],
  ) {
    this.dvcDir = wsDirname(file);
  }

  error(code: 'SCHEMA' | 'PATH_OUTSIDE', message: string, path: KeyPath, stage?: string): ReprodError {
    const line = this.lineOf(path);
    return new ReprodError(code, stage === undefined ? message : `${message} (stage '${stage}')`, {
      source: { file: this.file, key: formatKeyPath(path), ...(line !== undefined ? { line } : {}) },
    });
  }

  stage(r: ResolvedStage): Stage | undefined {
    const before = this.errors.length;
    const generated = r.name !== r.group ? r.name : undefined;
    const fail = (code: 'SCHEMA' | 'PATH_OUTSIDE', msg: string, ...sub: (string | number)[]): void => {
      this.errors.push(this.error(code, msg, [...r.defPath, ...sub], generated));
    };
    const d = r.data;

    const cmdValue = d.get('cmd');
    let cmd: string | string[] = '';
    if (typeof cmdValue === 'string') cmd = cmdValue;
    else if (Array.isArray(cmdValue) && cmdValue.every((c): c is string => typeof c === 'string')) cmd = cmdValue;
    else fail('SCHEMA', 'cmd must be a string or a list of strings after interpolation', 'cmd');

    const wsPath = (written: PyValue, ...sub: (string | number)[]): string | undefined => {
      if (typeof written !== 'string') {
        fail('SCHEMA', `expected a path (string) after interpolation, got '${pyTypeName(written)}'`, ...sub);
        return undefined;
      }
      if (written === '') {
        fail('SCHEMA', 'empty path', ...sub);
        return undefined;
      }
      if (isUrlLike(written)) {
        fail('PATH_OUTSIDE', `'${written}' is not a workspace path: remote dependencies and outputs are not supported`, ...sub);
        return undefined;
      }
      const p = joinWsPath(r.wdir, written);
      if (p === undefined) fail('PATH_OUTSIDE', `'${written}' is outside the workspace`, ...sub);
      return p;
    };

    const deps: DepSpec[] = [];
    const depsValue = d.get('deps');
    if (Array.isArray(depsValue)) {
      depsValue.forEach((v, i) => {
        const path = wsPath(v, 'deps', i);
        if (path !== undefined && typeof v === 'string') deps.push({ defPath: v, path });
      });
    }

    const params = this.params(d.get('params'), r.defPath, fail, wsPath);

    const outs: OutSpec[] = [];
    const kinds: [string, OutKind][] = [
      ['outs', 'out'],
      ['metrics', 'metric'],
      ['plots', 'plot'],
    ];
    for (const [section, kind] of kinds) {
      const list = d.get(section);
      if (Array.isArray(list)) outs.push(...this.outs(list, section, kind, fail, wsPath));
    }

    const bool = (k: string): boolean => {
      const v = d.get(k);
      if (v === undefined || v === null) return false;
      if (typeof v === 'boolean') return v;
      fail('SCHEMA', `${k} must be true or false`, k);
      return false;
    };
    const frozen = bool('frozen');
    const alwaysChanged = bool('always_changed');
    const descValue = d.get('desc');
    if (descValue !== undefined && descValue !== null && typeof descValue !== 'string') fail('SCHEMA', 'desc must be a string', 'desc');

    if (this.errors.length > before) return undefined;
    const line = this.keyLine(['stages', r.group]) ?? this.lineOf(['stages', r.group]);
    const stage: Stage = {
      name: r.name,
      group: r.group,
      cmd,
      wdir: r.wdir,
      deps,
      params,
      outs,
      frozen,
      alwaysChanged,
      source: { file: this.file, key: `stages.${r.name}`, ...(line !== undefined ? { line } : {}) },
    };
    if (typeof descValue === 'string') stage.desc = descValue;
    if (d.has('meta')) stage.meta = d.get('meta') ?? null;
    return stage;
  }

  /** Where a key path under the stage is, for errors that name it later (a missing params key). */
  private sourceOf(path: KeyPath): SourceRef {
    const line = this.lineOf(path);
    return { file: this.file, key: formatKeyPath(path), ...(line !== undefined ? { line } : {}) };
  }

  /** DVC's `_merge_params`; each file and key keeps where it is listed. */
  private params(
    value: PyValue | undefined,
    base: KeyPath,
    fail: (code: 'SCHEMA' | 'PATH_OUTSIDE', msg: string, ...sub: (string | number)[]) => void,
    wsPath: (written: PyValue, ...sub: (string | number)[]) => string | undefined,
  ): ParamsDep[] {
    if (!Array.isArray(value)) return [];
    const whole = new Set<string>();
    for (const entry of value) {
      if (isPyDict(entry)) for (const [f, keys] of entry) if (isFalsy(keys)) whole.add(f);
    }
    const files = new Map<string, { keys: string[]; at: (string | number)[]; keySources: Map<string, SourceRef> }>();
    const slot = (f: string, at: (string | number)[]) => {
      let s = files.get(f);
      if (s === undefined) {
        s = { keys: [], at, keySources: new Map() };
        files.set(f, s);
      }
      return s;
    };
    const addKey = (s: ReturnType<typeof slot>, key: string, at: KeyPath): void => {
      s.keys.push(key);
      if (!s.keySources.has(key)) s.keySources.set(key, this.sourceOf([...base, ...at]));
    };
    value.forEach((entry, i) => {
      if (typeof entry === 'string') {
        if (!whole.has(DEFAULT_PARAMS_FILE)) addKey(slot(DEFAULT_PARAMS_FILE, ['params', i]), entry, ['params', i]);
        return;
      }
      if (!isPyDict(entry)) {
        fail('SCHEMA', `params must be keys or {file: [keys]}, got '${pyTypeName(entry)}'`, 'params', i);
        return;
      }
      for (const [f, keys] of entry) {
        const s = slot(f, ['params', i, f]);
        if (whole.has(f)) continue;
        if (!Array.isArray(keys)) {
          fail('SCHEMA', `expected a list of params for '${f}', got '${pyTypeName(keys)}'`, 'params', i, f);
          continue;
        }
        keys.forEach((k, j) => {
          if (typeof k === 'string') addKey(s, k, ['params', i, f, j]);
          else fail('SCHEMA', `a param key must be a string, got '${pyTypeName(k)}'`, 'params', i, f, j);
        });
      }
    });
    const out: ParamsDep[] = [];
    for (const [f, { keys, at, keySources }] of files) {
      const path = wsPath(f, ...at);
      if (path === undefined) continue;
      const isWhole = whole.has(f);
      out.push({
        defPath: f,
        path,
        keys: isWhole ? null : [...new Set(keys)],
        source: this.sourceOf([...base, ...at]),
        ...(isWhole ? {} : { keySources }),
      });
    }
    return out;
  }

  /** DVC's `_merge_data` + `load_from_pipeline` for one of outs/metrics/plots. */
  private outs(
    list: PyValue[],
    section: string,
    kind: OutKind,
    fail: (code: 'SCHEMA' | 'PATH_OUTSIDE', msg: string, ...sub: (string | number)[]) => void,
    wsPath: (written: PyValue, ...sub: (string | number)[]) => string | undefined,
  ): OutSpec[] {
    const merged = new Map<string, { flags: PyDict; at: (string | number)[] }>();
    const slot = (p: string, at: (string | number)[]): PyDict => {
      let s = merged.get(p);
      if (s === undefined) {
        s = { flags: new Map(), at };
        merged.set(p, s);
      }
      return s.flags;
    };
    list.forEach((entry, i) => {
      if (typeof entry === 'string') {
        slot(entry, [section, i]);
      } else if (isPyDict(entry)) {
        for (const [p, flags] of entry) {
          if (!isPyDict(flags)) {
            fail('SCHEMA', `expected a mapping of flags for '${p}', got '${pyTypeName(flags)}'`, section, i, p);
            continue;
          }
          const into = slot(p, [section, i, p]);
          for (const [k, v] of flags) into.set(k, v);
        }
      } else {
        wsPath(entry, section, i);
      }
    });

    const out: OutSpec[] = [];
    for (const [defPath, { flags, at }] of merged) {
      const path = wsPath(defPath, ...at);
      const flag = (k: string, dflt: boolean): boolean => {
        const v = flags.get(k);
        if (v === undefined) return dflt;
        if (typeof v === 'boolean') return v;
        fail('SCHEMA', `${k} must be true or false`, ...at, k);
        return dflt;
      };
      const str = (k: string): string | undefined => {
        const v = flags.get(k);
        if (v === undefined || v === null) return undefined;
        if (typeof v === 'string') return v;
        fail('SCHEMA', `${k} must be a string`, ...at, k);
        return undefined;
      };
      const cache = flag('cache', true);
      const persist = flag('persist', false);
      const push = flag('push', true);
      const remote = str('remote');
      const desc = str('desc');
      if (path === undefined) continue;
      const spec: OutSpec = { defPath, path, kind, cache, persist, push };
      if (remote !== undefined) spec.remote = remote;
      if (desc !== undefined) spec.desc = desc;
      if (kind === 'plot') spec.plot = new Map([...PLOT_PROPS].flatMap((k) => (flags.has(k) ? [[k, flags.get(k) as PyValue]] : [])));
      out.push(spec);
    }
    return out;
  }
}
