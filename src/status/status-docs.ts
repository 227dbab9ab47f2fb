import { createHash } from '../core/crypto.js';
import type { ChangeReason, LockStage, Stage } from '../core/types.js';
import { describeReason, reasonCode } from '../pipeline/stage-status.js';

/**
 * status/<stage>.yaml and status/pipeline.yaml, after Kubernetes API
 * conventions: `spec` is what reprod was asked to do (the rendered stage),
 * `status` what it observed. `metadata.generation` counts changes of the spec
 * (carried over from the previous file, so it survives restarts) and every
 * condition says which generation it describes. Internal machine states are
 * projected onto a phase and three conditions; the machine is not the API.
 */
export const API_VERSION = 'reprod.dev/v1';

export type ConditionType = 'Ready' | 'Reconciling' | 'Stalled' | 'SpecValid' | 'TrackingAvailable' | 'EngineAvailable';
export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

/** `EngineUnavailable`: the stage waits for the container engine to answer again (never a failure of the stage). */
/** `Hashing`: its plan reads inputs whose recorded hashes no longer hold; `Building`: its run builds the stage's image. */
export type StagePhase = 'UpToDate' | 'Stale' | 'Hashing' | 'Queued' | 'Building' | 'Running' | 'Failed' | 'Blocked' | 'Cancelled' | 'Frozen' | 'Backoff' | 'EngineUnavailable';

export interface StaleReason {
  code: string;
  message: string;
  path?: string;
  key?: string;
}

export interface LastRun {
  runId: string;
  action: 'ran' | 'restored';
  outcome: 'Succeeded' | 'Failed' | 'Cancelled';
  /** The image ID, or `host`. */
  runtime: string;
  /** The image reference it ran under (a built tag, or the manifest's name). */
  image?: string;
  /** The identity compared for `image-changed`: `host`, `ctx:<context hash>` or the image ID. */
  runtimeKey?: string;
  container?: string;
  startedAt?: string;
  finishedAt?: string;
  durationSeconds?: number;
  exitCode?: number;
  oomKilled?: boolean;
  log?: string;
  error?: string;
  trackingRunId?: string;
}

export interface OutputStatus {
  path: string;
  md5: string;
  size: number;
  nfiles?: number;
}

export interface StageStatusDoc {
  apiVersion: typeof API_VERSION;
  kind: 'StageStatus';
  metadata: { name: string; generation: number };
  spec: {
    specHash: string;
    cmd: string | string[];
    wdir: string;
    deps: string[];
    params?: { file: string; keys?: string[] }[];
    outs: string[];
    runtime: { kind: 'docker' | 'host'; image?: string; reason?: string };
  };
  status: {
    observedGeneration: number;
    phase: StagePhase;
    conditions: Condition[];
    staleReasons: StaleReason[];
    lastRun?: LastRun;
    outputs: OutputStatus[];
    retries?: number;
    nextRetryAt?: string;
  };
}

export type PipelinePhase = 'UpToDate' | 'Reconciling' | 'Degraded' | 'InvalidSpec';

export interface PipelineStatusDoc {
  apiVersion: typeof API_VERSION;
  kind: 'PipelineStatus';
  metadata: { name: string; generation: number };
  spec: { specHash: string; file: string; stages: string[] };
  status: {
    observedGeneration: number;
    phase: PipelinePhase;
    conditions: Condition[];
    stages: Record<string, StagePhase>;
    error?: { code: string; message: string; file?: string; key?: string; line?: number };
    lastPass?: { startedAt: string; finishedAt: string; ran?: number; failed?: number };
  };
}

export type StatusDoc = StageStatusDoc | PipelineStatusDoc;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The rendered spec of a stage: what, when it changes, makes a new generation. */
export function stageSpec(stage: Stage, runtime: StageStatusDoc['spec']['runtime']): StageStatusDoc['spec'] {
  const body = {
    cmd: stage.cmd,
    wdir: stage.wdir,
    deps: stage.deps.map((d) => d.path),
    ...(stage.params.length
      ? { params: stage.params.map((p) => (p.keys === null ? { file: p.path } : { file: p.path, keys: [...p.keys] })) }
      : {}),
    outs: stage.outs.map((o) => o.path),
    runtime,
  };
  // the image ID is observed state, not spec: the same stage spec may run in a rebuilt image
  const hashed = { ...body, runtime: { kind: runtime.kind, reason: runtime.reason } };
  return { specHash: sha256(JSON.stringify(hashed)), ...body };
}

/** The generation: 1 at first, +1 whenever the spec hash changes. */
export function nextGeneration(prev: { metadata: { generation: number }; spec: { specHash: string } } | undefined, specHash: string): number {
  if (!prev) return 1;
  return prev.spec.specHash === specHash ? prev.metadata.generation : prev.metadata.generation + 1;
}

type Triple = [ConditionStatus, string, string];

/** Ready / Reconciling / Stalled for each phase: [status, reason, message]. */
function stageConditions(phase: StagePhase, message: string, held: boolean): Record<'Ready' | 'Reconciling' | 'Stalled', Triple> {
  const no = (reason: string, msg = ''): Triple => ['False', reason, msg];
  const yes = (reason: string, msg = message): Triple => ['True', reason, msg];
  switch (phase) {
    case 'UpToDate':
      return { Ready: yes('UpToDate', message || 'outputs match their inputs'), Reconciling: no('UpToDate'), Stalled: no('UpToDate') };
    case 'Frozen':
      return { Ready: yes('Frozen', message || 'frozen: never reproduced'), Reconciling: no('Frozen'), Stalled: no('Frozen') };
    case 'Stale':
      return { Ready: no('Stale', message), Reconciling: no('Waiting', 'not started'), Stalled: no('Stale') };
    case 'Queued':
      return { Ready: no('Stale', message), Reconciling: yes('Queued'), Stalled: no('Queued') };
    case 'Hashing':
      return { Ready: no('Stale', message), Reconciling: yes('Hashing'), Stalled: no('Hashing') };
    case 'Building':
      return { Ready: no('Stale', message), Reconciling: yes('Building'), Stalled: no('Building') };
    case 'Running':
      return { Ready: no('Stale', message), Reconciling: yes('Running'), Stalled: no('Running') };
    case 'Backoff':
      return { Ready: no('Stale', message), Reconciling: yes('Backoff'), Stalled: no('Backoff') };
    case 'EngineUnavailable':
      return { Ready: no('EngineUnavailable', message), Reconciling: yes('EngineUnavailable'), Stalled: no('EngineUnavailable') };
    case 'Cancelled':
      if (held) return { Ready: no('Cancelled', message), Reconciling: no('CancelledByUser', 'waits for new inputs or a rerun'), Stalled: no('Cancelled') };
      return { Ready: no('Cancelled', message), Reconciling: yes('Requeued'), Stalled: no('Cancelled') };
    case 'Failed':
      return { Ready: no('Failed', message), Reconciling: no('Failed'), Stalled: yes('Failed') };
    case 'Blocked':
      return { Ready: no('UpstreamFailed', message), Reconciling: no('UpstreamFailed'), Stalled: yes('UpstreamFailed') };
  }
}

/**
 * Builds conditions, keeping `lastTransitionTime` from `prev` when a
 * condition's status did not change (Kubernetes semantics).
 */
export function buildConditions(
  prev: readonly Condition[] | undefined,
  next: Partial<Record<ConditionType, Triple>>,
  generation: number,
  now: Date,
): Condition[] {
  const out: Condition[] = [];
  for (const [type, triple] of Object.entries(next) as [ConditionType, Triple][]) {
    const [status, reason, message] = triple;
    const before = prev?.find((c) => c.type === type);
    const lastTransitionTime = before && before.status === status ? before.lastTransitionTime : now.toISOString();
    out.push({ type, status, reason, message, lastTransitionTime, observedGeneration: generation });
  }
  return out;
}

export function staleReasons(reasons: readonly ChangeReason[]): StaleReason[] {
  return reasons.map((r) => ({
    code: reasonCode(r),
    message: describeReason(r),
    ...(r.kind === 'dep' || r.kind === 'out' ? { path: r.path } : {}),
    ...(r.kind === 'param' ? { path: r.file, ...(r.key !== null ? { key: r.key } : {}) } : {}),
  }));
}

export function outputsOf(entry: LockStage | undefined): OutputStatus[] {
  return (entry?.outs ?? []).map((o) => ({
    path: o.path,
    md5: o.md5,
    size: o.size ?? 0,
    ...(o.nfiles !== undefined ? { nfiles: o.nfiles } : {}),
  }));
}

export interface StageStatusInput {
  stage: Stage;
  runtime: StageStatusDoc['spec']['runtime'];
  phase: StagePhase;
  reasons: readonly ChangeReason[];
  /** The stage's dvc.lock entry (its committed outputs). */
  entry: LockStage | undefined;
  lastRun?: LastRun;
  message?: string;
  retries?: number;
  nextRetryAt?: Date;
  /** Cancelled by a person: it waits for new inputs or a rerun (not requeued). */
  held?: boolean;
}

/** The next status/<stage>.yaml, given the previous one (or none). Pure: time comes in as `now`. */
export function nextStageStatus(prev: StageStatusDoc | undefined, input: StageStatusInput, now: Date): StageStatusDoc {
  const spec = stageSpec(input.stage, input.runtime);
  const generation = nextGeneration(prev, spec.specHash);
  const reasons = staleReasons(input.reasons);
  const message = input.message ?? reasons.map((r) => r.message).join('; ');
  const lastRun = input.lastRun ?? prev?.status.lastRun;
  return {
    apiVersion: API_VERSION,
    kind: 'StageStatus',
    metadata: { name: input.stage.name, generation },
    spec,
    status: {
      observedGeneration: generation,
      phase: input.phase,
      conditions: buildConditions(prev?.status.conditions, stageConditions(input.phase, message, input.held === true), generation, now),
      staleReasons: reasons,
      ...(lastRun ? { lastRun } : {}),
      outputs: outputsOf(input.entry),
      ...(input.retries ? { retries: input.retries } : {}),
      ...(input.nextRetryAt ? { nextRetryAt: input.nextRetryAt.toISOString() } : {}),
    },
  };
}

export interface PipelineStatusInput {
  file: string;
  /** The text of the spec (dvc.yaml + manifests) last read; its hash is the spec hash. */
  specText: string;
  stages: Record<string, StagePhase>;
  error?: PipelineStatusDoc['status']['error'];
  lastPass?: PipelineStatusDoc['status']['lastPass'];
  /** Whether tracking records reach MLflow (an outage is a condition, never a stage failure). */
  tracking?: { status: ConditionStatus; reason: string; message: string };
  /** Whether the container engine answers (an outage is a condition, never a stage failure). */
  engine?: { status: ConditionStatus; reason: string; message: string };
}

/**
 * The next status/pipeline.yaml. An invalid spec keeps the last good stage
 * list and shows the error (file, key, line) in `SpecValid` and `error`.
 */
export function nextPipelineStatus(prev: PipelineStatusDoc | undefined, input: PipelineStatusInput, now: Date): PipelineStatusDoc {
  const specHash = sha256(input.specText);
  const generation = nextGeneration(prev, specHash);
  const phases = Object.values(input.stages);
  const busy = phases.some((p) => p === 'Hashing' || p === 'Queued' || p === 'Building' || p === 'Running' || p === 'Backoff' || p === 'Cancelled' || p === 'Stale' || p === 'EngineUnavailable');
  const stuck = phases.some((p) => p === 'Failed' || p === 'Blocked');
  const phase: PipelinePhase = input.error ? 'InvalidSpec' : stuck ? 'Degraded' : busy ? 'Reconciling' : 'UpToDate';
  const errText = input.error
    ? `${input.error.file ?? ''}${input.error.line !== undefined ? `:${input.error.line}` : ''}${input.error.key ? `: ${input.error.key}` : ''}: ${input.error.message}`
    : '';
  const failedNames = Object.entries(input.stages)
    .filter(([, p]) => p === 'Failed' || p === 'Blocked')
    .map(([n]) => n);
  const conditions = buildConditions(
    prev?.status.conditions,
    {
      Ready:
        phase === 'UpToDate'
          ? ['True', 'UpToDate', 'every stage is up to date']
          : ['False', phase === 'InvalidSpec' ? 'InvalidSpec' : stuck ? 'StagesFailed' : 'Reconciling', errText || (stuck ? `failed: ${failedNames.join(', ')}` : 'stages are stale or running')],
      Reconciling: busy ? ['True', 'StagesPending', 'stages are queued or running'] : ['False', 'Idle', ''],
      Stalled: stuck || input.error ? ['True', input.error ? 'InvalidSpec' : 'StagesFailed', errText || `failed: ${failedNames.join(', ')}`] : ['False', 'Progressing', ''],
      SpecValid: input.error ? ['False', 'InvalidSpec', errText] : ['True', 'Valid', ''],
      ...(input.tracking ? { TrackingAvailable: [input.tracking.status, input.tracking.reason, input.tracking.message] as Triple } : {}),
      ...(input.engine ? { EngineAvailable: [input.engine.status, input.engine.reason, input.engine.message] as Triple } : {}),
    },
    generation,
    now,
  );
  return {
    apiVersion: API_VERSION,
    kind: 'PipelineStatus',
    metadata: { name: 'pipeline', generation },
    spec: { specHash, file: input.file, stages: Object.keys(input.stages) },
    status: {
      // with an invalid spec, the status still describes the last good generation
      observedGeneration: input.error && prev ? prev.status.observedGeneration : generation,
      phase,
      conditions,
      stages: input.stages,
      ...(input.error ? { error: input.error } : {}),
      ...(input.lastPass ? { lastPass: input.lastPass } : (prev?.status.lastPass ? { lastPass: prev.status.lastPass } : {})),
    },
  };
}
