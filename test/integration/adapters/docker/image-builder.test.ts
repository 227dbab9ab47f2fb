import { chmodSync, chownSync, existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerRuntime } from '../../../../src/adapters/docker/docker-runtime.js';
import { ImageBuilder, type ImageBuildRequest } from '../../../../src/adapters/docker/image-builder.js';
import { ReprodError } from '../../../../src/core/errors.js';
import { resolveStageRuntime } from '../../../../src/pipeline/stage-runtime.js';
import { busyboxImage, captureLog, engine, quietLogger, testStage } from '../../../helpers/docker.js';
import { tempDir } from '../../../helpers/workspace.js';

let docker: Docker;
let base: string;
const tags = new Set<string>();

beforeAll(async () => {
  docker = await engine();
  base = await busyboxImage(docker);
});

afterAll(async () => {
  for (const t of tags) await docker.getImage(t).remove({ force: true }).catch(() => undefined);
});

const signal = new AbortController().signal;

/** A context folder: a Dockerfile that copies the whole context to /ctx, some files, a .dockerignore. */
function context(root: string, group = 'grp'): ImageBuildRequest {
  mkdirSync(path.join(root, 'ignored'), { recursive: true });
  mkdirSync(path.join(root, 'src', 'deep'), { recursive: true });
  writeFileSync(path.join(root, 'Dockerfile'), `FROM ${base}\nARG GREETING=hello\nCOPY . /ctx\nRUN echo "$GREETING" > /greeting && echo built-step\n`);
  writeFileSync(path.join(root, '.dockerignore'), '# comment\nignored\n*.log\n!keep.log\n**/*.tmp\n');
  writeFileSync(path.join(root, 'data.txt'), 'data v1\n');
  writeFileSync(path.join(root, 'run.sh'), '#!/bin/sh\necho run\n');
  chmodSync(path.join(root, 'run.sh'), 0o755);
  writeFileSync(path.join(root, 'ignored', 'big.bin'), 'x'.repeat(1000));
  writeFileSync(path.join(root, 'debug.log'), 'noise\n');
  writeFileSync(path.join(root, 'keep.log'), 'kept\n');
  writeFileSync(path.join(root, 'src', 'deep', 'a.tmp'), 'tmp\n');
  writeFileSync(path.join(root, 'src', 'deep', `${'long-name-'.repeat(12)}.txt`), 'long\n');
  return { group, context: root, dockerfile: 'Dockerfile', args: {} };
}

async function ensure(builder: ImageBuilder, req: ImageBuildRequest) {
  const log = captureLog();
  const r = await builder.ensureBuilt(req, signal, log);
  tags.add(r.ref);
  return { ...r, log };
}

describe('ImageBuilder', () => {
  it('builds once per context: same context, same tag, no second build', async () => {
    using dir = tempDir('reprod-ctx-');
    const req = context(dir.path);
    const builder = new ImageBuilder(docker);
    const first = await ensure(builder, req);
    expect(first.built).toBe(true);
    expect(first.ref).toMatch(/^reprod\/grp:ctx-[0-9a-f]{12}$/);
    expect(first.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(first.log.stdout).toContain('built-step');
    expect(builder.builds).toBe(1);

    const again = await ensure(builder, req);
    expect(again).toMatchObject({ id: first.id, ref: first.ref, built: false });
    expect(builder.builds).toBe(1);

    // mtimes and ignored files are not part of the context
    utimesSync(path.join(dir.path, 'data.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    writeFileSync(path.join(dir.path, 'ignored', 'big.bin'), 'changed');
    writeFileSync(path.join(dir.path, 'debug.log'), 'more noise\n');
    const fresh = new ImageBuilder(docker);
    expect(await ensure(fresh, req)).toMatchObject({ ref: first.ref, built: false });
    expect(fresh.builds).toBe(0);

    // content, permission bits and build args are
    writeFileSync(path.join(dir.path, 'data.txt'), 'data v2\n');
    const changed = await ensure(builder, req);
    expect(changed.built).toBe(true);
    expect(changed.ref).not.toBe(first.ref);
    expect(changed.id).not.toBe(first.id);
    chmodSync(path.join(dir.path, 'data.txt'), 0o600);
    const mode = await ensure(builder, req);
    expect(mode.ref).not.toBe(changed.ref);
    const args = await ensure(builder, { ...req, args: { GREETING: 'bonjour' } });
    expect(args.ref).not.toBe(mode.ref);
    expect(builder.builds).toBe(4);
  });

  it('shares one build between concurrent requests for the same context', async () => {
    using dir = tempDir('reprod-ctx-');
    const req = context(dir.path, 'shared');
    writeFileSync(path.join(dir.path, 'data.txt'), `unique ${process.pid} ${Date.now()}\n`);
    const builder = new ImageBuilder(docker);
    const [a, b] = await Promise.all([ensure(builder, req), ensure(builder, req)]);
    expect(a.id).toBe(b.id);
    expect(builder.builds).toBe(1);
  });

  it('sends what .dockerignore lets through, with modes and long names, and passes build args', async () => {
    using dir = tempDir('reprod-ctx-');
    chownSync(dir.path, 1234, 1234);
    const req = { ...context(dir.path, 'Look_At@Me'), args: { GREETING: 'bonjour' } };
    const rt = new DockerRuntime({
      docker,
      workspace: dir.path,
      logger: quietLogger,
      resolve: () => ({
        kind: 'container',
        image: { kind: 'build', group: req.group, context: '.', dockerfile: 'Dockerfile', args: req.args },
        settings: { network: 'none', env: {} },
        reason: 'test',
      }),
    });
    const log = captureLog();
    const stage = testStage('look', 'cd /ctx && find . | sort && cat /greeting && stat -c %a run.sh');
    const prepared = await rt.prepare(stage, signal, log);
    if (prepared.kind !== 'container') throw new Error('expected a container runtime');
    const id = prepared.imageId;
    expect(prepared.identity.key).toMatch(/^ctx:[0-9a-f]{64}$/);
    expect(await rt.identify(stage, signal)).toEqual(prepared.identity);
    expect(log.stdout).toContain('Step 1/');
    const tag = (await docker.getImage(id).inspect()).RepoTags?.[0] ?? '';
    tags.add(tag);
    expect(tag).toMatch(/^reprod\/look-at-me:ctx-[0-9a-f]{12}$/);
    const out = captureLog();
    const res = await rt.run({ stage, prepared, workspace: dir.path, runId: 'r1', env: {}, log: out, signal });
    expect(res.outcome).toEqual({ kind: 'exited', exitCode: 0 });
    expect(res.runtime).toBe(id);
    expect(out.stdout.split('\n')).toEqual([
      '.',
      './.dockerignore',
      './Dockerfile',
      './data.txt',
      './keep.log',
      './run.sh',
      './src',
      './src/deep',
      `./src/deep/${'long-name-'.repeat(12)}.txt`,
      'bonjour',
      '755',
      '',
    ]);
  });

  it('builds a stage from stages/<group>/ by convention', async () => {
    using ws = tempDir('reprod-ws-');
    const folder = path.join(ws.path, 'stages', 'gen');
    mkdirSync(folder, { recursive: true });
    // an entrypoint would wrap the command: the stage's cmd runs as DVC runs it, in /bin/sh -c
    writeFileSync(path.join(folder, 'Dockerfile'), `FROM ${base}\nRUN echo gen > /which\nENTRYPOINT ["/bin/echo", "wrapped"]\n`);
    const rt = new DockerRuntime({
      docker,
      workspace: ws.path,
      logger: quietLogger,
      resolve: (stage) => resolveStageRuntime(stage, new Map(), (g) => existsSync(path.join(ws.path, 'stages', g, 'Dockerfile'))),
    });
    const small = await rt.prepare(testStage('gen@small', 'true'), signal);
    const big = await rt.prepare(testStage('gen@big', 'true'), signal);
    if (small.kind !== 'container' || big.kind !== 'container') throw new Error('expected container runtimes');
    expect(big.imageId).toBe(small.imageId);
    tags.add((await docker.getImage(small.imageId).inspect()).RepoTags?.[0] ?? '');
    expect(rt.builder.builds).toBe(1);
    expect((await rt.prepare(testStage('other', 'true'), signal)).kind).toBe('host');
    const log = captureLog();
    const res = await rt.run({ stage: testStage('gen@big', 'cat /which'), prepared: big, workspace: ws.path, runId: 'r', env: {}, log, signal });
    expect(res).toMatchObject({ outcome: { kind: 'exited', exitCode: 0 }, runtime: big.imageId });
    expect(log.stdout).toBe('gen\n');
  });

  it('turns a failing build into an IMAGE_BUILD error with the engine\'s message', async () => {
    using dir = tempDir('reprod-ctx-');
    writeFileSync(path.join(dir.path, 'Dockerfile'), `FROM ${base}\nRUN echo about to fail && exit 7\n`);
    const log = captureLog();
    const err = await new ImageBuilder(docker)
      .ensureBuilt({ group: 'bad', context: dir.path, dockerfile: 'Dockerfile', args: {} }, signal, log)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).code).toBe('IMAGE_BUILD');
    expect((err as ReprodError).message).toMatch(/building image reprod\/bad:ctx-[0-9a-f]{12} from .* failed: .*returned a non-zero code: 7/);
    expect(log.stdout).toContain('about to fail');
  });

  it('says so when the Dockerfile is missing', async () => {
    using dir = tempDir('reprod-ctx-');
    const err = await new ImageBuilder(docker)
      .ensureBuilt({ group: 'none', context: dir.path, dockerfile: 'Dockerfile', args: {} }, signal)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).message).toBe(`no Dockerfile at ${dir.path}/Dockerfile`);
  });
});
