/**
 * docs/OWN_PROJECT.md's compose file, and the repository's own, as compose v1
 * reads them: valid, every variable reprod reads passed through (and only
 * when set), and a clear refusal naming PWD when it is unset.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFiles } from '../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const VARIABLES = ['MLFLOW_TRACKING_URI', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_PROFILE', 'REPROD_HOST_WORKSPACE'];

const DOC = () => readFileSync(path.join(REPO, 'docs/OWN_PROJECT.md'), 'utf8');

/** The one command of the doc's ```sh blocks that matches. */
function shownCommand(pattern: RegExp): string {
  const lines = [...DOC().matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] ?? '').split('\n'));
  const found = lines.filter((l) => pattern.test(l));
  if (found.length !== 1 || found[0] === undefined) throw new Error(`docs/OWN_PROJECT.md shows ${found.length} commands matching ${pattern}`);
  return found[0];
}

/** A project of one's own: one host stage, nothing built. */
function project(root: string): void {
  writeFiles(root, { 'dvc.yaml': 'stages:\n  up:\n    cmd: tr a-z A-Z < in.txt > up.txt\n    deps: [in.txt]\n    outs: [up.txt]\n', 'in.txt': 'hello\n' });
}

/** `reprod ARGS` as the doc shows it, found on the PATH as setup.sh leaves it. */
function onPath(...args: string[]) {
  return (cwd: string) => spawnSync('reprod', args, { cwd, encoding: 'utf8', env: { ...process.env, PATH: `/usr/local/bin:${process.env.PATH ?? ''}` } });
}

function snippet(): string {
  const text = DOC();
  const m = /```yaml\n([\s\S]*?)```/.exec(text);
  if (!m?.[1]) throw new Error('docs/OWN_PROJECT.md has no yaml block');
  return m[1];
}

/** `docker-compose config` of the file in `dir`, with `env` as the whole environment (plus PATH). */
function config(dir: string, env: Record<string, string>) {
  return spawnSync('docker-compose', ['config'], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, encoding: 'utf8' });
}

type Service = { environment?: Record<string, string | null>; working_dir?: string; volumes?: string[]; image?: string };

describe('compose files for a project', () => {
  for (const [what, text] of [
    ['the docs snippet', snippet],
    ["the repository's docker-compose.yml", () => readFileSync(path.join(REPO, 'docker-compose.yml'), 'utf8')],
  ] as const) {
    it(`${what}: valid for compose v1, passes each variable through only when set, and refuses an unset PWD by name`, () => {
      using ws = tempDir();
      writeFileSync(path.join(ws.path, 'docker-compose.yml'), text());
      const ok = config(ws.path, { PWD: ws.path, AWS_PROFILE: 'dev' });
      expect(ok.status, ok.stderr).toBe(0);
      const services = (parse(ok.stdout) as { services: Record<string, Service> }).services;
      for (const name of ['reprod', 'daemon']) {
        const s = services[name];
        expect(s?.image).toBe('reprod/reprod:latest');
        expect(s?.working_dir).toBe(ws.path);
        expect(s?.volumes?.join('\n')).toContain('/var/run/docker.sock');
        for (const v of VARIABLES) expect(Object.keys(s?.environment ?? {}), `${name} ${v}`).toContain(v);
        // set in the shell: its value; unset: no value, so the container has no such variable
        expect(s?.environment?.AWS_PROFILE).toBe('dev');
        expect(s?.environment?.AWS_REGION ?? null).toBeNull();
      }
      // the daemon's log is for people unless asked otherwise
      expect(services.daemon?.environment?.REPROD_LOG_FORMAT).toBe('pretty');
      const json = config(ws.path, { PWD: ws.path, REPROD_LOG_FORMAT: 'json' });
      expect((parse(json.stdout) as { services: Record<string, Service> }).services.daemon?.environment?.REPROD_LOG_FORMAT).toBe('json');
      const unset = config(ws.path, {});
      expect(unset.status).not.toBe(0);
      expect(unset.stderr).toMatch(/PWD is unset/);
    });
  }
});

describe('the commands of docs/OWN_PROJECT.md on a project of one\'s own', () => {
  it('reprod on the PATH: status, repro, status, and a daemon that keeps it up to date', async () => {
    using ws = tempDir();
    project(ws.path);
    const before = onPath('status')(ws.path);
    expect(before.status, before.stderr).toBe(0);
    expect(before.stdout).toMatch(/^up:\n/);
    const repro = onPath('repro')(ws.path);
    expect(repro.status, repro.stderr).toBe(0);
    expect(readFileSync(path.join(ws.path, 'up.txt'), 'utf8')).toBe('HELLO\n');
    expect(onPath('status')(ws.path).stdout).toBe('Data and pipelines are up to date.\n');

    const daemon = spawn('reprod', ['daemon', '--port', '0', '--debounce-ms', '50'], { cwd: ws.path, stdio: 'ignore', env: { ...process.env, PATH: `/usr/local/bin:${process.env.PATH ?? ''}` } });
    try {
      writeFileSync(path.join(ws.path, 'in.txt'), 'again\n');
      const deadline = Date.now() + 30_000;
      while (readFileSync(path.join(ws.path, 'up.txt'), 'utf8') !== 'AGAIN\n') {
        if (Date.now() > deadline) throw new Error('the daemon did not rerun the stage');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
    }
  }, 60_000);

  it('the docker run line, in the project folder, with the reprod image', () => {
    using ws = tempDir();
    project(ws.path);
    const res = spawnSync('sh', ['-c', shownCommand(/^docker run /)], { cwd: ws.path, encoding: 'utf8', env: { ...process.env, PWD: ws.path } });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^up:\n {4}dep new: in\.txt|^up:\n/);
  }, 120_000);

  it('the compose file: `docker-compose run --rm reprod status` in the project', () => {
    using ws = tempDir();
    project(ws.path);
    writeFileSync(path.join(ws.path, 'docker-compose.yml'), snippet());
    const res = spawnSync('docker-compose', ['run', '--rm', 'reprod', 'status'], { cwd: ws.path, encoding: 'utf8', env: { ...process.env, PWD: ws.path } });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/^up:\n/);
    // host networking: compose made no network for the project
    expect(execFileSync('docker', ['network', 'ls', '--format', '{{.Name}}'], { encoding: 'utf8' })).not.toContain(`${path.basename(ws.path).toLowerCase()}_default`);
    expect(existsSync(path.join(ws.path, 'up.txt'))).toBe(false);
  }, 120_000);
});
