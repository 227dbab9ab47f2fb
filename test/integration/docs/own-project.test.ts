/**
 * docs/OWN_PROJECT.md's compose file, and the repository's own, as compose v1
 * reads them: valid, every variable reprod reads passed through (and only
 * when set), and a clear refusal naming PWD when it is unset.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const VARIABLES = ['MLFLOW_TRACKING_URI', 'AWS_SESSION_TOKEN', 'AWS_REGION', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_S3', 'AWS_PROFILE', 'REPROD_HOST_WORKSPACE'];

function snippet(): string {
  const text = readFileSync(path.join(REPO, 'docs/OWN_PROJECT.md'), 'utf8');
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
      const unset = config(ws.path, {});
      expect(unset.status).not.toBe(0);
      expect(unset.stderr).toMatch(/PWD is unset/);
    });
  }
});
