import { getDotted, type PyDict } from '../core/pyvalue.js';
import type { ModelPromotion, ModelRegistration, TrackedMetric, TrackedTag } from '../core/ports.js';
import type { LockStage, Stage } from '../core/types.js';
import type { ModelSpec, ParamRef } from '../pipeline/manifests.js';
import { metricNumber } from './flatten.js';
import { aliasProblem } from './mlflow-limits.js';
import { DEFAULT_PARAMS_FILE } from './stage-record.js';

/**
 * Model registration and promotion, decided from the manifests' `model:`
 * entries and what stages produced.
 *
 *   train (model: models/model, alias candidate, promote accuracy ≥ t → champion)
 *     │ succeeds ──► register a version of the model (tagged with its md5), alias `candidate`
 *     ▼
 *   evaluate (deps: models/model; metrics: accuracy)
 *     │ succeeds ──► accuracy ≥ t ? move `champion` to the version whose md5 is
 *                   evaluate's dep md5 of models/model, unless the version
 *                   holding `champion` scored a higher accuracy (the delivery
 *                   compares the values recorded on the versions)
 *
 * A promotion is decided by the first stage that finishes with the named
 * metric and either is the model's stage or reads the model: its dep on the
 * model's path gives the md5 of the version it evaluated (a dep on a folder
 * holding the model gives none: the newest version is promoted).
 */

export interface ModelDecl {
  /** The stage that writes the model. */
  stage: Stage;
  spec: ModelSpec;
}

/** The registered name: the manifest's `name`, else the stage's name. */
function registeredName(decl: ModelDecl): string {
  return decl.spec.name ?? decl.stage.name;
}

function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(`${dir}/`);
}

/** md5 of workspace path `path` in a dvc.lock entry (deps or outs). */
function md5Of(stage: Stage, entry: LockStage | undefined, path: string, kind: 'deps' | 'outs'): string | undefined {
  const spec = (kind === 'deps' ? stage.deps : stage.outs).find((s) => s.path === path);
  if (!spec) return undefined;
  return entry?.[kind].find((e) => e.path === spec.defPath)?.md5;
}

/**
 * The registration a successful run of `stage` makes, if its manifest
 * declares a model; `problems` lists what was left out (a reserved alias).
 */
export function registrationFor(
  stage: Stage,
  entry: LockStage | undefined,
  models: readonly ModelDecl[],
): { registration?: ModelRegistration; problems: string[] } {
  const decl = models.find((m) => m.stage.name === stage.name);
  if (!decl) return { problems: [] };
  const problems: string[] = [];
  const reg: ModelRegistration = {
    name: registeredName(decl),
    path: decl.spec.path,
    description: `registered by reprod from stage ${stage.name} (${decl.spec.path})`,
    tags: [
      { key: 'reprod.stage', value: stage.name },
      { key: 'reprod.path', value: decl.spec.path },
    ],
  };
  const md5 = md5Of(stage, entry, decl.spec.path, 'outs');
  if (md5) reg.md5 = md5;
  if (decl.spec.alias !== undefined) {
    const why = aliasProblem(decl.spec.alias);
    if (why) problems.push(`${why}: not set on ${reg.name}`);
    else reg.alias = decl.spec.alias;
  }
  return { registration: reg, problems };
}

/** Reads a threshold: a number as is, or a number from a params file (`files` by workspace path). */
export function resolveThreshold(t: number | ParamRef, files: ReadonlyMap<string, PyDict | null>): { value?: number; problem?: string } {
  if (typeof t === 'number') return { value: t };
  const file = t.file ?? DEFAULT_PARAMS_FILE;
  const doc = files.get(file);
  if (!doc) return { problem: `threshold ${file}:${t.param}: the params file is missing or unreadable` };
  const found = getDotted(doc, t.param);
  if (!found.found) return { problem: `threshold ${file}:${t.param}: no such key` };
  const n = typeof found.value === 'boolean' ? undefined : metricNumber(found.value);
  if (n === undefined) return { problem: `threshold ${file}:${t.param}: not a number` };
  return { value: n };
}

/** The params files thresholds read (to load before deciding). */
export function thresholdFiles(models: readonly ModelDecl[]): string[] {
  const files = new Set<string>();
  for (const m of models) {
    const t = m.spec.promote?.threshold;
    if (t !== undefined && typeof t !== 'number') files.add(t.file ?? DEFAULT_PARAMS_FILE);
  }
  return [...files].sort();
}

export interface PromotionDecision {
  name: string;
  alias: string;
  metric: string;
  value: number;
  threshold: number;
  passed: boolean;
  /** The version to move the alias to (by md5), when passed. */
  promotion?: ModelPromotion;
  /** Recorded on the deciding run: `reprod.promote.<name>.<alias>` → `accuracy 0.93 >= 0.9`. */
  tag: TrackedTag;
}

/**
 * The promotions a successful run of `stage` decides, from its metrics and
 * its dvc.lock entry (for the md5 of the model it read).
 */
export function promotionsFor(
  stage: Stage,
  entry: LockStage | undefined,
  metrics: readonly TrackedMetric[],
  models: readonly ModelDecl[],
  paramsFiles: ReadonlyMap<string, PyDict | null>,
): { decisions: PromotionDecision[]; problems: string[] } {
  const decisions: PromotionDecision[] = [];
  const problems: string[] = [];
  for (const decl of models) {
    const rule = decl.spec.promote;
    if (!rule) continue;
    const metric = metrics.find((m) => m.key === rule.metric);
    if (!metric) continue;
    let md5: string | undefined;
    if (decl.stage.name === stage.name) {
      md5 = md5Of(stage, entry, decl.spec.path, 'outs');
    } else {
      const dep = stage.deps.find((d) => isInside(decl.spec.path, d.path) || isInside(d.path, decl.spec.path));
      if (!dep) continue;
      md5 = dep.path === decl.spec.path ? md5Of(stage, entry, dep.path, 'deps') : undefined;
    }
    const name = registeredName(decl);
    const bad = aliasProblem(rule.alias);
    if (bad) {
      problems.push(`${bad}: ${name} not promoted`);
      continue;
    }
    const t = resolveThreshold(rule.threshold, paramsFiles);
    if (t.value === undefined) {
      problems.push(`${name} not promoted: ${t.problem ?? 'no threshold'}`);
      continue;
    }
    const passed = metric.value >= t.value;
    const d: PromotionDecision = {
      name,
      alias: rule.alias,
      metric: rule.metric,
      value: metric.value,
      threshold: t.value,
      passed,
      tag: { key: `reprod.promote.${name}.${rule.alias}`, value: `${rule.metric} ${metric.value} ${passed ? '>=' : '<'} ${t.value}` },
    };
    if (passed) d.promotion = { name, alias: rule.alias, ...(md5 ? { md5 } : {}), metric: { key: rule.metric, value: metric.value } };
    decisions.push(d);
  }
  return { decisions, problems };
}
