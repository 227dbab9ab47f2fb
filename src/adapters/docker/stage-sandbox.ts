import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { errorMessage, hasErrno, isMissing } from '../../core/errno.js';
import { ReprodError } from '../../core/errors.js';
import type { FileOwner } from '../../core/ports.js';
import type { OutSpec } from '../../core/types.js';
import { giveTreeTo, mkdirOwned } from '../fs/file-owner.js';
import { checkStageCanRead, refuseEscapingLinks } from './sandbox-checks.js';

/**
 * What a stage container sees of the workspace, and what it may change.
 *
 *   <ws>                        the workspace, read-only
 *   <anchor>                    writable: a scratch folder of the run, in which
 *     <entry>                     every entry of the host folder is bound read-only
 *                                 over an empty placeholder (symlinks are copied;
 *                                 an existing `persist` out is bound read-write)
 *   .dvc/cache .dvc/tmp         empty read-only folders (a cache dir inside the workspace too)
 *   .dvc/config.local           an empty read-only file
 *   /tmp                        tmpfs
 *
 * An out's anchor is the deepest folder of its path that exists when the run
 * starts (executeStage has removed the outs by then). So the stage creates
 * its out, file or folder, and the folders on the way to it, as under DVC; it
 * may write temporary files beside it and rename them over it; and it can
 * change nothing that existed before, but for its `persist` outs. After a
 * successful run the declared outs, and only they, move from the scratch
 * folders into the workspace (one rename each: the scratch space is in
 * `.dvc/tmp`, on the workspace's filesystem) and are given to the workspace's
 * owner; whatever else the stage wrote is dropped, and named in its log.
 * A failed or cancelled run leaves nothing behind.
 *
 * The scratch folders are made the stage user's (or open to all, when reprod
 * is not root and the stage runs as another user or as a user the image names).
 */

/** Where runs keep their scratch space, workspace-relative: inside .dvc/tmp, which stages never see. */
export const SANDBOX_DIR = '.dvc/tmp/reprod/runs';

/** Hidden from every stage: DVC's cache, its temporary files (locks, reprod's state, the scratch space) and this machine's secrets. */
export const HIDDEN_PATHS: readonly string[] = ['.dvc/cache', '.dvc/tmp', '.dvc/config.local'];

/** The most entries of a folder an out is created in that a container is given (each is one mount). */
export const MAX_ANCHOR_ENTRIES = 512;

/** How many dropped paths the stage log names. */
const DROPPED_NAMED = 20;

export interface SandboxOptions {
  /** Absolute workspace root as reprod sees it. */
  workspace: string;
  /** The same folder on the engine's host: mount targets (the workspace is mounted at its host path). */
  hostWorkspace: string;
  /** The host path of one of reprod's paths (bind sources). */
  toHost(p: string): string;
  runId: string;
  stage: string;
  outs: readonly OutSpec[];
  /** Workspace-relative paths stages never see, besides {@link HIDDEN_PATHS}. */
  hidden?: readonly string[];
  /** The uid:gid the stage runs as; undefined for a user the image names. */
  stageUser: FileOwner | undefined;
  /** Whom the outs (and the scratch folders reprod keeps) are given to. */
  owner: FileOwner | undefined;
  /** This process's uid (tests pass another). */
  processUid?: number | undefined;
}

interface Anchor {
  /** Workspace-relative, real (symlinks resolved), '' for the root. */
  rel: string;
  /** The scratch folder mounted there (absolute, as reprod sees it). */
  scratch: string;
  /** Entry names in the scratch folder that reprod made (placeholders, copied symlinks). */
  made: Set<string>;
}

interface PlannedOut {
  path: string;
  anchor: Anchor;
  /** The out's path below its anchor. */
  rest: string;
}

const posixJoin = (...parts: string[]) => path.posix.join(...parts.filter((p) => p !== ''));
const isUnder = (p: string, dir: string) => dir === '' || p === dir || p.startsWith(`${dir}/`);

async function lstatOrUndefined(p: string) {
  try {
    return await fs.lstat(p);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch (e) {
    if (isMissing(e)) return false;
    throw e;
  }
}

/** The scratch folder name of a run. */
function runDirName(runId: string): string {
  return runId.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * Removes the scratch space of runs that are over (left by a killed reprod):
 * only a holder of the workspace lock may call it, since no other process is
 * in a pass then. Returns the run folders removed.
 */
export async function sweepSandboxes(workspace: string, activeRunIds: Iterable<string>): Promise<string[]> {
  const dir = path.join(workspace, ...SANDBOX_DIR.split('/'));
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
  const active = new Set([...activeRunIds].map(runDirName));
  const removed: string[] = [];
  for (const name of names) {
    if (active.has(name)) continue;
    await fs.rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** The per-run sandbox of one stage container (or of each command's container, in turn). */
export class StageSandbox {
  private readonly anchors = new Map<string, Anchor>();
  private readonly planned: PlannedOut[] = [];
  /** Existing `persist` outs: bound read-write, changed in place. */
  private readonly persisted = new Set<string>();
  private readonly hidden = new Set<string>();
  private readonly runDir: string;
  private readonly emptyDir: string;
  private readonly emptyFile: string;

  private constructor(private readonly o: SandboxOptions) {
    this.runDir = path.join(o.workspace, ...SANDBOX_DIR.split('/'), runDirName(o.runId));
    this.emptyDir = path.join(this.runDir, 'hidden-dir');
    this.emptyFile = path.join(this.runDir, 'hidden-file');
  }

  /** Plans the anchors and makes the scratch space; nothing in the workspace is touched. */
  static async create(o: SandboxOptions): Promise<StageSandbox> {
    const box = new StageSandbox(o);
    try {
      await box.setUp();
    } catch (e) {
      await box.dispose();
      throw e;
    }
    return box;
  }

  private abs(rel: string): string {
    return rel === '' ? this.o.workspace : path.join(this.o.workspace, ...rel.split('/'));
  }

  private target(rel: string): string {
    return rel === '' ? this.o.hostWorkspace : path.posix.join(this.o.hostWorkspace, rel);
  }

  private refuse(out: string, why: string): ReprodError {
    return new ReprodError('SANDBOX', `stage ${this.o.stage}: out ${out} ${why}`);
  }

  /** `rel`'s real path, workspace-relative; undefined when it leaves the workspace. */
  private async realRel(realRoot: string, rel: string): Promise<string | undefined> {
    const r = path.relative(realRoot, await fs.realpath(this.abs(rel)));
    if (r.startsWith('..') || path.isAbsolute(r)) return undefined;
    return r.split(path.sep).join('/');
  }

  private async setUp(): Promise<void> {
    await checkStageCanRead(this.o.stage, this.o.workspace, this.o.stageUser);
    const realRoot = await fs.realpath(this.o.workspace);
    for (const h of [...HIDDEN_PATHS, ...(this.o.hidden ?? [])]) {
      this.hidden.add(h);
      // a hidden folder that is a symlink to another folder of the workspace hides that folder too
      if ((await lstatOrUndefined(this.abs(h)))?.isSymbolicLink()) {
        const real = await this.realRel(realRoot, h).catch((e: unknown) => (isMissing(e) ? undefined : Promise.reject(e)));
        if (real !== undefined) this.hidden.add(real);
      }
    }
    await mkdirOwned(path.dirname(this.runDir), this.o.owner);
    // what a killed run of the same id left
    await fs.rm(this.runDir, { recursive: true, force: true });
    await fs.mkdir(this.runDir);
    await fs.mkdir(this.emptyDir, { mode: 0o555 });
    await fs.writeFile(this.emptyFile, '', { mode: 0o444 });

    for (const out of this.o.outs) {
      const p = out.path;
      if ([...this.hidden].some((h) => isUnder(p, h))) throw this.refuse(p, `lies in ${[...this.hidden].find((h) => isUnder(p, h))}, which stage containers never see`);
      const existing = out.persist ? await lstatOrUndefined(this.abs(p)) : undefined;
      let dir = path.posix.dirname(p);
      if (existing) {
        this.persisted.add(p);
      } else {
        while (dir !== '.' && !(await isDir(this.abs(dir)))) dir = path.posix.dirname(dir);
      }
      const anchorRel = dir === '.' ? '' : dir;
      const real = await this.realRel(realRoot, anchorRel);
      if (real === undefined) throw this.refuse(p, `would be written through ${anchorRel}, which leads outside the workspace`);
      if ([...this.hidden].some((h) => isUnder(real, h))) throw this.refuse(p, `would be written in ${real}, which stage containers never see`);
      const anchor = await this.anchor(real);
      if (!existing) this.planned.push({ path: p, anchor, rest: anchorRel === '' ? p : p.slice(anchorRel.length + 1) });
    }
  }

  private async anchor(rel: string): Promise<Anchor> {
    const known = this.anchors.get(rel);
    if (known) return known;
    const scratch = path.join(this.runDir, `anchor-${this.anchors.size}`);
    await fs.mkdir(scratch);
    const { stageUser, processUid = process.getuid?.() } = this.o;
    if (stageUser && processUid === 0) await fs.chown(scratch, stageUser.uid, stageUser.gid);
    else if (!stageUser || stageUser.uid !== processUid) await fs.chmod(scratch, 0o777);
    const a: Anchor = { rel, scratch, made: new Set() };
    this.anchors.set(rel, a);
    return a;
  }

  /**
   * The mounts of a container of this run, from the workspace as it is now:
   * call it for each container (an entry that vanished since the last call
   * is no longer bound; its placeholder goes).
   */
  async mounts(): Promise<Docker.MountSettings[]> {
    const mounts = new Map<string, Docker.MountSettings>();
    const bind = (source: string, rel: string, readOnly: boolean) => {
      const Target = this.target(rel);
      mounts.set(Target, { Type: 'bind', Source: this.o.toHost(source), Target, ReadOnly: readOnly });
    };
    const hiddenSource = (isDirectory: boolean) => (isDirectory ? this.emptyDir : this.emptyFile);
    if (!this.anchors.has('')) bind(this.o.workspace, '', true);
    for (const a of this.anchors.values()) {
      bind(a.scratch, a.rel, false);
      const entries: Dirent[] = await fs.readdir(this.abs(a.rel), { withFileTypes: true });
      if (entries.length > MAX_ANCHOR_ENTRIES) {
        throw new ReprodError(
          'SANDBOX',
          `stage ${this.o.stage}: an out is created in ${a.rel || 'the workspace root'}, which holds ${entries.length} entries; a stage container is given at most ${MAX_ANCHOR_ENTRIES} of them beside its outs`,
        );
      }
      const present = new Set(entries.map((e) => e.name));
      for (const name of a.made) {
        if (present.has(name)) continue;
        await fs.rm(path.join(a.scratch, name), { recursive: true, force: true });
        a.made.delete(name);
      }
      for (const e of entries) {
        const rel = posixJoin(a.rel, e.name);
        const spot = path.join(a.scratch, e.name);
        // an out not removed before the run (its runner's business): the stage writes it afresh, it replaces the old one
        if (this.planned.some((o) => o.path === rel)) continue;
        if (!a.made.has(e.name) && (await lstatOrUndefined(spot))) continue; // the stage's own (an earlier command wrote it)
        if (e.isSymbolicLink()) {
          if (!a.made.has(e.name)) await fs.symlink(await fs.readlink(this.abs(rel)), spot);
          a.made.add(e.name);
          continue;
        }
        if (!a.made.has(e.name)) {
          if (e.isDirectory()) await fs.mkdir(spot);
          else await fs.writeFile(spot, '');
          a.made.add(e.name);
        }
        if (this.anchors.has(rel)) continue; // its own scratch folder is mounted there
        if (this.hidden.has(rel)) bind(hiddenSource(e.isDirectory()), rel, true);
        else bind(this.abs(rel), rel, !this.persisted.has(rel));
      }
    }
    for (const h of this.hidden) {
      if (mounts.has(this.target(h))) continue;
      const st = await lstatOrUndefined(this.abs(h));
      if (st && !st.isSymbolicLink()) bind(hiddenSource(st.isDirectory()), h, true);
    }
    for (const p of this.persisted) if (!mounts.has(this.target(p))) bind(this.abs(p), p, false);
    if (this.o.hostWorkspace !== '/tmp') mounts.set('/tmp', { Type: 'tmpfs', Source: '', Target: '/tmp', TmpfsOptions: { SizeBytes: 0, Mode: 0o1777 } });
    return [...mounts.values()];
  }

  /**
   * After a successful run: moves each declared out the stage wrote into the
   * workspace, gives it to the workspace's owner, and returns what else the
   * stage wrote (dropped), workspace-relative.
   */
  async collect(): Promise<string[]> {
    const kept = new Set<string>();
    const realRoot = await fs.realpath(this.o.workspace);
    for (const o of this.planned) {
      const src = path.join(o.anchor.scratch, ...o.rest.split('/'));
      if (!(await lstatOrUndefined(src))) continue;
      const dst = this.abs(o.path);
      await refuseEscapingLinks({ stage: this.o.stage, workspace: this.o.workspace, realRoot, out: o.path }, src, dst);
      try {
        await mkdirOwned(path.dirname(dst), this.o.owner);
        await fs.rm(dst, { recursive: true, force: true });
        await fs.rename(src, dst);
        await giveTreeTo(this.o.owner, dst);
      } catch (cause) {
        throw new ReprodError('RUNTIME', `stage ${this.o.stage}: cannot move out ${o.path} into the workspace: ${errorMessage(cause)}`, {
          cause,
          remedy: hasErrno(cause, 'EACCES', 'EPERM') ? 'Run the stage as reprod\'s own user (leave out `user:` in its manifest), or run reprod as root.' : undefined,
        });
      }
      for (let d = path.posix.dirname(o.rest); d !== '.'; d = path.posix.dirname(d)) kept.add(`${o.anchor.rel}\0${d}`);
    }
    // changed in place: what the stage added there is the workspace owner's too
    for (const p of this.persisted) {
      await refuseEscapingLinks({ stage: this.o.stage, workspace: this.o.workspace, realRoot, out: p }, this.abs(p), this.abs(p));
      await giveTreeTo(this.o.owner, this.abs(p));
    }
    const dropped: string[] = [];
    for (const a of this.anchors.values()) {
      const walk = async (dir: string, rest: string): Promise<void> => {
        const entries = await fs.readdir(dir, { withFileTypes: true });
        if (entries.length === 0 && rest !== '' && !kept.has(`${a.rel}\0${rest}`)) dropped.push(`${posixJoin(a.rel, rest)}/`);
        for (const e of entries) {
          const r = posixJoin(rest, e.name);
          if (rest === '' && a.made.has(e.name)) continue;
          if (e.isDirectory()) await walk(path.join(dir, e.name), r);
          else dropped.push(posixJoin(a.rel, r));
        }
      };
      await walk(a.scratch, '');
    }
    return dropped.sort();
  }

  /** A line for the stage's log naming what `collect` dropped; '' when nothing was. */
  static droppedNote(dropped: readonly string[]): string {
    if (dropped.length === 0) return '';
    const named = dropped.slice(0, DROPPED_NAMED).join(', ');
    const more = dropped.length > DROPPED_NAMED ? ` and ${dropped.length - DROPPED_NAMED} more` : '';
    return `reprod: dropped what the stage wrote outside its outs (only declared outs are kept): ${named}${more}\n`;
  }

  /** Removes the scratch space (the run's containers are gone: nothing is mounted from it). */
  async dispose(): Promise<void> {
    await fs.rm(this.runDir, { recursive: true, force: true });
  }
}
