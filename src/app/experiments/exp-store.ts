import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { GitExperiments } from '../../adapters/git/git-exps.js';
import { GitRepo } from '../../adapters/git/git-repo.js';
import { WorkspaceTree } from '../../adapters/fs/workspace-tree.js';
import { ReprodError } from '../../core/errors.js';
import { isMissing } from '../../core/errno.js';
import { tempId } from '../../core/temp-id.js';
import type { ExpState } from '../../experiments/exp-table.js';
import type { RevTree } from '../../metrics/rev-tree.js';

/**
 * Where experiments live. In a git repository with a commit (that does not
 * ignore the workspace's dvc.yaml), a finished
 * experiment is a commit under `refs/exps/...` (DVC's layout, so `dvc exp
 * show` and `dvc exp apply` see it); without git, its files are kept under
 * `.dvc/tmp/exps/results/<name>/files/`. Either way a record
 * (`.dvc/tmp/exps/results/<name>/record.json`) keeps what git cannot: the
 * state (queued, failed), the run time, the -S values, and the hashes of the
 * files `exp apply` may overwrite as they were when the experiment started.
 */
export const EXPS_DIR = path.join('.dvc', 'tmp', 'exps');
export const RUN_DIR = path.join(EXPS_DIR, 'run');
export const RESULTS_DIR = path.join(EXPS_DIR, 'results');

export interface ExpRecord {
  name: string;
  /** The baseline commit, or `workspace` without git. */
  baseline: string;
  state: ExpState;
  /** ISO 8601, UTC. */
  created: string;
  durationMs?: number;
  /** The -S settings of this experiment, one value each (`train.C=0.1`). */
  overrides: string[];
  error?: { type: string; msg: string };
  /** The experiment's commit (git). */
  commit?: string;
  /** Workspace files the experiment changed: what `exp apply` writes. */
  changed: string[];
  /** sha256 of each changed file in the main workspace when the experiment started (null: absent). */
  baselineFiles: Record<string, string | null>;
}

/** An experiment found: its record (always, for reprod's own) and where its files are. */
export interface FoundExp {
  record: ExpRecord;
  tree: RevTree | undefined;
}

function isRecordJson(v: unknown): v is ExpRecord {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['name'] === 'string' && typeof o['baseline'] === 'string' && typeof o['state'] === 'string' && Array.isArray(o['overrides']) && Array.isArray(o['changed']);
}

export class ExpStore {
  readonly git: GitExperiments | undefined;
  readonly repo: GitRepo | undefined;

  constructor(readonly root: string) {
    const repo = GitRepo.discover(root);
    const git = repo && repo.hasCommits() ? new GitExperiments(repo) : undefined;
    // a workspace git ignores (say, a scratch folder inside another project) keeps its experiments as without git
    const own = git !== undefined && !git.ignores('dvc.yaml');
    this.repo = own ? repo : undefined;
    this.git = own ? git : undefined;
  }

  /** The baseline experiments start from: HEAD, or `workspace` without git. */
  baseline(): string {
    return this.git ? this.git.head() : 'workspace';
  }

  private recordDir(name: string): string {
    return path.join(this.root, RESULTS_DIR, name);
  }

  filesDir(name: string): string {
    return path.join(this.recordDir(name), 'files');
  }

  writeRecord(r: ExpRecord): void {
    const dir = this.recordDir(r.name);
    mkdirSync(dir, { recursive: true });
    const text = `${JSON.stringify(r, null, 2)}\n`;
    const tmp = path.join(dir, `.record.json.${tempId()}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, path.join(dir, 'record.json'));
  }

  readRecord(name: string): ExpRecord | undefined {
    const file = path.join(this.recordDir(name), 'record.json');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw new ReprodError('LOCK_CORRUPT', `${path.relative(this.root, file)} is not valid JSON`, { cause: e, remedy: `Remove the experiment with \`reprod exp remove ${name}\`.` });
    }
    if (!isRecordJson(v)) {
      throw new ReprodError('LOCK_CORRUPT', `${path.relative(this.root, file)} is not an experiment record`, { remedy: `Remove the experiment with \`reprod exp remove ${name}\`.` });
    }
    return v;
  }

  private recordNames(): string[] {
    try {
      return readdirSync(path.join(this.root, RESULTS_DIR)).filter((n) => !n.startsWith('.')).sort();
    } catch (e) {
      if (isMissing(e)) return [];
      throw e;
    }
  }

  /** Every name in use (records and refs): new experiments may not take them. */
  names(): Set<string> {
    const out = new Set(this.recordNames());
    for (const r of this.git?.list() ?? []) out.add(r.ref.name);
    return out;
  }

  /**
   * The experiments of `baseline` (default: the current one): reprod's
   * records, and in git every ref on that baseline (one made by `dvc exp run`
   * included). A record whose ref was removed (by `dvc exp remove`) is gone.
   */
  list(baseline = this.baseline()): FoundExp[] {
    const refs = new Map((this.git?.list() ?? []).filter((r) => r.ref.baseline === baseline).map((r) => [r.ref.name, r]));
    const out: FoundExp[] = [];
    for (const name of this.recordNames()) {
      const record = this.readRecord(name);
      if (!record || record.baseline !== baseline) continue;
      const ref = refs.get(name);
      refs.delete(name);
      if (record.state === 'success' && this.git && !ref) continue;
      if (ref) record.commit = ref.commit;
      out.push({ record, tree: this.treeOf(record) });
    }
    for (const [name, ref] of refs) {
      const record: ExpRecord = {
        name,
        baseline,
        state: 'success',
        created: new Date(ref.time * 1000).toISOString(),
        overrides: [],
        commit: ref.commit,
        changed: this.git?.changedFiles(baseline, ref.commit) ?? [],
        baselineFiles: {},
      };
      out.push({ record, tree: this.treeOf(record) });
    }
    return out.sort((a, b) => (a.record.created < b.record.created ? 1 : a.record.created > b.record.created ? -1 : a.record.name < b.record.name ? -1 : 1));
  }

  /** One experiment by name, of any baseline; a USAGE error naming it when there is none. */
  find(name: string): FoundExp {
    const record = this.readRecord(name);
    if (record && (record.state !== 'success' || !this.git || this.git.list().some((r) => r.ref.name === name))) {
      const ref = this.git?.list().find((r) => r.ref.name === name && r.ref.baseline === record.baseline);
      if (ref) record.commit = ref.commit;
      return { record, tree: this.treeOf(record) };
    }
    for (const r of this.git?.list() ?? []) {
      if (r.ref.name !== name) continue;
      const rec: ExpRecord = {
        name,
        baseline: r.ref.baseline,
        state: 'success',
        created: new Date(r.time * 1000).toISOString(),
        overrides: [],
        commit: r.commit,
        changed: this.git?.changedFiles(r.ref.baseline, r.commit) ?? [],
        baselineFiles: {},
      };
      return { record: rec, tree: this.treeOf(rec) };
    }
    throw new ReprodError('USAGE', `no experiment named '${name}'`, { remedy: 'See `reprod exp show` for the experiments there are.' });
  }

  private treeOf(r: ExpRecord): RevTree | undefined {
    if (r.state !== 'success') return undefined;
    if (this.repo && r.commit) return this.repo.tree(r.commit, r.name);
    const dir = this.filesDir(r.name);
    return existsSync(dir) ? new WorkspaceTree(dir) : undefined;
  }

  /** Removes an experiment: its record, its files and its ref. */
  remove(name: string): void {
    const found = this.find(name);
    if (this.git && found.record.commit) this.git.remove({ baseline: found.record.baseline, name });
    rmSync(this.recordDir(name), { recursive: true, force: true });
  }
}
