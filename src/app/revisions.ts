import { existsSync } from 'node:fs';
import path from 'node:path';
import { GitRepo } from '../adapters/git/git-repo.js';
import { WorkspaceTree } from '../adapters/fs/workspace-tree.js';
import { LocalCache } from '../adapters/cache/local-cache.js';
import { TrackedTree } from '../adapters/cache/tracked-tree.js';
import { ReprodError } from '../core/errors.js';
import type { Pipeline } from '../core/types.js';
import type { EncodedError } from '../metrics/data-file.js';
import { readText, type RevTree } from '../metrics/rev-tree.js';
import { dvcFileOutputs, lockedOutputs } from '../metrics/tracked-outs.js';
import { normalizeWsPath } from '../pipeline/paths.js';
import { parseDvcYaml } from '../pipeline/parse-dvc-yaml.js';
import { findPipelineFiles, workspaceIgnores } from './pipeline-files.js';
import { DVC_YAML, loadDvcConfig, usesGit } from './project.js';

/** One revision of the workspace: its files (cached outputs included) and its pipeline as it was then. */
export interface Revision {
  /** `workspace`, or the revision as named. */
  rev: string;
  tree: RevTree;
  pipelines: Pipeline[];
}

/**
 * The workspace and its git history, for the commands that compare
 * revisions (metrics, params, plots). Every revision is read from git and
 * the cache, never checked out: the workspace is not touched.
 */
export class Revisions {
  private repo: GitRepo | undefined | null = null;
  private readonly cache: LocalCache;
  private ws: Revision | undefined;
  /** Whether git's ignore rules apply when the workspace's dvc.yaml files are found (not under `core.no_scm`). */
  private readonly useGit: boolean;

  constructor(readonly root: string) {
    if (!existsSync(path.join(root, DVC_YAML)) && !existsSync(path.join(root, '.dvc'))) {
      throw new ReprodError('NO_PIPELINE', `no ${DVC_YAML} (and no .dvc folder) in ${root}`);
    }
    const config = loadDvcConfig(root);
    this.useGit = usesGit(config);
    const cacheDir = config.get('cache')?.get('dir');
    this.cache = new LocalCache({ root, ...(cacheDir ? { cacheDir: path.resolve(root, '.dvc', cacheDir) } : {}) });
  }

  /** The git repository, when the workspace is in one. */
  git(): GitRepo | undefined {
    if (this.repo === null) this.repo = GitRepo.discover(this.root);
    return this.repo;
  }

  /** The git repository; a GIT error naming the command when there is none. */
  requireGit(command: string): GitRepo {
    const repo = this.git();
    if (!repo) throw new ReprodError('GIT', `\`${command}\` compares git revisions, and ${this.root} is not in a git repository`);
    return repo;
  }

  /** The workspace as it is. A dvc.yaml or dvc.lock that does not load is an error here (with its file and line). */
  workspace(): Revision {
    this.ws ??= this.open(new WorkspaceTree(this.root));
    return this.ws;
  }

  /** A revision by name: `workspace`, or a git revision (`sha` when already resolved). */
  at(rev: string, sha?: string): Revision {
    if (rev === 'workspace') return this.workspace();
    const repo = this.requireGit(`revision ${rev}`);
    return this.open(repo.tree(sha ?? repo.resolve(rev), rev));
  }

  private open(base: RevTree): Revision {
    // the workspace's dvc.yaml files are found as DVC finds them; a revision's are every dvc.yaml git holds there
    const files = base.rev === 'workspace' && base instanceof WorkspaceTree ? findPipelineFiles(this.root, undefined, workspaceIgnores(this.root, this.useGit)) : pipelineFilesOf(base);
    const pipelines = pipelinesIn(base, files);
    const tree = new TrackedTree(
      base,
      () => [...lockedOutputs(pipelines, (file) => textOf(base, file)), ...dvcFileOutputs(dvcFilesIn(base))],
      (md5) => this.cache.objectPath(md5),
    );
    return { rev: base.rev, tree, pipelines };
  }
}

/**
 * The dvc.yaml files of a revision's tree, in walk order (a folder's own,
 * then its sub-folders by name), none inside `.dvc/`.
 */
function pipelineFilesOf(tree: RevTree): string[] {
  const dirs = tree
    .find('.')
    .filter((f) => (f === DVC_YAML || f.endsWith(`/${DVC_YAML}`)) && !f.startsWith('.dvc/') && !f.includes('/.dvc/'))
    .map((f) => (f === DVC_YAML ? [] : f.split('/').slice(0, -1)));
  const walkOrder = (a: string[], b: string[]): number => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as string) < (b[i] as string) ? -1 : 1;
    return a.length - b.length;
  };
  return dirs.sort(walkOrder).map((d) => (d.length === 0 ? DVC_YAML : `${d.join('/')}/${DVC_YAML}`));
}

/** Every pipeline a revision's tree holds (see pipelineFilesOf), each as its file writes it. */
export function pipelinesOfTree(tree: RevTree): Pipeline[] {
  return pipelinesIn(tree, pipelineFilesOf(tree));
}

/** The pipelines a tree holds: each dvc.yaml, templated with the params files of the same tree beside it. */
function pipelinesIn(tree: RevTree, files: readonly string[]): Pipeline[] {
  return files.flatMap((file) => {
    const text = textOf(tree, file);
    return text === undefined ? [] : [parseDvcYaml(text, { file, readFile: (rel) => textOf(tree, rel) })];
  });
}

/** The `.dvc` files a tree holds, with their text (looked for only when a read misses: see TrackedTree). */
function dvcFilesIn(tree: RevTree): { file: string; text: string }[] {
  return tree.find('.').flatMap((file) => {
    if (!file.endsWith('.dvc')) return [];
    const text = textOf(tree, file);
    return text === undefined ? [] : [{ file, text }];
  });
}

function textOf(tree: RevTree, file: string): string | undefined {
  try {
    return readText(tree, file);
  } catch (e) {
    if (e instanceof TypeError) throw new ReprodError('PARAMS_FILE', `'${file}' is not valid UTF-8`, { source: { file }, cause: e });
    throw e;
  }
}

/** A revision that could not be read at all (its dvc.yaml did not parse), as DVC records it. */
export function revisionError(e: unknown): EncodedError {
  if (e instanceof ReprodError) return { type: e.code, msg: e.message };
  throw e;
}

/** Paths named on the command line, as workspace paths; outside the workspace is an error. */
export function workspacePaths(paths: readonly string[]): string[] {
  return paths.map((p) => {
    const key = normalizeWsPath(p);
    if (key === undefined) throw new ReprodError('PATH_OUTSIDE', `'${p}' is outside the workspace`, { remedy: 'Name files inside the workspace, relative to its root.' });
    return key;
  });
}
