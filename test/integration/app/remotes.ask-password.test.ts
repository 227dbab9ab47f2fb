/**
 * `ask_password = true` as DVC has it, against real servers on loopback:
 * an HTTP remote (webdav-server with basic auth) gets the password typed at
 * a prompt, through the CLI's prompt port and through a real pseudo-terminal
 * (util-linux's `script`), never echoed; without a terminal the command
 * stops naming the remote and how to store the password. SSH (OpenSSH) asks
 * the same way, and says where the refused credentials came from.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main.js';
import type { Io } from '../../../src/cli/commands.js';
import { DAV_PASSWORD, DAV_USER, startDavServer } from '../../helpers/dav-server.js';
import { startSshServer } from '../../helpers/ssh-server.js';
import { reprod, reprodOk, tempDir, writeFiles } from '../../helpers/workspace.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');

const ok = reprodOk;

/** The CLI in-process with a prompt that answers `password` and records the questions. */
async function withPrompt(ws: string, password: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string; questions: string[] }> {
  let stdout = '';
  let stderr = '';
  const questions: string[] = [];
  const io: Io = {
    out: (s) => void (stdout += s),
    err: (s) => void (stderr += s),
    exitCode: 0,
    askPassword: async (q) => {
      questions.push(q);
      return password;
    },
  };
  const code = await main(['-C', ws, ...args], io);
  return { code, stdout, stderr, questions };
}

async function httpWorkspace(ws: string, origin: string): Promise<void> {
  writeFiles(ws, { 'dvc.yaml': 'stages:\n  gen:\n    cmd: mkdir -p out && echo one > out/a && echo two > out/b\n    outs:\n      - out\n' });
  await ok(ws, 'remote', 'add', '-d', 'web', `${origin}/store`);
  await ok(ws, 'remote', 'modify', 'web', 'auth', 'basic');
  await ok(ws, 'remote', 'modify', 'web', 'ask_password', 'true');
  await ok(ws, 'remote', 'modify', '--local', 'web', 'user', DAV_USER);
  await ok(ws, '--runtime', 'host', 'repro');
}

/** Runs the CLI on a pseudo-terminal; types `password` once the prompt shows. */
function onTerminal(ws: string, password: string, ...args: string[]): Promise<{ code: number | null; output: string }> {
  const cmd = [process.execPath, '--import', 'tsx', path.join(ROOT, 'src/cli/run.ts'), '-C', ws, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  let typed = false;
  const onOutput = (d: Buffer) => {
    output += d.toString();
    if (!typed && output.includes("(remote 'web'): ")) {
      typed = true;
      child.stdin.write(`${password}\r`);
    }
  };
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

describe('ask_password', () => {
  it('HTTP: the password typed at the prompt is used for the command; none is stored', async () => {
    await using server = await startDavServer({ flavour: 'http' });
    using ws = tempDir();
    await httpWorkspace(ws.path, server.origin);
    const push = await withPrompt(ws.path, DAV_PASSWORD, 'push');
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toBe('3 files pushed\n');
    expect(push.questions).toEqual([`Password for '${DAV_USER}' at ${new URL(server.origin).host} (remote 'web'): `]);
    expect(readFileSync(path.join(ws.path, '.dvc', 'config.local'), 'utf8')).not.toContain('password');

    rmSync(path.join(ws.path, '.dvc', 'cache'), { recursive: true });
    rmSync(path.join(ws.path, 'out'), { recursive: true });
    const wrong = await withPrompt(ws.path, 'not-it-Kx7', 'pull');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/remote 'web' \(.*\/store\) refused the credentials \(from the terminal\): HTTP 401/);
    expect(`${wrong.stdout}${wrong.stderr}`).not.toContain('not-it-Kx7');
    const pull = await withPrompt(ws.path, DAV_PASSWORD, 'pull');
    expect(pull.code, pull.stderr).toBe(0);
    expect(readFileSync(path.join(ws.path, 'out', 'b'), 'utf8')).toBe('two\n');
  });

  it('HTTP: without a terminal the command stops, naming the remote and how to store the password', async () => {
    await using server = await startDavServer({ flavour: 'http' });
    using ws = tempDir();
    await httpWorkspace(ws.path, server.origin);
    for (const args of [['push'], ['status', '-c']]) {
      const res = await reprod(ws.path, ...args);
      expect(res.code, args.join(' ')).toBe(1);
      expect(res.stderr).toContain("remote 'web': ask_password is set, and the password cannot be asked for here (no terminal, or an unattended run)");
      expect(res.stderr).toContain('`reprod remote modify --local web password …`');
    }
    // stored for this machine, as the hint says: no prompt needed
    await ok(ws.path, 'remote', 'modify', '--local', 'web', 'password', DAV_PASSWORD);
    expect(await ok(ws.path, 'push')).toBe('3 files pushed\n');
  });

  it('HTTP on a real terminal: asks with echo off, and the push goes through', async () => {
    await using server = await startDavServer({ flavour: 'http' });
    using ws = tempDir();
    await httpWorkspace(ws.path, server.origin);
    const res = await onTerminal(ws.path, DAV_PASSWORD, 'push');
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain(`Password for '${DAV_USER}' at ${new URL(server.origin).host} (remote 'web'): `);
    expect(res.output).toContain('3 files pushed');
    // the terminal never showed what was typed
    expect(res.output).not.toContain(DAV_PASSWORD);
    const stored = readFileSync(path.join(server.dir, 'store', 'files', 'md5', '5b', 'bf5a52328e7439ae6e719dfe712200'), 'utf8');
    expect(createHash('md5').update(stored).digest('hex')).toBe('5bbf5a52328e7439ae6e719dfe712200');
  }, 90_000);

  it('SSH: asks too, and a refusal names the asked password among the sources', async () => {
    await using server = await startSshServer();
    using ws = tempDir();
    const saved = process.env.REPROD_SSH_KNOWN_HOSTS;
    process.env.REPROD_SSH_KNOWN_HOSTS = server.knownHosts;
    try {
      writeFiles(ws.path, { 'dvc.yaml': 'stages:\n  gen:\n    cmd: echo one > a.txt\n    outs:\n      - a.txt\n' });
      await ok(ws.path, 'remote', 'add', '-d', 'box', `ssh://${server.user}@127.0.0.1:${server.port}${server.dataDir}/p`);
      await ok(ws.path, 'remote', 'modify', 'box', 'keyfile', server.otherKeyfile);
      await ok(ws.path, 'remote', 'modify', 'box', 'allow_agent', 'false');
      await ok(ws.path, 'remote', 'modify', 'box', 'ask_password', 'true');
      await ok(ws.path, '--runtime', 'host', 'repro');
      const none = await reprod(ws.path, 'push');
      expect(none.code).toBe(1);
      expect(none.stderr).toContain("remote 'box': ask_password is set, and the password cannot be asked for here (no terminal, or an unattended run)");
      const asked = await withPrompt(ws.path, 'typed-pw-Q3', 'push');
      expect(asked.questions).toEqual([`Password for '${server.user}' at 127.0.0.1:${server.port} (remote 'box'): `]);
      expect(asked.code).toBe(1);
      expect(asked.stderr).toContain(`refused the credentials (from keyfile ${server.otherKeyfile}, password asked on the terminal)`);
      expect(`${asked.stdout}${asked.stderr}`).not.toContain('typed-pw-Q3');
      // with the right key the asked password is not needed, and the push goes through
      await ok(ws.path, 'remote', 'modify', 'box', 'keyfile', server.keyfile);
      const good = await withPrompt(ws.path, 'typed-pw-Q3', 'push');
      expect(good.code, good.stderr).toBe(0);
      expect(good.stdout).toBe('1 file pushed\n');
    } finally {
      if (saved === undefined) delete process.env.REPROD_SSH_KNOWN_HOSTS;
      else process.env.REPROD_SSH_KNOWN_HOSTS = saved;
    }
  });
});
