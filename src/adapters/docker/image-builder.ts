import type Docker from 'dockerode';
import { ReprodError } from '../../core/errors.js';
import type { Logger, StageLogSink } from '../../core/ports.js';
import { ContextMemo, packBuildContext, scanBuildContext, type BuildContext } from './build-context.js';
import { engineError, engineMessage, engineStatus } from './engine.js';
import { LABEL } from './labels.js';

export interface ImageBuildRequest {
  /** Names the image: `reprod/<group>:ctx-…`. */
  group: string;
  /** Absolute path of the context folder (as reprod sees it: the context is streamed, not bind-mounted). */
  context: string;
  /** Relative to the context. */
  dockerfile: string;
  args: Readonly<Record<string, string>>;
}

export interface EnsuredImage {
  /** The engine's image ID, `sha256:…`. */
  id: string;
  /** The reference it was found or built under. */
  ref: string;
  /** True when this call built it. */
  built: boolean;
}

export interface ImageBuilderOptions {
  logger?: Logger;
  /** Network of the build's RUN steps (default `host`: package managers need the network, and the default bridge may have none). */
  networkMode?: string;
}

/** The label that records the context hash an image was built from. */
export const CONTEXT_LABEL = 'reprod.build-context';

/** `reprod/<group>:ctx-<12 hex>`: the group made a valid repository name. */
export function imageTag(group: string, contextHash: string): string {
  const repo = group.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'stage';
  return `reprod/${repo}:ctx-${contextHash.slice(0, 12)}`;
}

/** One line of the engine's `/build` and `/images/create` progress streams. */
interface ProgressLine {
  stream?: string;
  status?: string;
  error?: string;
  errorDetail?: { message?: string };
}

function parseProgress(line: string): ProgressLine | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { stream: `${line}\n` }; // not JSON: pass the text through
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const out: ProgressLine = {};
  if ('stream' in v && typeof v.stream === 'string') out.stream = v.stream;
  if ('status' in v && typeof v.status === 'string') out.status = v.status;
  if ('error' in v && typeof v.error === 'string') out.error = v.error;
  if ('errorDetail' in v && typeof v.errorDetail === 'object' && v.errorDetail !== null && 'message' in v.errorDetail && typeof v.errorDetail.message === 'string') {
    out.errorDetail = { message: v.errorDetail.message };
  }
  return out;
}

/**
 * Follows a progress stream to its end: text goes to `log`, and the first
 * error the engine reports is returned (the HTTP status is 200 even then).
 */
async function followProgress(stream: NodeJS.ReadableStream, log: StageLogSink | undefined): Promise<string | undefined> {
  let rest = '';
  let error: string | undefined;
  const handle = (line: string): void => {
    if (line.trim() === '') return;
    const p = parseProgress(line);
    if (!p) return;
    if (p.error !== undefined || p.errorDetail?.message !== undefined) {
      error ??= p.errorDetail?.message ?? p.error;
      log?.write(`${p.errorDetail?.message ?? p.error ?? ''}\n`, 'stderr');
    } else if (p.stream !== undefined) {
      log?.write(p.stream, 'stdout');
    } else if (p.status !== undefined) {
      log?.write(`${p.status}\n`, 'stdout');
    }
  };
  for await (const chunk of stream) {
    rest += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      handle(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
  }
  handle(rest);
  return error;
}

/**
 * Builds stage images with the engine's classic builder, tagged by the hash
 * of their context ({@link imageTag}): an image is built only when its tag is
 * missing, so an unchanged context never rebuilds, and a changed one gets a
 * new tag and a new ID. Concurrent requests for the same tag share one build
 * (and the first requester's AbortSignal).
 */
export class ImageBuilder {
  /** Builds started by this instance: what tests and metrics count. */
  builds = 0;
  private readonly inFlight = new Map<string, Promise<EnsuredImage>>();
  /** Context hashes by what their files' stats were: identify and prepare, stage after stage, read the files once. */
  private readonly memo = new ContextMemo();

  constructor(
    private readonly docker: Docker,
    private readonly opts: ImageBuilderOptions = {},
  ) {}

  /** The ID of the image at `ref`, or undefined when the engine has none. */
  async imageId(ref: string): Promise<string | undefined> {
    try {
      const info = await this.docker.getImage(ref).inspect();
      return info.Id;
    } catch (err) {
      if (engineStatus(err) === 404) return undefined;
      throw engineError(err, `inspecting image ${ref}`);
    }
  }

  /** The tag and context hash a build context would give, without building (reads the context's files only). */
  async contextOf(req: ImageBuildRequest): Promise<{ tag: string; hash: string }> {
    const ctx = await scanBuildContext(req.context, req.dockerfile, req.args, this.memo);
    return { tag: imageTag(req.group, ctx.hash), hash: ctx.hash };
  }

  /** Makes sure the image of a build context exists; output of a build goes to `log`. */
  async ensureBuilt(req: ImageBuildRequest, signal: AbortSignal, log?: StageLogSink, onBuilding?: (image: string) => void): Promise<EnsuredImage & { contextHash: string }> {
    const ctx = await scanBuildContext(req.context, req.dockerfile, req.args, this.memo);
    const tag = imageTag(req.group, ctx.hash);
    const existing = await this.imageId(tag);
    if (existing) return { id: existing, ref: tag, built: false, contextHash: ctx.hash };
    // built here, or by another stage of the same group: either way this stage waits for a build
    onBuilding?.(tag);
    let pending = this.inFlight.get(tag);
    if (!pending) {
      pending = this.build(tag, ctx, req, signal, log).finally(() => this.inFlight.delete(tag));
      this.inFlight.set(tag, pending);
    }
    return { ...(await pending), contextHash: ctx.hash };
  }

  /** Makes sure a named image exists, pulling it when the engine has none. */
  async ensurePulled(ref: string, signal: AbortSignal, log?: StageLogSink): Promise<EnsuredImage> {
    const existing = await this.imageId(ref);
    if (existing) return { id: existing, ref, built: false };
    let error: string | undefined;
    try {
      const stream = await this.docker.pull(ref, { abortSignal: signal });
      error = await followProgress(stream, log);
    } catch (err) {
      error = engineMessage(err);
    }
    const id = error === undefined ? await this.imageId(ref) : undefined;
    if (!id) {
      throw new ReprodError('RUNTIME', `image ${ref} is not in the engine and could not be pulled: ${error ?? 'no image after the pull'}`, {
        remedy: `Build or load ${ref} (docker build / docker load), or name another image in the manifest.`,
      });
    }
    return { id, ref, built: false };
  }

  private async build(tag: string, ctx: BuildContext, req: ImageBuildRequest, signal: AbortSignal, log?: StageLogSink): Promise<EnsuredImage> {
    this.builds++;
    const logger = this.opts.logger?.child({ image: tag });
    logger?.info({ context: req.context }, 'building image');
    let error: string | undefined;
    try {
      const stream = await this.docker.buildImage(packBuildContext(ctx), {
        t: tag,
        dockerfile: req.dockerfile,
        buildargs: { ...req.args },
        labels: { [LABEL.managed]: 'true', [CONTEXT_LABEL]: ctx.hash },
        networkmode: this.opts.networkMode ?? 'host',
        rm: true,
        forcerm: true,
        pull: false,
        version: '1',
        abortSignal: signal,
      });
      error = await followProgress(stream, log);
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw engineError(err, `building image ${tag} from ${req.context}`);
    }
    if (error !== undefined) {
      // the engine built and said no: the Dockerfile's doing, which retrying the same context cannot fix
      throw new ReprodError('IMAGE_BUILD', `building image ${tag} from ${req.context} failed: ${error}`, {
        remedy: `Fix ${req.context}/${req.dockerfile} (the build output is in the stage's log).`,
      });
    }
    const id = await this.imageId(tag);
    if (!id) throw new ReprodError('RUNTIME', `the engine built ${tag} but has no image under that tag`);
    logger?.info({ imageId: id }, 'image built');
    return { id, ref: tag, built: true };
  }
}
