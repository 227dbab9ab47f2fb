import type Docker from 'dockerode';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ReprodError } from '../../core/errors.js';
import { engineError } from './engine.js';
import type { ImageBuilder } from './image-builder.js';

/**
 * reprod's runner, layered onto a stage's image: a `--data remote` task is
 * the stage's own image (its Python, its libraries) with `/opt/reprod-runner`
 * added, which holds reprod, the Node.js it runs on, `flock` (reprod's file
 * locks use it), and their own shared libraries and dynamic loader. The runner calls the loader directly,
 * so it works in any Linux image whatever its libc (Debian, Alpine's musl,
 * busybox), and the stage's command, started by it, sees only the image's own
 * libraries. The image keeps no ENTRYPOINT: tasks name the whole process.
 */
const DOCKERFILE = `# reprod's runner on a stage's image (written by \`reprod export --data remote\`)
ARG REPROD_IMAGE
ARG STAGE_IMAGE
FROM \${REPROD_IMAGE} AS reprod
LABEL reprod.build-stage=runner
RUN set -e; \\
    n="$(command -v node)"; r=/opt/reprod-runner; mkdir -p "$r/lib"; \\
    cp -L "$n" "$r/node"; \\
    for l in $(ldd "$n" | grep -o '/[^ ]*'); do cp -L "$l" "$r/lib/"; done; \\
    cp -L "$(ldd "$n" | grep -o '/[^ ]*ld-linux[^ ]*' | head -n 1)" "$r/lib/ld.so"; \\
    f="$(command -v flock)"; cp -L "$f" "$r/flock.bin"; \\
    for l in $(ldd "$f" | grep -o '/[^ ]*'); do cp -L "$l" "$r/lib/"; done; \\
    mkdir -p "$r/bin"; \\
    printf '#!/bin/sh\\nexec /opt/reprod-runner/lib/ld.so --library-path /opt/reprod-runner/lib /opt/reprod-runner/flock.bin "$@"\\n' > "$r/bin/flock"; \\
    cp -a /opt/reprod "$r/app"; \\
    printf '#!/bin/sh\\nPATH=/opt/reprod-runner/bin:$PATH; export PATH\\nexec /opt/reprod-runner/lib/ld.so --library-path /opt/reprod-runner/lib /opt/reprod-runner/node /opt/reprod-runner/app/bin/reprod.js "$@"\\n' > "$r/reprod"; \\
    chmod 755 "$r/reprod" "$r/bin/flock"; "$r/reprod" --version
FROM \${STAGE_IMAGE}
ARG STAGE_IMAGE_ID
ARG REPROD_IMAGE_ID
COPY --from=reprod /opt/reprod-runner /opt/reprod-runner
ENTRYPOINT []
CMD []
LABEL reprod.runner.stage-image=\${STAGE_IMAGE_ID} reprod.runner.reprod-image=\${REPROD_IMAGE_ID}
`;

export interface RunnerImageRequest {
  /** The stage's image: the tag reprod built or the manifest names, and its ID. */
  stageRef: string;
  stageId: string;
  /** reprod's image (its `/opt/reprod` is what the runner runs). */
  reprodImage: string;
  /** Names the result: `reprod/<group>-runner:ctx-…`. */
  group: string;
  /** A folder of the workspace's own for the build context (`.dvc/tmp/reprod/runner`). */
  contextDir: string;
}

/**
 * Builds (once per pair of image IDs: both are in the context's hash) the
 * runner image of a stage image, and returns its tag.
 */
export async function ensureRunnerImage(builder: ImageBuilder, req: RunnerImageRequest, signal: AbortSignal): Promise<string> {
  const reprodId = await builder.imageId(req.reprodImage);
  if (!reprodId) {
    throw new ReprodError('RUNTIME', `reprod's image ${req.reprodImage} is not in the engine`, {
      remedy: 'Build it (`npm run images`, or `docker build -t reprod/reprod .`), or name another with --reprod-image.',
    });
  }
  mkdirSync(req.contextDir, { recursive: true });
  writeFileSync(path.join(req.contextDir, 'Dockerfile'), DOCKERFILE);
  const out: string[] = [];
  try {
    const built = await builder.ensureBuilt(
      {
        group: `${req.group}-runner`,
        context: req.contextDir,
        dockerfile: 'Dockerfile',
        args: { REPROD_IMAGE: req.reprodImage, STAGE_IMAGE: req.stageRef, STAGE_IMAGE_ID: req.stageId, REPROD_IMAGE_ID: reprodId },
      },
      signal,
      { write: (chunk) => void out.push(chunk) },
    );
    return built.ref;
  } catch (e) {
    if (e instanceof ReprodError && e.code === 'IMAGE_BUILD') {
      throw new ReprodError('IMAGE_BUILD', `${e.message}\n${out.join('').slice(-4000)}`, {
        cause: e,
        remedy: `The runner needs /bin/sh in ${req.stageRef}, and node with ldd in ${req.reprodImage}.`,
      });
    }
    throw e;
  }
}

/** Tags `ref` into `registry` and pushes it there; returns the pushed reference. */
export async function pushToRegistry(docker: Docker, ref: string, registry: string, signal: AbortSignal): Promise<string> {
  const [repo, tag] = ref.split(':') as [string, string];
  const target = `${registry.replace(/\/+$/, '')}/${repo.replace(/^reprod\//, 'reprod-')}`;
  try {
    await docker.getImage(ref).tag({ repo: target, tag });
    const stream = await docker.getImage(`${target}:${tag}`).push({ abortSignal: signal });
    const text = await new Promise<string>((resolve, reject) => {
      let s = '';
      stream.on('data', (b: Buffer) => void (s += b.toString('utf8')));
      stream.on('end', () => resolve(s));
      stream.on('error', reject);
    });
    const failed = /"error(?:Detail)?"\s*:\s*(?:\{"message"\s*:\s*)?"([^"]*)"/.exec(text);
    if (failed) throw new ReprodError('RUNTIME', `pushing ${target}:${tag} failed: ${failed[1]}`, { remedy: `Log in to ${registry} (docker login), or check that it is reachable.` });
  } catch (e) {
    if (e instanceof ReprodError) throw e;
    throw engineError(e, `pushing ${target}:${tag}`);
  }
  return `${target}:${tag}`;
}
