import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '../..');

/** The example pipeline's files, as a user's checkout has them. */
export const EXAMPLE = ['dvc.yaml', 'params.yaml', 'stages', 'manifests', '.dvc/config', '.dvcignore'];

export interface Ran {
  code: number;
  out: string;
  stdout: string;
}

/**
 * Runs a command without blocking the test worker's event loop (a blocked
 * worker cannot answer the test runner, which then reports a timeout).
 */
export function run(cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out: `${stdout}${stderr}`, stdout }));
  });
}

/** A copy of the example pipeline in a fresh folder (the workspace compose mounts at the same path). */
export function exampleWorkspace(): string {
  const ws = mkdtempSync(path.join(os.tmpdir(), 'reprod-e2e-'));
  // readable by others, as a clone is: stages never run as root, and in a workspace root owns they run as 65534
  chmodSync(ws, 0o755);
  for (const p of EXAMPLE) cpSync(path.join(REPO, p), path.join(ws, p), { recursive: true });
  return ws;
}

/** `docker-compose` with this repository's compose file, run from the workspace as the README says, in its own project. */
export function compose(ws: string, project: string, ...args: string[]): Promise<Ran> {
  return run('docker-compose', ['-f', path.join(REPO, 'docker-compose.yml'), '--project-directory', REPO, '-p', project, ...args], {
    cwd: ws,
    env: { ...process.env, PWD: ws, DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0' },
  });
}

/** Builds reprod's image from this checkout (registry or no registry: `npm run images` knows). */
export function buildReprodImage(): Promise<Ran> {
  return run('npm', ['run', 'images', '--', 'reprod'], { cwd: REPO });
}
