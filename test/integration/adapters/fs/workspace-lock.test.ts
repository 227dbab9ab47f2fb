/**
 * The workspace lock with real processes: two `reprod repro` at once, reprod
 * against a python3 process that locks `.dvc/tmp/lock` as zc.lockfile (and so
 * DVC) does, a live DVC entry in `.dvc/tmp/rwlock`, and a holder killed with
 * SIGKILL. Stages wait on a gate file outside the workspace, so that every
 * overlap is made on purpose, never by timing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FlockWorkspaceLock } from '../../../../src/adapters/fs/workspace-lock.js';
import { daemonPassLease } from '../../../../src/app/workspace-lock.js';
import type { LockHolder } from '../../../../src/core/ports.js';
import { parseLockfile } from '../../../../src/lock/lockfile.js';
import { reprod as reprodInProcess, tempDir } from '../../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../../..');
const CLI = path.join(REPO, 'src/cli/run.ts');

interface Proc {
  child: ChildProcess;
  out(): string;
  err(): string;
  exited: Promise<number>;
}

function start(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? REPO, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => void (out += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => void (err += d));
  const exited = new Promise<number>((resolve) => child.on('close', (code, sig) => resolve(code ?? (sig ? 128 : -1))));
  return { child, out: () => out, err: () => err, exited };
}

function reprod(ws: string, ...args: string[]): Proc {
  return start(process.execPath, ['--import', 'tsx', CLI, '-C', ws, '--runtime', 'host', ...args], { env: { REPROD_LOCK_WAIT: '' } });
}

/** Resolves once `cond` holds; fails (naming `what`) after 30 s. */
async function until(what: string, cond: () => boolean, proc?: Proc): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${proc ? `\nstdout: ${proc.out()}\nstderr: ${proc.err()}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');

/**
 * A workspace whose one stage logs `start`, waits for `gate` (outside the
 * workspace), then writes its output and logs `end`.
 */
function gatedWorkspace(ws: string, gate: string): void {
  writeFileSync(path.join(ws, 'in.txt'), 'hello\n');
  const cmd = `echo start >> log.txt; while [ ! -e ${gate} ]; do sleep 0.02; done; tr a-z A-Z < in.txt > out.txt; echo end >> log.txt`;
  writeFileSync(path.join(ws, 'dvc.yaml'), `stages:\n  up:\n    cmd: ${JSON.stringify(cmd)}\n    deps: [in.txt]\n    outs: [out.txt]\n`);
}

/** A python3 process holding `.dvc/tmp/lock` exactly as zc.lockfile does; it releases when its stdin closes. */
function pythonHolder(ws: string): Proc {
  const script = [
    'import fcntl, os, sys',
    `p = ${JSON.stringify(path.join(ws, '.dvc/tmp/lock'))}`,
    'os.makedirs(os.path.dirname(p), exist_ok=True)',
    'try:',
    "    fp = open(p, 'r+')",
    'except OSError:',
    "    fp = open(p, 'a+')",
    'fcntl.flock(fp.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)',
    "fp.write(' %s\\n' % os.getpid()); fp.truncate(); fp.flush()",
    "print('locked', flush=True)",
    'sys.stdin.read()',
  ].join('\n');
  return start('python3', ['-c', script]);
}

/** Whether a python3 process can take the lock now, as zc.lockfile tries it (LOCK_EX | LOCK_NB). */
function pythonCanLock(ws: string): boolean {
  const script = `import fcntl\nfp = open(${JSON.stringify(path.join(ws, '.dvc/tmp/lock'))}, 'a+')\ntry:\n    fcntl.flock(fp.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    print('busy')\nelse:\n    print('free')`;
  const res = spawnSync('python3', ['-c', script], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(res.stderr);
  return res.stdout.trim() === 'free';
}

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');

/** Every cache object's content matches its md5 name. */
function cacheIsSound(ws: string): void {
  const base = path.join(ws, '.dvc/cache/files/md5');
  for (const f of readdirSync(base, { recursive: true }).map(String)) {
    const p = path.join(base, f);
    if (f.length < 4 || f.endsWith('.dir')) continue;
    expect(md5(readFileSync(p)), f).toBe(f.replace('/', ''));
  }
}

describe('workspace lock', () => {
  it('two reprod repro at once: the second waits, naming the holder, and the stage never runs twice at a time', async () => {
    using ws = tempDir('reprod-lock-');
    using aside = tempDir('reprod-gate-');
    const gate = path.join(aside.path, 'go');
    gatedWorkspace(ws.path, gate);
    const log = path.join(ws.path, 'log.txt');

    const first = reprod(ws.path, 'repro', '-f');
    await until('the first stage to start', () => read(log) === 'start\n', first);
    const second = reprod(ws.path, '--wait', '60', 'repro', '-f');
    await until('the second to wait for the lock', () => second.err().includes('Waiting for the workspace lock'), second);
    expect(second.err()).toMatch(new RegExp(`Waiting for the workspace lock: held by process ${first.child.pid} on host \\S+ \\(\\.dvc/tmp/lock\\)`));
    // the second waits while the first's stage runs: it has not started the stage
    expect(read(log)).toBe('start\n');

    writeFileSync(gate, '');
    expect(await first.exited, first.err()).toBe(0);
    expect(await second.exited, second.err()).toBe(0);
    expect(read(log)).toBe('start\nend\nstart\nend\n');
    expect(read(path.join(ws.path, 'out.txt'))).toBe('HELLO\n');
    expect(parseLockfile(read(path.join(ws.path, 'dvc.lock'))).stages.get('up')?.outs[0]?.md5).toBe(md5('HELLO\n'));
    cacheIsSound(ws.path);
  });

  it('refuses after the wait runs out, naming the holder; the stage ran once', async () => {
    using ws = tempDir('reprod-lock-');
    using aside = tempDir('reprod-gate-');
    const gate = path.join(aside.path, 'go');
    gatedWorkspace(ws.path, gate);
    const log = path.join(ws.path, 'log.txt');

    const first = reprod(ws.path, 'repro');
    await until('the first stage to start', () => read(log) === 'start\n', first);
    const second = reprod(ws.path, '--wait', '0.3', 'repro', '-f');
    const code = await second.exited;
    writeFileSync(gate, '');
    expect(await first.exited, first.err()).toBe(0);
    expect(code, second.err()).toBe(1);
    expect(second.err()).toMatch(new RegExp(`ERROR: the workspace is locked by process ${first.child.pid} on host \\S+ \\(\\.dvc/tmp/lock; waited 0\\.3 s\\)`));
    expect(second.err()).toMatch(/hint: Let process \d+ on host \S+ finish/);
    expect(read(log)).toBe('start\nend\n');
  });

  it('a python3 process holding the lock as zc.lockfile does makes reprod wait, then refuse, naming its pid', async () => {
    using ws = tempDir('reprod-lock-');
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  s:\n    cmd: echo x > s.txt\n    outs: [s.txt]\n');
    const py = pythonHolder(ws.path);
    try {
      await until('python3 to lock', () => py.out().includes('locked'), py);
      const refused = reprod(ws.path, '--wait', '0.2', 'repro');
      expect(await refused.exited, refused.err()).toBe(1);
      expect(refused.err()).toContain(`Waiting for the workspace lock: held by process ${py.child.pid} (a DVC command, or one that records no host) (.dvc/tmp/lock)`);
      expect(refused.err()).toContain(`ERROR: the workspace is locked by process ${py.child.pid} (a DVC command, or one that records no host) (.dvc/tmp/lock; waited 0.2 s)`);
      expect(existsSync(path.join(ws.path, 's.txt'))).toBe(false);

      // a waiting reprod proceeds once the holder lets go
      const waiting = reprod(ws.path, '--wait', '60', 'repro');
      await until('reprod to wait', () => waiting.err().includes('Waiting for the workspace lock'), waiting);
      py.child.stdin?.end();
      expect(await waiting.exited, waiting.err()).toBe(0);
      expect(read(path.join(ws.path, 's.txt'))).toBe('x\n');
    } finally {
      py.child.kill('SIGKILL');
    }
  });

  it('while reprod holds the lock, a python3 flock on it fails (as DVC would); after, it succeeds', async () => {
    using ws = tempDir('reprod-lock-');
    using aside = tempDir('reprod-gate-');
    const gate = path.join(aside.path, 'go');
    gatedWorkspace(ws.path, gate);
    const run = reprod(ws.path, 'repro');
    await until('the stage to start', () => read(path.join(ws.path, 'log.txt')) === 'start\n', run);
    expect(pythonCanLock(ws.path)).toBe(false);
    // the lock file names reprod as zc.lockfile's `{pid};{hostname}` template does
    expect(read(path.join(ws.path, '.dvc/tmp/lock'))).toMatch(new RegExp(`^ ${run.child.pid};\\S+\\n$`));
    writeFileSync(gate, '');
    expect(await run.exited, run.err()).toBe(0);
    expect(pythonCanLock(ws.path)).toBe(true);
  });

  it('a holder killed with SIGKILL leaves the lock free', async () => {
    using ws = tempDir('reprod-lock-');
    using aside = tempDir('reprod-gate-');
    const gate = path.join(aside.path, 'go');
    gatedWorkspace(ws.path, gate);
    const run = reprod(ws.path, 'repro');
    try {
      await until('the stage to start', () => read(path.join(ws.path, 'log.txt')) === 'start\n', run);
      expect(pythonCanLock(ws.path)).toBe(false);
      run.child.kill('SIGKILL');
      expect(await run.exited).toBe(128);
      // the stage's shell outlives reprod (its own process group) but never had the lock's descriptor
      expect(pythonCanLock(ws.path)).toBe(true);
      const held = await new FlockWorkspaceLock(ws.path).acquire({ waitMs: 0 });
      await held.release();
    } finally {
      writeFileSync(gate, '');
    }
  });

  it('waits for a live `dvc repro` recorded in .dvc/tmp/rwlock (DVC drops the lock while a command runs)', async () => {
    using ws = tempDir('reprod-lock-');
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  s:\n    cmd: echo x > s.txt\n    outs: [s.txt]\n');
    const sleeper = start('sleep', ['60']);
    try {
      mkdirSync(path.join(ws.path, '.dvc/tmp'), { recursive: true });
      const rw = { write: { [path.join(ws.path, 'b.txt')]: { pid: sleeper.child.pid, cmd: 'dvc repro' } } };
      writeFileSync(path.join(ws.path, '.dvc/tmp/rwlock'), JSON.stringify(rw));
      const refused = reprod(ws.path, '--wait', '0.2', 'repro');
      expect(await refused.exited, refused.err()).toBe(1);
      expect(refused.err()).toContain(`ERROR: the workspace is locked by process ${sleeper.child.pid}, running \`dvc repro\` (.dvc/tmp/rwlock; waited 0.2 s)`);
      expect(existsSync(path.join(ws.path, 's.txt'))).toBe(false);
      // the lock was given back: DVC is not shut out by the refused attempt
      expect(pythonCanLock(ws.path)).toBe(true);
    } finally {
      sleeper.child.kill('SIGKILL');
    }
    await sleeper.exited;
    // an entry whose process is gone does not hold the workspace
    const ran = reprod(ws.path, '--wait', '0', 'repro');
    expect(await ran.exited, ran.err()).toBe(0);
  });

  it('read-only commands take no lock: status and a dry run answer while the lock is held', async () => {
    using ws = tempDir('reprod-lock-');
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  s:\n    cmd: echo x > s.txt\n    outs: [s.txt]\n');
    const py = pythonHolder(ws.path);
    try {
      await until('python3 to lock', () => py.out().includes('locked'), py);
      for (const args of [['status'], ['repro', '--dry'], ['dag'], ['validate']]) {
        const p = reprod(ws.path, '--wait', '0', ...args);
        expect(await p.exited, `${args.join(' ')}: ${p.err()}`).toBe(0);
        expect(p.err()).not.toContain('workspace lock');
      }
      const checkout = reprod(ws.path, '--wait', '0', 'checkout');
      expect(await checkout.exited).toBe(1);
      expect(checkout.err()).toContain('the workspace is locked');
    } finally {
      py.child.kill('SIGKILL');
    }
  });

  it("refuses a workspace whose DVC locks with hard links (core.hardlink_lock), which a flock does not exclude", async () => {
    using ws = tempDir('reprod-lock-');
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  s:\n    cmd: echo x > s.txt\n    outs: [s.txt]\n');
    mkdirSync(path.join(ws.path, '.dvc'));
    writeFileSync(path.join(ws.path, '.dvc/config'), '[core]\n    hardlink_lock = True\n');
    const res = await reprodInProcess(ws.path, '--runtime', 'host', 'repro');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('ERROR: .dvc/config sets core.hardlink_lock');
    expect(existsSync(path.join(ws.path, 's.txt'))).toBe(false);
    expect(existsSync(path.join(ws.path, '.dvc/tmp/lock'))).toBe(false);
  });

  it("the daemon's pass lease holds the lock from a pass's start to its end, waits (saying for whom) while DVC holds it, and stops waiting on abort", async () => {
    using ws = tempDir('reprod-lock-');
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages: {}\n');
    const ac = new AbortController();
    const waits: LockHolder[] = [];
    const lease = daemonPassLease(ws.path, { signal: ac.signal, onWait: (h) => waits.push(h) });
    await Promise.all([lease.enter(), lease.enter()]);
    expect(pythonCanLock(ws.path)).toBe(false);
    await lease.leave();
    expect(pythonCanLock(ws.path)).toBe(true);

    const py = pythonHolder(ws.path);
    try {
      await until('python3 to lock', () => py.out().includes('locked'), py);
      const entering = lease.enter();
      await until('the lease to wait', () => waits.length > 0);
      expect(waits).toEqual([{ pid: py.child.pid, hostname: undefined, raw: String(py.child.pid) }]);
      ac.abort(new Error('stopping'));
      await expect(entering).rejects.toThrow('stopping');
      expect(lease.active).toBe(false);
    } finally {
      py.child.kill('SIGKILL');
    }
  });

  it("as root (reprod's compose container), gives what it creates to the workspace's owner, so that DVC run by that user can lock", async () => {
    expect(process.getuid?.(), 'this test runs as root, as CI and the compose container do').toBe(0);
    using ws = tempDir('reprod-lock-');
    chownSync(ws.path, 4321, 4321);
    const held = await new FlockWorkspaceLock(ws.path).acquire({ waitMs: 0 });
    await held.release();
    for (const p of ['.dvc', '.dvc/tmp', '.dvc/tmp/lock']) {
      const st = statSync(path.join(ws.path, p));
      expect([p, st.uid, st.gid]).toEqual([p, 4321, 4321]);
    }
  });

  it('never writes the lock through a symlink out of the workspace', async () => {
    using ws = tempDir('reprod-lock-');
    using outside = tempDir('reprod-outside-');
    mkdirSync(path.join(ws.path, '.dvc'));
    symlinkSync(outside.path, path.join(ws.path, '.dvc/tmp'));
    await expect(new FlockWorkspaceLock(ws.path).acquire({ waitMs: 0 })).rejects.toThrow(/\.dvc\/tmp leads outside the workspace/);
    expect(readdirSync(outside.path)).toEqual([]);

    using ws3 = tempDir('reprod-lock-');
    symlinkSync(outside.path, path.join(ws3.path, '.dvc'));
    await expect(new FlockWorkspaceLock(ws3.path).acquire({ waitMs: 0 })).rejects.toThrow(/\.dvc leads outside the workspace/);
    expect(readdirSync(outside.path)).toEqual([]);

    using ws2 = tempDir('reprod-lock-');
    mkdirSync(path.join(ws2.path, '.dvc/tmp'), { recursive: true });
    writeFileSync(path.join(outside.path, 'victim'), 'keep\n');
    symlinkSync(path.join(outside.path, 'victim'), path.join(ws2.path, '.dvc/tmp/lock'));
    await expect(new FlockWorkspaceLock(ws2.path).acquire({ waitMs: 0 })).rejects.toThrow(/cannot open the workspace lock/);
    expect(readFileSync(path.join(outside.path, 'victim'), 'utf8')).toBe('keep\n');
  });
});
