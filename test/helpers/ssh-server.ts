/**
 * Debian's OpenSSH server on a loopback high port for tests, started as the
 * current user with its own host key, authorized key and config in a
 * temporary folder (no system files are used, nothing is left behind):
 * key auth only, SFTP through internal-sftp.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';

const SSHD = '/usr/sbin/sshd';

export interface SshTestServer extends AsyncDisposable {
  port: number;
  user: string;
  /** A private key the server accepts. */
  keyfile: string;
  /** A private key it does not. */
  otherKeyfile: string;
  /** A known_hosts file listing the server's key. */
  knownHosts: string;
  /** A folder for remotes (inside the temporary folder). */
  dataDir: string;
}

function keygen(file: string): void {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
}

/** Waits until the server answers with its SSH banner (not a sleep: polled connections). */
async function banner(port: number, child: ChildProcess, log: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited (${child.exitCode}): ${log()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('data', (d) => {
        s.destroy();
        resolve(d.toString().startsWith('SSH-'));
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not answer on port ${port}: ${log()}`);
}

export async function startSshServer(): Promise<SshTestServer> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install Debian's openssh-server (scripts/setup.sh does)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'reprod-sshd-'));
  keygen(path.join(dir, 'host'));
  keygen(path.join(dir, 'client'));
  keygen(path.join(dir, 'other'));
  writeFileSync(path.join(dir, 'authorized_keys'), readFileSync(path.join(dir, 'client.pub')));
  const port = await freePort();
  const user = os.userInfo().username;
  writeFileSync(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${dir}/host`,
      `PidFile ${dir}/sshd.pid`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const hostKey = readFileSync(path.join(dir, 'host.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  writeFileSync(path.join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir);
  // sshd insists on its privilege-separation folder
  mkdirSync('/run/sshd', { recursive: true });
  const child = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await banner(port, child, () => stderr);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    port,
    user,
    keyfile: path.join(dir, 'client'),
    otherKeyfile: path.join(dir, 'other'),
    knownHosts: path.join(dir, 'known_hosts'),
    dataDir,
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
