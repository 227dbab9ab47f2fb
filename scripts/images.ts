/**
 * `npm run images [-- TARGET...]` builds the images this repository needs, in
 * dependency order, and is safe to run again (the base and Node images are
 * kept once made; the others are rebuilt, from the builder's cache when
 * nothing changed).
 *
 *   base    reprod/base:bookworm   scripts/base-image.sh (registry image or debootstrap)
 *   ml      reprod/ml-base:latest  stages/_base/Dockerfile, on the base
 *   stages  reprod/stage-<X>       each stages/<X>/Dockerfile, on ml-base
 *   node    reprod/node:20         the registry's node:20-bookworm-slim, or Node's
 *                                  official build from the npm registry on the base
 *   reprod  reprod/reprod:latest   the root Dockerfile, on the Node image
 *
 * A TARGET brings its prerequisites along (`stages` also makes base and ml);
 * no TARGET means all. Needs a Docker engine: scripts/docker-engine.sh starts
 * one. Builds use the classic builder (Debian's engine has no buildx) and the
 * host's network, so that apt and npm inside a build reach what the host reaches.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  baseImage,
  isStageFolder,
  mlBaseImage,
  nodeImage,
  registryNodeImage,
  reprodImage,
  buildStageImage,
  stageImage,
} from './image-names.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const pullTimeoutMs = 60_000;

type Target = 'base' | 'node' | 'reprod' | 'ml' | 'stages';
// reprod's own image last: it compiles src/, which fails for other reasons than images do.
const order: readonly Target[] = ['base', 'ml', 'stages', 'node', 'reprod'];
const prerequisites: Record<Target, readonly Target[]> = {
  base: [],
  node: ['base'],
  reprod: ['base', 'node'],
  ml: ['base'],
  stages: ['base', 'ml'],
};

interface Outcome {
  code: number;
  stdout: string;
}

/** Runs a command; its stderr (and its stdout unless captured) goes to ours. */
function run(
  cmd: string,
  args: readonly string[],
  opts: { capture?: boolean; timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd ?? repoRoot,
      env: opts.env ?? process.env,
      stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', 'inherit'],
      ...(opts.timeoutMs === undefined ? {} : { timeout: opts.timeoutMs }),
    });
    let stdout = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
}

async function mustRun(cmd: string, args: readonly string[], opts: Parameters<typeof run>[2] = {}): Promise<string> {
  const { code, stdout } = await run(cmd, args, opts);
  if (code !== 0) throw new Error(`\`${cmd} ${args.join(' ')}\` exited with ${code}`);
  return stdout;
}

async function imageExists(name: string): Promise<boolean> {
  return (await run('docker', ['image', 'inspect', name], { capture: true })).code === 0;
}

/**
 * Classic builder: Debian's engine has no buildx, which BuildKit would need.
 * --force-rm: a failed step leaves no container behind.
 */
async function build(tag: string, context: string, buildArgs: Record<string, string>): Promise<void> {
  const args = ['build', '--force-rm', '--network', 'host', '--tag', tag];
  for (const [key, value] of Object.entries(buildArgs)) args.push('--build-arg', `${key}=${value}`);
  args.push(context);
  await mustRun('docker', args, { env: { ...process.env, DOCKER_BUILDKIT: '0' } });
}

/** The npm package name part for the engine's CPU (not the host's: Docker Desktop runs a VM). */
async function engineArch(): Promise<'x64' | 'arm64'> {
  const arch = (await mustRun('docker', ['info', '--format', '{{.Architecture}}'], { capture: true })).trim();
  if (arch === 'x86_64' || arch === 'amd64') return 'x64';
  if (arch === 'aarch64' || arch === 'arm64') return 'arm64';
  throw new Error(`no Node build for the engine's architecture ${arch}`);
}

/**
 * The Node image: the registry's when it answers; otherwise the host's Node
 * version, as published on the npm registry (node-linux-<arch>, with the
 * host's npm version), unpacked on the local base.
 */
async function makeNodeImage(): Promise<void> {
  if (await imageExists(nodeImage)) {
    log(`${nodeImage} exists`);
    return;
  }
  const pulled = await run('docker', ['pull', '--quiet', registryNodeImage], { capture: true, timeoutMs: pullTimeoutMs });
  if (pulled.code === 0) {
    await mustRun('docker', ['tag', registryNodeImage, nodeImage]);
    log(`${nodeImage} tagged from ${registryNodeImage}`);
    return;
  }
  const nodeVersion = process.versions.node;
  const npmVersion = (await mustRun('npm', ['--version'], { capture: true })).trim();
  const nodePackage = `node-linux-${await engineArch()}@${nodeVersion}`;
  log(`no registry gives ${registryNodeImage}; building ${nodeImage} from ${nodePackage} and npm@${npmVersion}`);
  const context = await mkdtemp(join(tmpdir(), 'reprod-node-image-'));
  try {
    const packed = await mustRun(
      'npm',
      ['pack', '--json', '--pack-destination', context, nodePackage, `npm@${npmVersion}`],
      { capture: true, cwd: context },
    );
    const [nodeTgz, npmTgz] = packedFilenames(packed);
    await rename(join(context, nodeTgz), join(context, 'node.tgz'));
    await rename(join(context, npmTgz), join(context, 'npm.tgz'));
    await copyFile(join(repoRoot, 'scripts', 'node-image.Dockerfile'), join(context, 'Dockerfile'));
    await build(nodeImage, context, { BASE_IMAGE: baseImage });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** The two file names `npm pack --json` reports, in the order the specs were given. */
function packedFilenames(json: string): [string, string] {
  const parsed: unknown = JSON.parse(json);
  const names = Array.isArray(parsed)
    ? parsed.map((entry: unknown) =>
        typeof entry === 'object' && entry !== null && 'filename' in entry && typeof entry.filename === 'string'
          ? entry.filename
          : undefined,
      )
    : [];
  const [first, second] = names;
  if (names.length !== 2 || first === undefined || second === undefined) {
    throw new Error(`unexpected output of npm pack: ${json.slice(0, 200)}`);
  }
  return [first, second];
}

async function stageFolders(): Promise<string[]> {
  const stagesDir = join(repoRoot, 'stages');
  const names = (await readdir(stagesDir)).filter(isStageFolder).sort();
  const withDockerfile: string[] = [];
  for (const name of names) {
    const dockerfile = await stat(join(stagesDir, name, 'Dockerfile')).catch((error: unknown) => {
      if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (dockerfile?.isFile()) withDockerfile.push(name);
  }
  return withDockerfile;
}

const steps: Record<Target, () => Promise<void>> = {
  base: () => mustRun('bash', [join(repoRoot, 'scripts', 'base-image.sh'), baseImage]).then(() => undefined),
  node: makeNodeImage,
  reprod: async () => {
    await build(reprodImage, repoRoot, { NODE_IMAGE: nodeImage });
    // The build stage is left untagged (see the root Dockerfile). The newest
    // one is kept, tagged, so that the next build finds its layers (npm ci
    // runs again only when package-lock.json changes); older ones go.
    const stages = await mustRun('docker', ['images', '--filter', 'label=reprod.build-stage=reprod', '--format', '{{.ID}}'], { capture: true });
    const newest = stages.split('\n').find((l) => l.trim() !== '');
    if (newest !== undefined) await mustRun('docker', ['tag', newest.trim(), buildStageImage], { capture: true });
    await mustRun('docker', ['image', 'prune', '--force', '--filter', 'label=reprod.build-stage=reprod'], { capture: true });
  },
  ml: () => build(mlBaseImage, join(repoRoot, 'stages', '_base'), { BASE_IMAGE: baseImage }),
  stages: async () => {
    for (const stage of await stageFolders()) {
      await build(stageImage(stage), join(repoRoot, 'stages', stage), { ML_BASE: mlBaseImage });
    }
  },
};

function log(message: string): void {
  process.stderr.write(`images: ${message}\n`);
}

function parseTargets(argv: readonly string[]): Set<Target> {
  const wanted = new Set<Target>();
  for (const arg of argv.length === 0 ? order : argv) {
    const target = order.find((t) => t === arg);
    if (target === undefined) throw new Error(`unknown target ${arg}; use any of: ${order.join(' ')}`);
    wanted.add(target);
    for (const pre of prerequisites[target]) wanted.add(pre);
  }
  return wanted;
}

async function main(): Promise<void> {
  const wanted = parseTargets(process.argv.slice(2));
  if ((await run('docker', ['info'], { capture: true })).code !== 0) {
    throw new Error('no Docker engine answers `docker info`; start one with `bash scripts/docker-engine.sh`');
  }
  for (const target of order) {
    if (!wanted.has(target)) continue;
    const started = performance.now();
    await steps[target]();
    log(`${target} done in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  }
}

main().catch((error: unknown) => {
  log(`error: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
