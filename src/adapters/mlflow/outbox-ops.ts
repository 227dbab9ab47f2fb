import type { TrackedMetric, TrackedParam, TrackedRunStatus, TrackedTag } from '../../core/ports.js';
import type { RunHandle } from './backend.js';

/**
 * The records of the outbox journal: one tracking step each, naming runs by
 * client-side refs (the server's ids are learnt on delivery and journalled
 * with the acknowledgement).
 */
export type OutboxOp =
  | {
      kind: 'createRun';
      ref: string;
      experiment: string;
      runName: string;
      startTime: number;
      tags: TrackedTag[];
      parentRef?: string;
      userId?: string;
    }
  | { kind: 'logBatch'; ref: string; params: TrackedParam[]; metrics: TrackedMetric[]; tags: TrackedTag[] }
  | { kind: 'logArtifact'; ref: string; blob: string; artifactPath: string }
  | { kind: 'finishRun'; ref: string; status: TrackedRunStatus; endTime: number }
  | {
      kind: 'registerModel';
      ref: string;
      versionRef: string;
      name: string;
      artifactPath: string;
      md5?: string;
      alias?: string;
      description?: string;
      tags: TrackedTag[];
    }
  /** `metric`/`value`: the alias moves only when `value` beats the one recorded on the version holding it now. */
  | { kind: 'promoteModel'; ref: string; name: string; alias: string; md5?: string; metric?: string; value?: number };

/** One journal line. */
export type JournalLine =
  | { seq: number; op: OutboxOp }
  | { ack: number; ids?: Record<string, RunHandle> }
  | { dead: number; error: string }
  /** A compacted journal's head: ids still needed, runs still open, journals taken over. */
  | { ids: Record<string, RunHandle>; open?: string[]; adopted?: string[] };

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const optStr = (v: unknown): boolean => v === undefined || isStr(v);
const optStrList = (v: unknown): v is string[] | undefined => v === undefined || (Array.isArray(v) && v.every(isStr));

function isKvList(v: unknown): v is { key: string; value: string }[] {
  return Array.isArray(v) && v.every((x) => isObj(x) && isStr(x['key']) && isStr(x['value']));
}

function isMetricList(v: unknown): v is TrackedMetric[] {
  return Array.isArray(v) && v.every((x) => isObj(x) && isStr(x['key']) && isNum(x['value']) && isNum(x['timestamp']) && isNum(x['step']));
}

const STATUSES = new Set(['FINISHED', 'FAILED', 'KILLED']);

function validOp(v: unknown): v is OutboxOp {
  if (!isObj(v) || !isStr(v['ref'])) return false;
  switch (v['kind']) {
    case 'createRun':
      return isStr(v['experiment']) && isStr(v['runName']) && isNum(v['startTime']) && isKvList(v['tags']) && optStr(v['parentRef']) && optStr(v['userId']);
    case 'logBatch':
      return isKvList(v['params']) && isMetricList(v['metrics']) && isKvList(v['tags']);
    case 'logArtifact':
      return isStr(v['blob']) && /^[0-9a-f]{64}$/.test(v['blob']) && isStr(v['artifactPath']);
    case 'finishRun':
      return isStr(v['status']) && STATUSES.has(v['status']) && isNum(v['endTime']);
    case 'registerModel':
      return (
        isStr(v['versionRef']) && isStr(v['name']) && isStr(v['artifactPath']) && optStr(v['md5']) && optStr(v['alias']) && optStr(v['description']) && isKvList(v['tags'])
      );
    case 'promoteModel':
      return isStr(v['name']) && isStr(v['alias']) && optStr(v['md5']) && optStr(v['metric']) && (v['value'] === undefined || isNum(v['value'])) && (v['metric'] === undefined) === (v['value'] === undefined);
    default:
      return false;
  }
}

function validIds(v: unknown): v is Record<string, RunHandle> {
  return isObj(v) && Object.values(v).every((h) => isObj(h) && isStr(h['runId']) && isStr(h['experimentId']) && isStr(h['artifactUri']));
}

/** Parses a journal line; undefined when it is not one (a torn or foreign line). */
export function parseJournalLine(text: string): JournalLine | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObj(v)) return undefined;
  if (isNum(v['seq']) && validOp(v['op'])) return { seq: v['seq'], op: v['op'] };
  if (isNum(v['ack'])) {
    if (v['ids'] === undefined) return { ack: v['ack'] };
    return validIds(v['ids']) ? { ack: v['ack'], ids: v['ids'] } : undefined;
  }
  if (isNum(v['dead']) && isStr(v['error'])) return { dead: v['dead'], error: v['error'] };
  if (validIds(v['ids']) && optStrList(v['open']) && optStrList(v['adopted'])) {
    return { ids: v['ids'], ...(v['open'] ? { open: v['open'] } : {}), ...(v['adopted'] ? { adopted: v['adopted'] } : {}) };
  }
  return undefined;
}

/** Blobs an op needs kept. */
export function blobOf(op: OutboxOp): string | undefined {
  return op.kind === 'logArtifact' ? op.blob : undefined;
}

/** Refs an op needs resolved. */
export function refsOf(op: OutboxOp): string[] {
  return op.kind === 'createRun' && op.parentRef ? [op.ref, op.parentRef] : [op.ref];
}
