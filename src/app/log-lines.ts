import { humanBytes } from '../core/bytes.js';

/**
 * What the daemon's log lines say, in words, for the pretty format. A line
 * is pino's object; the JSON format writes it as it is (schemas/log-line.schema.json).
 *
 *   train: running stage (params.yaml:train.C changed 1.0 → 0.5)  runtime=reprod/train:3f2a…
 *   train │ epoch 1: loss 0.42                         (a line of the stage's output)
 *   train: stage finished: failed after 1.2 s: failed to reproduce 'train': …
 */

/** The `msg` of a line of a stage's output (with `stage`, `stream` and `line`). */
export const OUTPUT_MSG = 'output';

/** Fields said in the message itself, or bookkeeping a person does not read. */
const SAID = new Set(['level', 'time', 'msg', 'stage', 'why', 'err', 'pid', 'hostname', 'line', 'stream']);

/** A line's message for a person: the stage it is about, what happened, why, and what went wrong. */
export function describeLogLine(o: Readonly<Record<string, unknown>>): string {
  const msg = typeof o.msg === 'string' ? o.msg : '';
  const stage = typeof o.stage === 'string' ? o.stage : undefined;
  if (msg === OUTPUT_MSG && typeof o.line === 'string') return `${stage ?? '?'} │ ${o.line}`;
  const head = `${stage !== undefined ? `${stage}: ` : ''}${msg === 'stage finished' ? finished(o) : msg === 'hashing' ? hashing(o) : msg}`;
  const why = Array.isArray(o.why) && o.why.length > 0 ? ` (${o.why.map(String).join('; ')})` : '';
  const err = o.err !== undefined && o.err !== null ? `: ${typeof o.err === 'string' ? o.err : JSON.stringify(o.err)}` : '';
  const skip = msg === 'stage finished' ? FINISHED_SAID : msg === 'hashing' ? HASHING_SAID : Array.isArray(o.why) ? WHY_SAID : SAID;
  const rest = Object.entries(o)
    .filter(([k, v]) => !skip.has(k) && v !== undefined && v !== null)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${head}${why}${err}${rest.length > 0 ? `  ${rest.join(' ')}` : ''}`;
}

/** `reasons` are the codes behind `why`: a person reads the words. */
const WHY_SAID = new Set([...SAID, 'reasons']);
const FINISHED_SAID = new Set([...SAID, 'outcome', 'durationSeconds', 'transient']);
const HASHING_SAID = new Set([...SAID, 'path', 'files', 'bytes']);

/** `hashing data/big.bin (1.5 GiB)`, `hashing data (2.0 GiB in 20000 files)`. */
function hashing(o: Readonly<Record<string, unknown>>): string {
  const bytes = typeof o.bytes === 'number' ? humanBytes(o.bytes) : '?';
  const files = typeof o.files === 'number' && o.files > 1 ? ` in ${o.files} files` : '';
  return `hashing ${typeof o.path === 'string' ? o.path : '?'} (${bytes}${files})`;
}

function finished(o: Readonly<Record<string, unknown>>): string {
  const outcome = typeof o.outcome === 'string' ? o.outcome : 'finished';
  const secs = typeof o.durationSeconds === 'number' ? o.durationSeconds : undefined;
  const took = secs === undefined ? '' : outcome === 'ran' ? ` in ${secs.toFixed(1)} s` : ` after ${secs.toFixed(1)} s`;
  return `stage finished: ${outcome}${o.transient === true ? ' (transient: it is tried again)' : ''}${took}`;
}
