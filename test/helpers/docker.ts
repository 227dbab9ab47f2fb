import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import type { Logger, StageLogSink } from '../../src/core/ports.js';
import type { Stage } from '../../src/core/types.js';
import { assertEngineReachable, connectEngine } from '../../src/adapters/docker/engine.js';
import { LABEL } from '../../src/adapters/docker/labels.js';

/**
 * Test support for the Docker adapter: a real engine (tests fail, never skip,
 * when it is unreachable) and a tiny image built locally from the machine's
 * static busybox, so that no registry is needed.
 */

const BUSYBOX = process.env.REPROD_TEST_BUSYBOX ?? '/bin/busybox';

/** The engine, checked: throws (failing the test) when it does not answer. */
export async function engine(): Promise<Docker> {
  const docker = connectEngine();
  await assertEngineReachable(docker);
  return docker;
}

/** True when an ELF executable has no program interpreter, i.e. runs in an empty image. */
function isStaticElf(bytes: Buffer): boolean {
  if (bytes.length < 64 || bytes.readUInt32BE(0) !== 0x7f454c46 || bytes[4] !== 2) return false; // ELF64 only
  const phoff = Number(bytes.readBigUInt64LE(0x20));
  const phentsize = bytes.readUInt16LE(0x36);
  const phnum = bytes.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    if (bytes.readUInt32LE(phoff + i * phentsize) === 3) return false; // PT_INTERP
  }
  return true;
}

let busyboxRef: Promise<string> | undefined;

/**
 * `reprod-test/busybox:<hash>`: FROM scratch, a static busybox and its applets
 * in /bin, a world-writable /tmp. Built once per machine (the tag is the
 * binary's hash); the engine's classic builder, no registry.
 */
export function busyboxImage(docker: Docker): Promise<string> {
  busyboxRef ??= buildBusybox(docker);
  return busyboxRef;
}

async function imageExists(docker: Docker, ref: string): Promise<boolean> {
  try {
    await docker.getImage(ref).inspect();
    return true;
  } catch {
    return false;
  }
}

/** Builds `ref` from a temporary context filled by `fill`, with the engine's classic builder. */
async function buildFromScratch(docker: Docker, ref: string, fill: (ctx: string) => string[]): Promise<string> {
  const ctx = mkdtempSync(path.join(os.tmpdir(), 'reprod-image-'));
  try {
    const src = fill(ctx);
    const stream = await docker.buildImage({ context: ctx, src }, { t: ref, rm: true, forcerm: true, version: '1' });
    const output: unknown[] = await new Promise((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null, res: unknown[]) => (err ? reject(err) : resolve(res))),
    );
    const failed = output.find((o) => typeof o === 'object' && o !== null && 'error' in o);
    if (failed) throw new Error(`building ${ref} failed: ${JSON.stringify(failed)}`);
    return ref;
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

let nodeRef: Promise<string> | undefined;

/**
 * `reprod-test/node:<hash>`: FROM scratch, this machine's node binary and the
 * shared libraries it links (from ldd), an empty /tmp. Enough to run reprod's
 * TypeScript with tsx from a bind-mounted checkout: reprod inside a container.
 */
export function nodeImage(docker: Docker): Promise<string> {
  nodeRef ??= buildNode(docker);
  return nodeRef;
}

async function buildNode(docker: Docker): Promise<string> {
  const node = process.execPath;
  const ref = `reprod-test/node:${createHash('sha256').update(readFileSync(node)).digest('hex').slice(0, 12)}`;
  if (await imageExists(docker, ref)) return ref;
  const libs = execFileSync('ldd', [node], { encoding: 'utf8' })
    .split('\n')
    .flatMap((l) => /(\/\S+) \(0x/.exec(l)?.slice(1, 2) ?? []);
  return buildFromScratch(docker, ref, (ctx) => {
    const files = ['/usr/bin/node', ...libs];
    for (const f of files) {
      mkdirSync(path.join(ctx, 'root', path.dirname(f)), { recursive: true });
      copyFileSync(f === '/usr/bin/node' ? node : f, path.join(ctx, 'root', f));
    }
    mkdirSync(path.join(ctx, 'root', 'tmp')); // reprod runs as root in it: the socket needs it
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY root/ /\n');
    return ['Dockerfile', 'root'];
  });
}

async function buildBusybox(docker: Docker): Promise<string> {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static (the Docker tests build their image from it)`);
  const bin = readFileSync(BUSYBOX);
  if (!isStaticElf(bin)) throw new Error(`${BUSYBOX} is not statically linked: apt-get install busybox-static`);
  const ref = `reprod-test/busybox:${createHash('sha256').update(bin).digest('hex').slice(0, 12)}`;
  if (await imageExists(docker, ref)) return ref;
  return buildFromScratch(docker, ref, (ctx) => {
    writeFileSync(path.join(ctx, 'busybox'), bin, { mode: 0o755 });
    writeFileSync(
      path.join(ctx, 'Dockerfile'),
      [
        'FROM scratch',
        'COPY busybox /bin/busybox',
        'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
        'RUN ["/bin/busybox", "sh", "-c", "mkdir -p /tmp /usr/bin /sbin /usr/sbin && chmod 1777 /tmp"]',
        '',
      ].join('\n'),
    );
    return ['Dockerfile', 'busybox'];
  });
}

/** A log sink that keeps what each stream received, in order. */
export function captureLog(): StageLogSink & { stdout: string; stderr: string; chunks: { stream: string; text: string }[] } {
  const sink = {
    stdout: '',
    stderr: '',
    chunks: [] as { stream: string; text: string }[],
    write(chunk: string, stream: 'stdout' | 'stderr') {
      sink[stream] += chunk;
      sink.chunks.push({ stream, text: chunk });
    },
  };
  return sink;
}

/** A logger that drops everything (pino's API slice). */
export const quietLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => quietLogger,
};

/** The containers the engine has for a workspace label (running or not). */
export async function reprodContainers(docker: Docker, hostWorkspace: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL.workspace}=${hostWorkspace}`] } });
}

/** A stage with only what the runtime reads. */
export function testStage(name: string, cmd: string | string[], extra: Partial<Stage> = {}): Stage {
  return {
    name,
    group: name.split('@')[0] ?? name,
    cmd,
    wdir: '.',
    deps: [],
    params: [],
    outs: [],
    frozen: false,
    alwaysChanged: false,
    source: { file: 'dvc.yaml' },
    ...extra,
  };
}

/**
 * `reprod-test/reprod:<hash>`: reprod's image (reprod/reprod:latest, built by
 * `npm run images`) with this checkout's `dist/` in place of its own, so that
 * what runs in containers is the code under test. Run `npm run build` first.
 */
export async function reprodImageOfCheckout(docker: Docker): Promise<string> {
  const repo = path.resolve(import.meta.dirname, '../..');
  const dist = path.join(repo, 'dist');
  if (!existsSync(path.join(dist, 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  const files = execFileSync('find', ['.', '-type', 'f'], { cwd: dist, encoding: 'utf8' }).split('\n').filter(Boolean).sort();
  const h = createHash('sha256');
  for (const f of files) h.update(f).update(readFileSync(path.join(dist, f)));
  const ref = `reprod-test/reprod:${h.digest('hex').slice(0, 12)}`;
  if (await imageExists(docker, ref)) return ref;
  return buildFromScratch(docker, ref, (ctx) => {
    execFileSync('cp', ['-a', dist, path.join(ctx, 'dist')]);
    writeFileSync(path.join(ctx, 'Dockerfile'), 'FROM reprod/reprod:latest\nRUN rm -rf /opt/reprod/dist\nCOPY dist /opt/reprod/dist\n');
    return ['Dockerfile', 'dist'];
  });
}

/** The Engine API's container create body (as test/fixtures/airflow-stub/load_dag.py prints docker-py's). */
export interface ContainerBody {
  Image: string;
  Cmd: string[] | null;
  Entrypoint: string[] | null;
  Env: string[];
  WorkingDir: string | null;
  User: string | null;
  Labels: Record<string, string>;
  HostConfig: { NetworkMode: string | null; Mounts: { Target: string; Source: string; Type: string; ReadOnly: boolean }[]; CpuShares?: number; Memory?: number };
}

/** Creates, starts and waits for a container from exactly `body`; removes it after. */
export async function runContainerBody(docker: Docker, body: ContainerBody): Promise<{ exitCode: number; output: string }> {
  const clean = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null));
  const c = await docker.createContainer({ ...clean, Labels: { ...body.Labels, 'reprod-test.container-body': 'true' } } as Docker.ContainerCreateOptions);
  try {
    await c.start();
    const { StatusCode } = (await c.wait()) as { StatusCode: number };
    const logs = await c.logs({ stdout: true, stderr: true, follow: false });
    return { exitCode: StatusCode, output: demux(logs) };
  } finally {
    await c.remove({ force: true });
  }
}

/** The engine's multiplexed log stream (8-byte frame headers) as text. */
function demux(buf: Buffer): string {
  let out = '';
  for (let i = 0; i + 8 <= buf.length; ) {
    const n = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + n).toString('utf8');
    i += 8 + n;
  }
  return out;
}
