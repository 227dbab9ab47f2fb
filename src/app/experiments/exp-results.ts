import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LocalCache } from '../../adapters/cache/local-cache.js';
import { TrackedTree } from '../../adapters/cache/tracked-tree.js';
import { WorkspaceTree } from '../../adapters/fs/workspace-tree.js';
import { ReprodError } from '../../core/errors.js';
import type { Pipeline } from '../../core/types.js';
import type { DepInfo, ExpData, OutInfo, ShownBaseline, ShownExp } from '../../experiments/exp-table.js';
import { parseLockfile } from '../../lock/lockfile.js';
import { diffFiles, type DiffResult } from '../../metrics/diff.js';
import { gatherMetrics, gatherParams } from '../../metrics/results.js';
import { readText, type RevTree } from '../../metrics/rev-tree.js';
import { lockedOutputs } from '../../metrics/tracked-outs.js';
import { checkoutTracked } from '../../remote/checkout.js';
import { lockFileOf } from '../../pipeline/stage-address.js';
import { pipelinesOfTree } from '../revisions.js';
import { cachePathOf, loadDvcConfig, withProject } from '../project.js';
import { ExpStore, type FoundExp } from './exp-store.js';
import { sha256File } from './exp-workspace.js';

/**
 * `exp show`, `exp diff`, `exp apply` and `exp remove`: experiments read
 * from git or from their records (exp-store.ts), never checked out to be
 * read; only `apply` writes the workspace.
 */

interface Rev {
  tree: RevTree;
  pipelines: Pipeline[];
}

function cacheOf(root: string): LocalCache {
  return new LocalCache({ root, ...(cachePathOf(root, loadDvcConfig(root)) ? { cacheDir: cachePathOf(root, loadDvcConfig(root)) as string } : {}) });
}

/** A tree with its pipeline, cached outputs read from the cache (as Revisions does for git revisions). */
function revisionOf(base: RevTree, cache: LocalCache): Rev {
  const pipelines = pipelinesOfTree(base);
  const tree = new TrackedTree(base, () => lockedOutputs(pipelines, (f) => readText(base, f)), (md5) => cache.objectPath(md5));
  return { tree, pipelines };
}

/** DVC's `datetime.fromtimestamp(t).isoformat()`: local time, seconds, no zone. */
export function localIso(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

function dataOf(rev: Rev, name: string, timestamp: string | null): ExpData {
  const { tree, pipelines } = rev;
  const deps: DepInfo[] = [];
  const outs: OutInfo[] = [];
  for (const p of pipelines) {
    // each dvc.yaml's own dvc.lock, beside it
    const lockFile = lockFileOf(p.file);
    const lockText = readText(tree, lockFile);
    const lock = lockText === undefined || lockText.trim() === '' ? undefined : parseLockfile(lockText, lockFile);
    for (const s of p.stages) {
      const entry = lock?.stages.get(s.name);
      for (const d of s.deps) {
        const e = entry?.deps.find((x) => x.path === d.defPath);
        if (e && !deps.some((x) => x.path === d.path)) deps.push({ path: d.path, hash: e.md5, size: e.size ?? null, nfiles: e.nfiles ?? null });
      }
      for (const o of s.outs) {
        if (o.kind !== 'out') continue;
        const e = entry?.outs.find((x) => x.path === o.defPath);
        if (e) outs.push({ path: o.path, hash: e.md5, size: e.size ?? null, nfiles: e.nfiles ?? null, useCache: o.cache });
      }
    }
  }
  return {
    rev: name,
    timestamp,
    params: gatherParams(tree, pipelines, { depsOnly: false, targets: [] }),
    metrics: gatherMetrics(tree, pipelines, []),
    deps,
    outs,
  };
}

export interface ShowData {
  workspace: ExpData;
  baselines: ShownBaseline[];
}

/** What `exp show` shows: the workspace, the baseline (HEAD in git) and its experiments. */
export function experimentsShow(root: string): ShowData {
  const store = new ExpStore(root);
  const cache = cacheOf(root);
  const workspace = dataOf(revisionOf(new WorkspaceTree(root), cache), 'workspace', null);
  const exps: ShownExp[] = store.list().map((f) => shownExp(f, cache));
  if (!store.git || !store.repo) return { workspace, baselines: [{ rev: 'workspace', name: null, data: workspace, experiments: exps }] };
  const head = store.git.head();
  const base = dataOf(revisionOf(store.repo.tree(head, 'HEAD'), cache), head, localIso(new Date(store.git.commitTime(head) * 1000)));
  return { workspace, baselines: [{ rev: head, name: store.git.headBranch(), data: base, experiments: exps }] };
}

function shownExp(f: FoundExp, cache: LocalCache): ShownExp {
  const r = f.record;
  const data = f.tree ? dataOf(revisionOf(f.tree, cache), r.commit ?? r.name, localIso(new Date(r.created))) : undefined;
  return { name: r.name, state: r.state, ...(data ? { data } : {}), ...(r.error ? { error: r.error } : {}), ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}) };
}

/** `exp diff A [B]`: params and metrics of A (old) against B (new; default: the workspace), as DVC's exp diff. */
export function experimentsDiff(root: string, a: string, b: string | undefined, all: boolean): { params: DiffResult; metrics: DiffResult } {
  const store = new ExpStore(root);
  const cache = cacheOf(root);
  const side = (name: string | undefined): Rev => {
    if (name === undefined || name === 'workspace') return revisionOf(new WorkspaceTree(root), cache);
    const f = store.find(name);
    if (!f.tree) throw new ReprodError('USAGE', `experiment '${name}' has no results (it is ${f.record.state})`, { remedy: 'Compare experiments that finished (see `reprod exp show`).' });
    return revisionOf(f.tree, cache);
  };
  const [old, next] = [side(a), side(b)];
  const sel = { depsOnly: false, targets: [] };
  return {
    params: diffFiles(gatherParams(old.tree, old.pipelines, sel), gatherParams(next.tree, next.pipelines, sel), all),
    metrics: diffFiles(gatherMetrics(old.tree, old.pipelines, []), gatherMetrics(next.tree, next.pipelines, []), all),
  };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * `exp apply NAME`: the experiment's params files, dvc.lock and uncached
 * outputs written into the workspace, then its cached outputs checked out
 * from the cache. A file whose current content is neither the experiment's
 * baseline's nor one of the experiments' (uncommitted work) stops it before
 * anything is written, unless `force`; so does an output whose data the
 * cache lacks (checkout would lose it).
 */
export async function applyExperiment(root: string, name: string, force: boolean): Promise<{ written: string[]; restored: string[] }> {
  const store = new ExpStore(root);
  const found = store.find(name);
  const tree = found.tree;
  if (!tree) throw new ReprodError('USAGE', `experiment '${name}' has no results to apply (it is ${found.record.state})`, { remedy: 'Apply an experiment that finished (see `reprod exp show`).' });
  const files = found.record.changed.length > 0 ? found.record.changed : (store.git?.changedFiles(found.record.baseline, found.record.commit ?? '') ?? []);
  const contents = new Map<string, Uint8Array>();
  for (const f of files) {
    const bytes = tree.read(f);
    if (bytes !== undefined) contents.set(f, bytes);
  }
  if (!force) {
    const others = store.list(found.record.baseline);
    const baseTree = store.repo && found.record.baseline !== 'workspace' ? store.repo.tree(found.record.baseline, 'baseline') : undefined;
    const dirty: string[] = [];
    for (const f of contents.keys()) {
      const now = sha256File(path.join(root, f));
      if (now === null) continue;
      const allowed = new Set<string | null>([found.record.baselineFiles[f] ?? null]);
      const fromBase = baseTree?.read(f);
      if (fromBase) allowed.add(sha256(fromBase));
      for (const o of others) {
        const b = o.tree?.read(f);
        if (b) allowed.add(sha256(b));
      }
      if (!allowed.has(now)) dirty.push(f);
    }
    if (dirty.length > 0) {
      throw new ReprodError('WORKSPACE_DIRTY', `exp apply would overwrite uncommitted changes in ${dirty.join(', ')}`, {
        remedy: `Commit or keep those changes elsewhere first, or run \`reprod exp apply --force ${name}\` to overwrite them.`,
      });
    }
  }
  return withProject(root, undefined, async (project) => {
    const { loadTracked } = await import('../remotes.js');
    const deps = { hasher: project.hasher, cache: project.cache, store: project.cache, ws: project.ws };
    if (!force) {
      // outputs whose data is only in the workspace: checking out would lose them
      const { outs } = await loadTracked(project);
      const lost: string[] = [];
      for (const o of outs) {
        const h = await project.hasher.hash(o.path);
        if (h && h.info.md5 !== o.oid && !(await project.cache.has(h.info.md5))) lost.push(o.path);
      }
      if (lost.length > 0) {
        throw new ReprodError('WORKSPACE_DIRTY', `exp apply would overwrite outputs not in the cache: ${lost.join(', ')}`, {
          remedy: `Record them first (\`reprod commit\`), or run \`reprod exp apply --force ${name}\` to overwrite them.`,
        });
      }
    }
    for (const [f, bytes] of contents) {
      mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      writeFileSync(path.join(root, f), bytes);
    }
    const { outs } = await loadTracked(project);
    const res = await checkoutTracked(deps, outs, new Map(), { force: true });
    await project.hasher.flush();
    if (res.failed.length > 0) {
      throw new ReprodError('CACHE', `the cache lacks ${res.failed.map((x) => x.name).join(', ')} of experiment '${name}'`, {
        remedy: 'Pull them (`reprod pull`) or reproduce them (`reprod repro`).',
      });
    }
    return { written: [...contents.keys()], restored: [...res.added, ...res.modified] };
  });
}

/** `exp remove`: the named experiments, or all (of the baseline), or the queued ones. */
export function removeExperiments(root: string, names: readonly string[], o: { all?: boolean; queue?: boolean }): string[] {
  const store = new ExpStore(root);
  const chosen = o.all || o.queue ? store.list().filter((f) => o.all || f.record.state === 'queued').map((f) => f.record.name) : [...names];
  if (chosen.length === 0 && !o.all && !o.queue) throw new ReprodError('USAGE', 'exp remove needs experiment names, --all or --queue');
  for (const n of chosen) store.remove(n);
  return chosen;
}
