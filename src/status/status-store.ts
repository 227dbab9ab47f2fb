import { stringify } from 'yaml';
import { ReprodError } from '../core/errors.js';
import { toPlain } from '../core/pyvalue.js';
import type { Logger, Workspace } from '../core/ports.js';
import { checkSchema, problemText } from '../pipeline/schema-errors.js';
import { loadYaml } from '../pipeline/yaml-load.js';
import type { PipelineStatusDoc, StageStatusDoc, StatusDoc } from './status-docs.js';
import { errorMessage } from '../core/errno.js';

export const STATUS_DIR = 'status';
const PIPELINE_PATH = `${STATUS_DIR}/pipeline.yaml`;

/** Errors of a document against schemas/status.schema.json, `key: message; …` ('' when valid). */
export function statusSchemaErrors(doc: unknown): string {
  const checked = checkSchema('status', doc);
  return checked.valid ? '' : problemText(checked.problems);
}

export function serializeStatus(doc: StatusDoc): string {
  return stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

export function stageStatusPath(stage: string): string {
  return `${STATUS_DIR}/${stage}.yaml`;
}

export function stageLogPath(stage: string): string {
  return `${STATUS_DIR}/logs/${stage}.log`;
}

function isKind<K extends StatusDoc['kind']>(doc: unknown, kind: K): doc is Extract<StatusDoc, { kind: K }> {
  return typeof doc === 'object' && doc !== null && (doc as { kind?: unknown }).kind === kind && statusSchemaErrors(doc) === '';
}

/**
 * Reads and writes status manifests. Every document is validated against the
 * schema before it is written (a bug here must not publish a bad manifest),
 * written atomically, and rewritten only when its text changes. A previous
 * file that is missing, unreadable or invalid is treated as absent (it is
 * reprod's own output, rebuilt from the workspace) and logged.
 *
 * status/pipeline.yaml lists every stage: the document last written there
 * is kept with its text, and while the file still reads the same it is not
 * parsed again (the returned document is shared: callers only read it).
 *
 * A stage's file is read when its stage is planned and again when its status
 * is written: the document read is kept with its text until that write, so
 * it is parsed once, and a new document with the same content as the file
 * is found unchanged without being serialized (a file whose values are
 * unchanged keeps its layout).
 */
export class StatusStore {
  private pipelineWritten: { text: string; doc: PipelineStatusDoc } | undefined;
  /** Stage files read and not yet written again: their text and their document. */
  private readonly readDocs = new Map<string, { text: string; doc: StageStatusDoc }>();

  constructor(
    private readonly ws: Workspace,
    private readonly log?: Logger,
  ) {}

  /** Parses a status file (its text when already read). */
  private async read(path: string, known?: string): Promise<unknown> {
    try {
      const text = known ?? (await this.ws.readText(path));
      if (text === undefined) return undefined;
      return toPlain(loadYaml(text, path, { written: true }).value);
    } catch (e) {
      // reprod's own output: what cannot be read (bad YAML, not UTF-8) is rebuilt; an I/O error is not this case
      if (!(e instanceof ReprodError)) throw e;
      this.log?.warn({ path, err: errorMessage(e) }, 'ignoring an unreadable status file');
      return undefined;
    }
  }

  /** The file's text as it is, undefined when absent or not UTF-8 (then it is simply rewritten). */
  private async readRaw(path: string): Promise<string | undefined> {
    try {
      return await this.ws.readText(path);
    } catch (e) {
      if (e instanceof ReprodError && e.code === 'ENCODING') return undefined;
      throw e;
    }
  }

  async readStage(stage: string): Promise<StageStatusDoc | undefined> {
    const path = stageStatusPath(stage);
    const text = await this.readRaw(path);
    const kept = this.readDocs.get(path);
    if (text !== undefined && kept?.text === text) return kept.doc;
    // absent or not UTF-8: read() says which (and logs the unreadable one)
    const doc = await this.read(path, text);
    if (text === undefined || !isKind(doc, 'StageStatus')) {
      this.readDocs.delete(path);
      return undefined;
    }
    this.readDocs.set(path, { text, doc });
    return doc;
  }

  async readPipeline(): Promise<PipelineStatusDoc | undefined> {
    const text = await this.readRaw(PIPELINE_PATH);
    // checked against the schema when it was written
    if (text !== undefined && this.pipelineWritten?.text === text) return this.pipelineWritten.doc;
    // absent or not UTF-8: read() says which (and logs the unreadable one)
    const doc = await this.read(PIPELINE_PATH, text);
    return isKind(doc, 'PipelineStatus') ? doc : undefined;
  }

  /** Writes a document when its content changed; returns whether it wrote. */
  async write(doc: StatusDoc): Promise<boolean> {
    const errors = statusSchemaErrors(doc);
    if (errors) {
      throw new ReprodError('SCHEMA', `refusing to write an invalid ${doc.kind} for '${doc.metadata.name}': ${errors}`, {
        source: { file: 'schemas/status.schema.json' },
        remedy: 'This is a bug in reprod: please report it with the message above.',
      });
    }
    const path = doc.kind === 'PipelineStatus' ? PIPELINE_PATH : stageStatusPath(doc.metadata.name);
    const raw = await this.readRaw(path);
    const kept = this.readDocs.get(path);
    this.readDocs.delete(path);
    if (kept !== undefined && kept.text === raw && JSON.stringify(kept.doc) === JSON.stringify(doc)) return false;
    const text = serializeStatus(doc);
    const same = raw === text;
    if (!same) await this.ws.writeTextAtomic(path, text);
    if (doc.kind === 'PipelineStatus') this.pipelineWritten = { text, doc };
    return !same;
  }
}
