import type { ExecFileSyncOptions } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';

/*
 * Every git command reprod runs. reprod as root (its compose container, or
 * `sudo reprod`) in a repository someone else owns runs git as that owner:
 * git refuses a repository of another user ("detected dubious ownership"),
 * rightly so, since a repository's config can make git run programs
 * (core.fsmonitor, hooks) and they would run as root; and whatever git
 * writes (the objects and refs of an experiment) then belongs to the
 * repository's owner, as everything else reprod writes in a workspace. The
 * owner's home comes from /etc/passwd (a nonexistent one when the uid has no
 * entry, as in a container), so git reads the owner's config and never
 * root's.
 */

export interface GitRunOptions {
  input?: Buffer | string;
  env?: NodeJS.ProcessEnv;
  maxBuffer?: number;
  /** stderr: piped (into the error thrown) unless 'ignore'. */
  stderr?: 'pipe' | 'ignore';
}

interface Identity {
  uid: number;
  gid: number;
  home: string;
}

/** The owner to run git as for a folder, when reprod is root and the folder is another user's. */
export function gitIdentity(cwd: string, uid: number | undefined = process.getuid?.()): Identity | undefined {
  if (uid !== 0) return undefined;
  let st;
  try {
    st = statSync(cwd);
  } catch {
    return undefined;
  }
  if (st.uid === 0) return undefined;
  return { uid: st.uid, gid: st.gid, home: homeOf(st.uid) ?? '/nonexistent' };
}

function homeOf(uid: number): string | undefined {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length >= 7 && Number(f[2]) === uid && f[5]) return f[5];
  }
  return undefined;
}

/** `git -c core.quotepath=off ARGS` in `cwd`: names as they are, no pager, no prompts, no locale surprises. */
export function runGit(cwd: string, args: readonly string[], opts: GitRunOptions = {}): Buffer {
  const who = gitIdentity(cwd);
  const env: NodeJS.ProcessEnv = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_PAGER: 'cat', LC_ALL: 'C', ...opts.env };
  if (who) {
    env['HOME'] = who.home;
    delete env['XDG_CONFIG_HOME'];
  }
  const options: ExecFileSyncOptions = {
    cwd,
    maxBuffer: opts.maxBuffer ?? 64 * 1024 * 1024,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', opts.stderr ?? 'pipe'],
    env,
    ...(opts.input !== undefined ? { input: opts.input } : {}),
    ...(who ? { uid: who.uid, gid: who.gid } : {}),
  };
  // node:child_process is loaded with the first git command, not with every module that may run one
  return process.getBuiltinModule('node:child_process').execFileSync('git', ['-c', 'core.quotepath=off', ...args], options) as Buffer;
}
