/**
 * The daemon's log as a person and a script read it: `reprod daemon` as a
 * child process on a real workspace, its stages in busybox containers, its
 * stderr kept whole. Pretty: each stage's reason in words (old → new for a
 * param) and its output lines, prefixed by the stage. JSON: every line is a
 * JSON object that validates against schemas/log-line.schema.json, no plain
 * text among them, quiet passes at debug only, a failure with its message,
 * secrets in a stage's output redacted.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { busyboxImage, engine } from '../../helpers/docker.js';
import { tempDir, writeFiles } from '../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const SECRET = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY';

let image: string;
beforeAll(async () => {
  image = await busyboxImage(await engine());
});

const PIPELINE = `stages:
  prepare:
    cmd: echo "preparing the data"; tr a-z A-Z < raw.txt > prepared.txt
    deps: [raw.txt]
    outs: [prepared.txt]
  train:
    cmd: echo "training on $(cat prepared.txt)"; echo "key ${SECRET}" ; cp prepared.txt model.txt; echo "model saved" >&2
    deps: [prepared.txt]
    params: [train.C]
    outs: [model.txt]
`;

function workspace(root: string, trainCmd?: string): void {
  const manifests = ['prepare', 'train'].map((n) => `apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: ${n}}\nspec: {image: "${image}"}\n`).join('---\n');
  writeFiles(root, {
    'dvc.yaml': trainCmd ? PIPELINE.replace(/cmd: echo "training[^\n]*/, `cmd: ${trainCmd}`) : PIPELINE,
    'params.yaml': 'train:\n  C: 1.0\n',
    'raw.txt': 'hello\n',
    'manifests/stages.yaml': manifests,
  });
}

/** `reprod daemon` with `args`, stderr kept; stop() ends it with SIGTERM and gives its whole stderr. */
function daemon(root: string, args: string[], env: NodeJS.ProcessEnv = {}, global: string[] = []) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), '-C', root, ...global, 'daemon', '--port', '0', '--debounce-ms', '50', ...args], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, REPROD_TRACKING: 'off', REPROD_LOG_FORMAT: '', ...env },
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    stderr: () => err,
    async stop(): Promise<string> {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      return err;
    },
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

async function waitFor(what: string, check: () => boolean, log: () => string, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the log:\n${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const phase = (root: string, name: string): string | undefined => {
  const f = path.join(root, 'status', `${name}.yaml`);
  return existsSync(f) ? (parse(readFileSync(f, 'utf8')) as { status?: { phase?: string } } | null)?.status?.phase : undefined;
};
const lastRunId = (root: string, name: string): string | undefined => {
  const f = path.join(root, 'status', `${name}.yaml`);
  return existsSync(f) ? (parse(readFileSync(f, 'utf8')) as { status?: { lastRun?: { runId?: string } } } | null)?.status?.lastRun?.runId : undefined;
};

describe('the daemon log', () => {
  it('pretty: each stage says why it runs, in words (old → new), and its output lines follow, prefixed by the stage', async () => {
    using ws = tempDir('reprod-log-pretty-');
    workspace(ws.path);
    await using d = daemon(ws.path, ['--log-format', 'pretty'], { AWS_SECRET_ACCESS_KEY: SECRET });
    await waitFor('the first pass', () => phase(ws.path, 'train') === 'UpToDate', d.stderr);
    const first = lastRunId(ws.path, 'train');
    writeFileSync(path.join(ws.path, 'params.yaml'), 'train:\n  C: 0.5\n');
    await waitFor('train to run again', () => phase(ws.path, 'train') === 'UpToDate' && lastRunId(ws.path, 'train') !== first, d.stderr);
    const log = await d.stop();
    const lines = log.split('\n');

    // no JSON among the pretty lines, each one led by its time
    expect(lines.filter((l) => l.trim().startsWith('{'))).toEqual([]);
    expect(lines.filter((l) => l !== '').every((l) => /^\[\d{2}:\d{2}:\d{2}\.\d{3}\] (DEBUG|INFO|WARN|ERROR)/.test(l)), log).toBe(true);
    // the first pass: every input new, said of each stage
    expect(log).toMatch(/INFO: prepare: running stage \(raw\.txt added \([0-9a-f]{8}…\); out deleted: prepared\.txt\)/);
    expect(log).toMatch(/INFO: train: running stage \(prepared\.txt added \([0-9a-f]{8}…\); params\.yaml:train\.C added \(1\.0\); out deleted: model\.txt\)/);
    // the edit: the param by name, old → new
    expect(log).toMatch(/INFO: train: running stage \(params\.yaml:train\.C changed 1\.0 → 0\.5\)/);
    // output lines, both streams, prefixed by their stage; the secret a stage printed is redacted
    expect(log).toMatch(/INFO: prepare │ preparing the data$/m);
    expect(log).toMatch(/INFO: train │ training on HELLO$/m);
    expect(log).toMatch(/INFO: train │ model saved$/m);
    expect(log).toMatch(/INFO: train │ key \*\*\*$/m);
    expect(log).not.toContain(SECRET);
    expect(log).toMatch(/INFO: train: stage finished: ran in \d+\.\d s/);
    // the start-up: where it serves, in the same format
    expect(log).toMatch(/INFO: serving the web view, \/healthz and \/metrics {2}host=127\.0\.0\.1 port=\d+/);
    expect(log).toMatch(/INFO: web view {2}url=http:\/\/127\.0\.0\.1:\d+\/ actions=on open=http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{20,}/);
  }, 180_000);

  it('json: every line is a record of schemas/log-line.schema.json; quiet passes at debug; a failure carries its message', async () => {
    using ws = tempDir('reprod-log-json-');
    workspace(ws.path, 'echo "about to fail"; exit 3');
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
    const validate = ajv.compile(JSON.parse(readFileSync(path.join(REPO, 'schemas/log-line.schema.json'), 'utf8')) as object);
    // verbose: the debug lines are there to be checked too
    await using d = daemon(ws.path, ['--log-format', 'json'], {}, ['--verbose']);
    await waitFor('train to fail', () => phase(ws.path, 'train') === 'Failed', d.stderr);
    // a change of nothing a stage depends on: a pass that runs nothing
    writeFileSync(path.join(ws.path, 'unrelated.txt'), 'x\n');
    writeFileSync(path.join(ws.path, 'raw.txt'), 'hello\n');
    await new Promise((r) => setTimeout(r, 1500));
    const log = await d.stop();
    const lines = log.split('\n').filter((l) => l !== '');
    const records = lines.map((l) => {
      expect(() => JSON.parse(l), `not JSON: ${l}`).not.toThrow();
      return JSON.parse(l) as Record<string, unknown>;
    });
    for (const r of records) expect(validate(r), `${JSON.stringify(r)}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    const msgs = records.map((r) => r.msg);
    expect(msgs).toContain('serving the web view, /healthz and /metrics');
    expect(msgs).toContain('web view');
    const failed = records.find((r) => r.msg === 'stage finished' && r.stage === 'train');
    expect(failed).toMatchObject({ level: 40, outcome: 'failed', err: "dvc.yaml:6: stages.train: failed to reproduce 'train': the command failed with exit code 3" });
    expect(records).toContainEqual(expect.objectContaining({ msg: 'output', stage: 'train', stream: 'stdout', line: 'about to fail' }));
    expect(records.find((r) => r.msg === 'running stage' && r.stage === 'prepare')).toMatchObject({ why: [expect.stringMatching(/^raw\.txt added \([0-9a-f]{8}…\)$/), 'out deleted: prepared.txt'] });
    // the first pass ran something (info); the passes after it ran nothing, and say so at debug only (not shown at info)
    const passes = records.filter((r) => r.msg === 'pass finished');
    expect(passes[0]).toMatchObject({ level: 30, failed: 1 });
    expect(passes.length).toBeGreaterThan(1);
    for (const p of passes.slice(1)) expect(p).toMatchObject({ level: 20, ran: 0, restored: 0, failed: 0, cancelled: 0 });
  }, 180_000);

  it('refuses an unknown format, naming where it came from', async () => {
    using ws = tempDir('reprod-log-bad-');
    workspace(ws.path);
    for (const [args, env, where] of [
      [['--log-format', 'yaml'], {}, '--log-format'],
      [[], { REPROD_LOG_FORMAT: 'fancy' }, 'REPROD_LOG_FORMAT'],
    ] as const) {
      const started = Date.now();
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), '-C', ws.path, 'daemon', '--port', '0', ...args], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, REPROD_TRACKING: 'off', REPROD_LOG_FORMAT: '', ...env },
      });
      let err = '';
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(2);
      expect(err).toContain(`${where}: unknown log format`);
      expect(Date.now() - started).toBeLessThan(10_000);
    }
  }, 60_000);
});
