import type { ErrorObject } from 'ajv';
import { ReprodError, ReprodErrors } from '../core/errors.js';
import type { ContainerSettings } from '../core/ports.js';
import type { PyValue } from '../core/pyvalue.js';
import type { InputLimits } from '../core/input-limits.js';
import type { SourceRef } from '../core/types.js';
import { normalizeWsPath } from './paths.js';
import { checkSchema, problemErrors, type Described, type SchemaWording } from './schema-errors.js';
import { formatKeyPath, loadYaml, type KeyPath, type LoadedYaml } from './yaml-load.js';

/**
 * Runtime manifests (`manifests/*.yaml`): what dvc.yaml cannot say about a
 * stage (its image, limits, network, retries) and about the pipeline
 * (`maxParallel`). Kubernetes style, several documents per file allowed:
 *
 *   apiVersion: reprod.dev/v1
 *   kind: Stage                 # or Pipeline
 *   metadata: {name: train}     # a stage name, or a foreach/matrix group name
 *   spec: {image: …, network: none, resources: {cpus: 2, memory: 2g}, …}
 *
 * Everything here is pure: text in, specs out. Which image a stage finally
 * runs in is decided by stage-runtime.ts.
 */

export type NetworkMode = ContainerSettings['network'];

export interface BuildSpec {
  /** Workspace-relative build context folder. */
  context: string;
  /** The Dockerfile, relative to the context. */
  dockerfile: string;
  args: Record<string, string>;
}

/** A number read from a params file: `{param: evaluate.champion_threshold}` (file: params.yaml unless given). */
export interface ParamRef {
  param: string;
  file?: string;
}

/** Model registration settings, kept for the tracking adapter (not used by the runtime). */
export interface ModelSpec {
  path: string;
  name?: string;
  alias?: string;
  /** Moves `alias` to the version when `metric` (of this stage or a later one reading the model) reaches `threshold`. */
  promote?: { metric: string; threshold: number | ParamRef; alias: string };
}

export interface RetrySpec {
  limit: number;
  backoffSeconds: number;
}

/** One `kind: Stage` document, validated, defaults not yet applied (see {@link resolveStageRuntime}). */
export interface StageRuntimeSpec {
  /** `metadata.name`: a stage name or a group name. */
  name: string;
  runtime?: 'docker' | 'host';
  image?: string;
  build?: BuildSpec;
  network?: NetworkMode;
  cpus?: number;
  memoryBytes?: number;
  env: Record<string, string>;
  user?: string;
  retries?: RetrySpec;
  model?: ModelSpec;
  /** The document's `metadata.name`: file and line, for messages. */
  source: SourceRef;
}

export interface PipelineRuntimeSpec {
  /** undefined when no manifest sets it: the caller picks its default. */
  maxParallel?: number;
  source?: SourceRef;
}

export interface ParsedManifests {
  /** Keyed by `metadata.name`. */
  stages: Map<string, StageRuntimeSpec>;
  pipeline: PipelineRuntimeSpec;
}

/** Default delay before the first retry, when `retries.backoffSeconds` is not given. */
export const DEFAULT_BACKOFF_SECONDS = 10;

// ------------------------------------------------------------------ schema

/** The plain-data shape that schemas/manifest.schema.json accepts. */
type ManifestDoc =
  | { apiVersion: 'reprod.dev/v1'; kind: 'Stage'; metadata: { name: string }; spec: StageSpecDoc }
  | { apiVersion: 'reprod.dev/v1'; kind: 'Pipeline'; metadata: { name: string }; spec: { maxParallel?: number } };

interface StageSpecDoc {
  runtime?: 'docker' | 'host';
  image?: string;
  build?: { context: string; dockerfile?: string; args?: Record<string, string> };
  network?: NetworkMode;
  resources?: { cpus?: number; memory?: number | string };
  env?: Record<string, string>;
  user?: string;
  retries?: { limit: number; backoffSeconds?: number };
  model?: ModelSpec;
}

// ------------------------------------------------------------------ parsing

interface YamlDoc {
  loaded: LoadedYaml;
  value: PyValue;
}

/**
 * Splits a YAML stream at its document markers (`---`, `...` at column 0,
 * which YAML forbids inside content) and loads each document on its own,
 * its lines counted from where it starts in the file. Empty documents (only
 * comments) are dropped.
 */
function loadDocuments(text: string, file: string, limits: ManifestLimits): YamlDoc[] {
  const lines = text.split('\n');
  const pieces: { start: number; end: number }[] = [];
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (/^---(\s|$)/.test(line) && i > start) {
      pieces.push({ start, end: i });
      start = i;
    } else if (/^\.\.\.(\s|$)/.test(line)) {
      pieces.push({ start, end: i + 1 });
      start = i + 1;
    }
  }
  if (start < lines.length) pieces.push({ start, end: lines.length });
  const docs: YamlDoc[] = [];
  for (const p of pieces) {
    const body = lines.slice(p.start, p.end).join('\n');
    if (body.trim() === '') continue;
    // lines (of errors too) are the file's; padding instead would make many documents cost their square
    const loaded = loadYaml(body, file, { lineOffset: p.start, limits });
    if (loaded.value === null) continue;
    docs.push({ loaded, value: loaded.value });
  }
  return docs;
}

function sourceAt(file: string, loaded: LoadedYaml, path: KeyPath): SourceRef {
  const key = formatKeyPath(path);
  const line = loaded.lineOf(path);
  return { file, ...(key ? { key } : {}), ...(line !== undefined ? { line } : {}) };
}

/** The message says what is wrong; the source (file, line, key path) says where. */
function schemaError(file: string, loaded: LoadedYaml, path: KeyPath, message: string): ReprodError {
  return new ReprodError('SCHEMA', message, { source: sourceAt(file, loaded, path) });
}


const TYPE_WORDS: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', integer: 'an integer', number: 'a number', boolean: 'true or false' };

/** Keys are named themselves, missing ones too; the schema's alternatives and exclusions in its own words. */
const MANIFEST_WORDING: Partial<SchemaWording> = {
  unknownKeyAt: 'key',
  missingKeyAt: 'key',
  alternatives: 'summary',
  special(e: ErrorObject, at: KeyPath): Described | null | undefined {
    const p: Record<string, unknown> = e.params;
    // the failing subschema of `propertyNames` names the key
    if (e.keyword === 'propertyNames') return null;
    if (e.propertyName !== undefined) return { path: [...at, e.propertyName], message: `'${e.propertyName}' is not an environment variable name` };
    switch (e.keyword) {
      case 'type': {
        const t = String(p['type']);
        return { path: at, message: `must be ${TYPE_WORDS[t] ?? t}` };
      }
      case 'not':
        return { path: at, message: '`image` and `build` exclude each other, and `runtime: host` takes neither' };
      case 'oneOf':
        if (e.schemaPath.endsWith('/resources/properties/memory/oneOf')) return { path: at, message: 'must be a number of bytes, or a size such as `512m` or `2g`' };
        return undefined;
      default:
        return undefined;
    }
  },
};

function validateDoc(doc: YamlDoc, file: string): ManifestDoc | ReprodError[] {
  const checked = checkSchema<ManifestDoc>('manifest', doc.value, { lineOf: (p) => doc.loaded.lineOf(p), wording: MANIFEST_WORDING });
  return checked.valid ? checked.value : problemErrors(checked.problems, file, 'SCHEMA');
}

const UNIT_POWER: Record<string, number> = { '': 0, k: 1, m: 2, g: 3, t: 4 };

/**
 * Bytes of a memory size as Docker's CLI reads it (`512m`, `2g`, `1.5GiB`,
 * `100`): powers of 1024, fractions rounded down. undefined when malformed.
 */
export function parseMemorySize(v: number | string): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? v : undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?) ?([kKmMgGtT]?)[iI]?[bB]?$/.exec(v);
  if (!m || (m[2] === '' && /[iI]/.test(v))) return undefined;
  const power = UNIT_POWER[(m[2] ?? '').toLowerCase()];
  if (power === undefined) return undefined;
  const bytes = Math.floor(Number(m[1]) * 1024 ** power);
  return bytes > 0 && Number.isSafeInteger(bytes) ? bytes : undefined;
}

function toStageSpec(name: string, spec: StageSpecDoc, file: string, doc: YamlDoc, errors: ReprodError[]): StageRuntimeSpec {
  const out: StageRuntimeSpec = { name, env: { ...(spec.env ?? {}) }, source: sourceAt(file, doc.loaded, ['metadata', 'name']) };
  if (spec.runtime !== undefined) out.runtime = spec.runtime;
  if (spec.image !== undefined) out.image = spec.image;
  if (spec.build !== undefined) {
    const context = normalizeWsPath(spec.build.context);
    const dockerfile = normalizeWsPath(spec.build.dockerfile ?? 'Dockerfile');
    if (context === undefined) errors.push(schemaError(file, doc.loaded, ['spec', 'build', 'context'], 'the build context must be a folder inside the workspace (relative, not above the root)'));
    if (dockerfile === undefined || dockerfile === '.')
      errors.push(schemaError(file, doc.loaded, ['spec', 'build', 'dockerfile'], 'the Dockerfile must be a file inside the build context'));
    out.build = { context: context ?? '.', dockerfile: dockerfile ?? 'Dockerfile', args: { ...(spec.build.args ?? {}) } };
  }
  if (spec.network !== undefined) out.network = spec.network;
  if (spec.resources?.cpus !== undefined) out.cpus = spec.resources.cpus;
  if (spec.resources?.memory !== undefined) {
    const bytes = parseMemorySize(spec.resources.memory);
    if (bytes === undefined) errors.push(schemaError(file, doc.loaded, ['spec', 'resources', 'memory'], 'not a memory size such as `512m` or `2g`'));
    else out.memoryBytes = bytes;
  }
  if (spec.user !== undefined) out.user = spec.user;
  if (spec.retries !== undefined) out.retries = { limit: spec.retries.limit, backoffSeconds: spec.retries.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS };
  if (spec.model !== undefined) out.model = spec.model;
  return out;
}

/** `file:line` of a manifest entry, for messages that name two places. */
export function where(s: SourceRef): string {
  return s.line === undefined ? s.file : `${s.file}:${s.line}`;
}

/** The bounds that apply to manifests: nesting and aliases, per document. */
export type ManifestLimits = Partial<Pick<InputLimits, 'maxDepth' | 'maxAliasValues'>>;

/**
 * Parses and validates every manifest file. All problems found are reported
 * together (a {@link ReprodErrors} when there are several): YAML syntax,
 * schema violations with file, key path and line, and a stage or pipeline
 * defined twice (naming both places). Files are read in the order given;
 * pass them sorted for deterministic messages.
 */
export function parseManifests(files: readonly { path: string; text: string }[], limits: ManifestLimits = {}): ParsedManifests {
  const errors: ReprodError[] = [];
  const stages = new Map<string, StageRuntimeSpec>();
  const pipeline: PipelineRuntimeSpec = {};
  for (const f of files) {
    let docs: YamlDoc[];
    try {
      docs = loadDocuments(f.text, f.path, limits);
    } catch (err) {
      if (err instanceof ReprodError) {
        errors.push(err);
        continue;
      }
      throw err;
    }
    for (const doc of docs) {
      const valid = validateDoc(doc, f.path);
      if (Array.isArray(valid)) {
        errors.push(...valid);
        continue;
      }
      const name = valid.metadata.name;
      if (valid.kind === 'Stage') {
        const spec = toStageSpec(name, valid.spec, f.path, doc, errors);
        const earlier = stages.get(name);
        if (earlier) {
          errors.push(
            new ReprodError('SCHEMA', `stage \`${name}\` has two manifest entries: ${where(earlier.source)} and ${where(spec.source)}`, {
              source: spec.source,
              remedy: 'Keep one `kind: Stage` document per stage or group name.',
            }),
          );
        } else {
          stages.set(name, spec);
        }
      } else {
        const source = sourceAt(f.path, doc.loaded, ['metadata', 'name']);
        if (pipeline.source) {
          errors.push(
            new ReprodError('SCHEMA', `two \`kind: Pipeline\` manifests: ${where(pipeline.source)} and ${where(source)}`, {
              source,
              remedy: 'Keep one `kind: Pipeline` document.',
            }),
          );
          continue;
        }
        pipeline.source = source;
        if (valid.spec.maxParallel !== undefined) pipeline.maxParallel = valid.spec.maxParallel;
      }
    }
  }
  if (errors.length === 1 && errors[0]) throw errors[0];
  if (errors.length > 1) throw new ReprodErrors(errors);
  return { stages, pipeline };
}
