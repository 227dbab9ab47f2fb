import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';

/**
 * A Docker engine of a test's own, for fault tests: `dockerd` on a socket of
 * its own, with its own data root, no bridge and a network namespace of its
 * own, which the test may stop,
 * kill and start again. The machine's main engine is never touched (images
 * are copied from it with save | load).
 */
export class SecondEngine implements AsyncDisposable {
  readonly dir: string;
  readonly socket: string;
  readonly host: string;
  private proc: ChildProcess | undefined;
  private output = '';

  constructor() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'reprod-engine-'));
    this.socket = path.join(this.dir, 'docker.sock');
    this.host = `unix://${this.socket}`;
  }

  /** dockerd's pid: its network namespace (/proc/PID/ns/net) is the engine's, which `host` containers share. */
  get pid(): number {
    const pid = this.proc?.pid;
    if (pid === undefined || this.proc?.exitCode !== null) throw new Error('the second dockerd is not running');
    return pid;
  }

  /** Runs a command in the engine's network namespace (nothing else of ours changes: files, users, mounts). */
  inNetns(cmd: string, args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): { code: number; stdout: string; stderr: string } {
    const res = spawnSync('nsenter', [`--net=/proc/${this.pid}/ns/net`, '--', cmd, ...args], { encoding: 'utf8', ...opts });
    return { code: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
  }

  get docker(): Docker {
    return new Docker({ socketPath: this.socket });
  }

  /**
   * The containerd of a dockerd that died goes with it, but may linger a
   * moment (or as a zombie nobody reaps): a new dockerd that finds its pid
   * alive would wait on its dead socket. Waits for it, and drops its pid file.
   */
  private async forgetOldContainerd(): Promise<void> {
    const pidfile = path.join(this.dir, 'exec', 'containerd', 'containerd.pid');
    if (!existsSync(pidfile)) return;
    const pid = Number(readFileSync(pidfile, 'utf8').trim());
    const deadline = Date.now() + 5_000;
    const lingering = (): boolean => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return !/^\d+ \(.*\) Z /.test(stat);
      } catch {
        return false;
      }
    };
    while (pid > 0 && lingering() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    rmSync(pidfile, { force: true });
  }

  /** Starts dockerd (again, with the same data root) and waits until it answers. */
  async start(timeoutMs = 60_000): Promise<void> {
    const d = this.dir;
    await this.forgetOldContainerd();
    // in a network namespace of its own: a dockerd with --bridge=none removes the host's docker0,
    // which the machine's main engine needs for its bridge network
    this.proc = spawn(
      'unshare',
      [
        '--net',
        '--',
        'dockerd',
        '-H', this.host,
        '--data-root', path.join(d, 'data'),
        '--exec-root', path.join(d, 'exec'),
        '--pidfile', path.join(d, 'docker.pid'),
        '--bridge=none',
        '--iptables=false',
        '--ip-masq=false',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.proc.stdout?.on('data', (b: Buffer) => (this.output = (this.output + b.toString()).slice(-20_000)));
    this.proc.stderr?.on('data', (b: Buffer) => (this.output = (this.output + b.toString()).slice(-20_000)));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.docker.ping();
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`the second dockerd did not answer within ${timeoutMs} ms:\n${this.output}`);
        if (this.proc.exitCode !== null) throw new Error(`the second dockerd exited (${this.proc.exitCode}):\n${this.output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Starts it unless it answers. */
  async ensureRunning(): Promise<void> {
    try {
      await this.docker.ping();
    } catch {
      await this.start();
    }
  }

  /** Copies an image of the main engine into this one. */
  loadImage(ref: string): void {
    execFileSync('sh', ['-c', `docker save ${JSON.stringify(ref)} | docker -H ${JSON.stringify(this.host)} load`], { stdio: 'pipe' });
  }

  /** SIGKILL: dockerd dies as in a crash (its containerd and the containers' shims outlive it, as they do then). */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM: a graceful stop (the engine stops its containers first). */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  private async signal(sig: NodeJS.Signals): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
    p.kill(sig);
    await exited;
    this.proc = undefined;
  }

  private killStrays(): void {
    const pidfile = path.join(this.dir, 'exec', 'containerd', 'containerd.pid');
    if (existsSync(pidfile)) {
      const pid = Number(readFileSync(pidfile, 'utf8').trim());
      try {
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    try {
      execFileSync('sh', ['-c', `pkill -9 -f ${JSON.stringify(`containerd-shim.*${path.join(this.dir, 'exec')}`)} || true`]);
    } catch {
      // nothing to kill
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.signal('SIGKILL');
    // containerd (started by dockerd) and its shims go too: nothing outlives the test
    this.killStrays();
    try {
      execFileSync('sh', ['-c', `umount -l $(grep ${JSON.stringify(this.dir)} /proc/mounts | cut -d' ' -f2) 2>/dev/null || true`]);
    } catch {
      // nothing mounted
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
