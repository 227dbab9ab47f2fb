import { promises as fs } from 'node:fs';
import type { Logger } from '../../core/ports.js';
import type { TrackedTag } from '../../core/ports.js';
import { mlflowKey } from '../../tracking/mlflow-limits.js';
import type { MlflowBackend, RunHandle } from './backend.js';
import { isMlflowError, MlflowError } from './mlflow-error.js';
import type { OutboxOp } from './outbox-ops.js';
import type { Pending } from './outbox-pump.js';
import type { Redactor } from './redact.js';

/**
 * Delivers one outbox record to the MLflow backend. Each operation is
 * idempotent, so that a record sent again after a lost answer or a restart
 * does no harm: a run is created with the tag `reprod.ref` (its client-side
 * id) and a repeated create first looks for it; a model version carries
 * `reprod.ref` and `reprod.md5` and is found again by them; log-batch
 * repeats are harmless (MLflow accepts a param with the same value again).
 *
 * Throws an MlflowError: `transient`/`auth` hold the queue, anything else
 * sets the record aside (see outbox-pump.ts).
 */

/** Tag that names a run's or a version's client-side id. */
export const REF_TAG = 'reprod.ref';

export interface DeliveryContext {
  backend: MlflowBackend;
  /** The server's ids of the runs delivered so far, by ref. */
  ids: ReadonlyMap<string, RunHandle>;
  /** Where the outbox keeps an artifact's copy. */
  blobPath(sha: string): string;
  redactor: Redactor;
  log: Logger;
  /** Records, once, that tracking works in a degraded way (no artifact upload, no registry). */
  note(key: string, message: string): void;
}

/** Delivers `rec`; returns the server ids it learnt (a created run's), keyed by ref. */
export async function deliver(rec: Pending, ctx: DeliveryContext): Promise<Record<string, RunHandle> | undefined> {
  const op = rec.op;
  const b = ctx.backend;
  switch (op.kind) {
    case 'createRun': {
      const exp = await b.experimentId(op.experiment);
      let run = rec.attempted ? await b.findRunByTag(exp, REF_TAG, op.ref) : undefined;
      if (!run) {
        rec.attempted = true;
        const parent = op.parentRef ? ctx.ids.get(op.parentRef) : undefined;
        if (op.parentRef && !parent) ctx.note('orphan-runs', "stage runs were created outside their pass's run: the server refused to create the pass's run");
        const tags = parent ? [{ key: 'mlflow.parentRunId', value: parent.runId }, ...op.tags] : op.tags;
        run = await b.createRun(exp, { runName: op.runName, startTime: op.startTime, tags, ...(op.userId ? { userId: op.userId } : {}) });
      }
      return { [op.ref]: run };
    }
    case 'logBatch':
      await b.logBatch(need(ctx, op.ref), op);
      return undefined;
    case 'logArtifact':
      await deliverArtifact(op, ctx);
      return undefined;
    case 'finishRun':
      await b.finishRun(need(ctx, op.ref), op.status, op.endTime);
      return undefined;
    case 'registerModel':
      await deliverRegistration(op, ctx);
      return undefined;
    case 'promoteModel':
      await deliverPromotion(op, ctx);
      return undefined;
  }
}

function need(ctx: DeliveryContext, ref: string): RunHandle {
  const h = ctx.ids.get(ref);
  if (!h) throw new MlflowError('rejected', 'the run was never created on the server (its creation was refused)');
  return h;
}

async function deliverArtifact(op: Extract<OutboxOp, { kind: 'logArtifact' }>, ctx: DeliveryContext): Promise<void> {
  const run = need(ctx, op.ref);
  const file = ctx.blobPath(op.blob);
  try {
    await fs.access(file);
  } catch {
    throw new MlflowError('rejected', `artifact ${op.artifactPath}: its copy in the outbox is gone`);
  }
  try {
    await ctx.backend.logArtifact(run, op.artifactPath, file);
  } catch (e) {
    if (!isMlflowError(e, 'unsupported')) throw e;
    ctx.note('artifacts', `artifacts are not uploaded: ${ctx.redactor.redact(e.message)}`);
  }
}

/** Runs registry steps; a server without (part of) a registry gets run tags instead. */
async function withRegistry(ctx: DeliveryContext, run: () => RunHandle, steps: () => Promise<void>, fallback: TrackedTag[]): Promise<void> {
  try {
    await steps();
  } catch (e) {
    if (!isMlflowError(e, 'unsupported')) throw e;
    ctx.note('registry', `the server has no model registry (${ctx.redactor.redact(e.message)}): models are recorded in run tags instead`);
    await ctx.backend.logBatch(run(), { params: [], metrics: [], tags: fallback });
  }
}

async function deliverRegistration(op: Extract<OutboxOp, { kind: 'registerModel' }>, ctx: DeliveryContext): Promise<void> {
  const run = need(ctx, op.ref);
  const b = ctx.backend;
  const source = b.modelSource(run, op.artifactPath);
  const fallback: TrackedTag[] = [
    { key: 'reprod.model.name', value: op.name },
    { key: 'reprod.model.source', value: source },
  ];
  if (op.md5) fallback.push({ key: 'reprod.model.md5', value: op.md5 });
  if (op.alias) fallback.push({ key: `reprod.model.alias.${mlflowKey(op.alias)}`, value: op.md5 ?? source });
  await withRegistry(
    ctx,
    () => run,
    async () => {
      await b.ensureRegisteredModel(op.name, op.description);
      const versions = await b.modelVersions(op.name);
      // the same version again after a lost answer (its ref), or the same bytes registered before (its md5)
      const found =
        versions.find((v) => v.tags[REF_TAG] === op.versionRef) ??
        (op.md5 ? [...versions].reverse().find((v) => v.tags['reprod.md5'] === op.md5) : undefined);
      let version = found?.version;
      if (version === undefined) {
        const tags = [...op.tags, { key: REF_TAG, value: op.versionRef }, ...(op.md5 ? [{ key: 'reprod.md5', value: op.md5 }] : [])];
        version = await b.createModelVersion(op.name, source, run, tags);
      }
      if (op.alias) await b.setAlias(op.name, op.alias, version);
      ctx.log.info({ model: op.name, version, alias: op.alias, reused: found !== undefined }, 'model registered');
    },
    fallback,
  );
}

/** The version tag that records a promotion metric's value (`reprod.metric.accuracy` → `0.93`). */
export function metricTagKey(metric: string): string {
  return mlflowKey(`reprod.metric.${metric}`);
}

/**
 * Moves the alias to the evaluated version, unless the version holding it now
 * has a better value of the same metric (higher is better; a tie keeps the
 * holder): the alias names the best version seen, not the latest that passed.
 */
async function deliverPromotion(op: Extract<OutboxOp, { kind: 'promoteModel' }>, ctx: DeliveryContext): Promise<void> {
  const b = ctx.backend;
  await withRegistry(
    ctx,
    () => need(ctx, op.ref),
    async () => {
      const versions = await b.modelVersions(op.name);
      const target = op.md5 ? [...versions].reverse().find((v) => v.tags['reprod.md5'] === op.md5) : versions[versions.length - 1];
      if (!target) {
        throw new MlflowError('rejected', `model ${op.name}: no version ${op.md5 ? `with md5 ${op.md5}` : 'at all'} to give the alias '${op.alias}'`);
      }
      if (op.metric !== undefined && op.value !== undefined) {
        const key = metricTagKey(op.metric);
        await b.setVersionTag(op.name, target.version, { key, value: String(op.value) });
        const holder = await b.aliasVersion(op.name, op.alias);
        const held = holder === undefined || holder === target.version ? undefined : Number(versions.find((v) => v.version === holder)?.tags[key]);
        if (held !== undefined && Number.isFinite(held) && held >= op.value) {
          ctx.log.info({ model: op.name, alias: op.alias, version: holder, kept: held, candidate: target.version, value: op.value, metric: op.metric }, 'model alias kept: its version scored better');
          return;
        }
      }
      await b.setAlias(op.name, op.alias, target.version);
      ctx.log.info({ model: op.name, version: target.version, alias: op.alias }, 'model promoted');
    },
    [{ key: `reprod.model.alias.${mlflowKey(op.alias)}`, value: `${op.name} ${op.md5 ?? 'newest'}` }],
  );
}
