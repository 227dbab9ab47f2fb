import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { customTemplates, imageWriter, outputDir, vegaScripts, writePage } from '../adapters/fs/plots-files.js';
import type { PyDict } from '../core/pyvalue.js';
import type { EncodedError } from '../metrics/data-file.js';
import { collectPlots, type RevisionPlots } from '../plots/collect.js';
import { plotsHtml, plotsJson, renderPlots } from '../plots/output.js';
import { matchRenderers } from '../plots/render.js';
import { loadDvcConfig } from './project.js';
import { Revisions, revisionError } from './revisions.js';

/**
 * `plots show` and `plots diff`: DVC's Plots.collect / match_defs_renderers /
 * render_html, each revision read from git and the cache.
 */

export interface PlotsOptions {
  /** Plot ids or data files; none: every plot. */
  targets: readonly string[];
  /** Display properties from the command line (`-t`, `-x`, `-y`, `--title`, `--x-label`, `--y-label`, `--no-header`). */
  props: PyDict;
  /** The output folder (default `plots.out_dir` of .dvc/config, else `dvc_plots`). */
  out?: string;
  json: boolean;
}

export type PlotsOutcome =
  | { kind: 'json'; json: PyDict; errored: string[] }
  | { kind: 'page'; file: string; url: string; errored: string[] }
  /** Nothing to draw: DVC writes no page then. */
  | { kind: 'none'; errored: string[] };

export function showPlots(root: string, o: PlotsOptions): PlotsOutcome {
  return plotRevisions(new Revisions(root), ['workspace'], o);
}

/**
 * DVC's `_revisions`: no revision given compares HEAD with the workspace
 * when tracked files changed (else the workspace alone); one revision is
 * compared with the workspace; two or more are shown as given.
 */
export function diffPlots(root: string, revs: readonly string[], o: PlotsOptions): PlotsOutcome {
  const revisions = new Revisions(root);
  const git = revisions.requireGit('plots diff');
  if (!git.hasCommits()) return o.json ? { kind: 'json', json: new Map(), errored: [] } : { kind: 'none', errored: [] };
  const wanted = [...revs];
  if (wanted.length <= 1) {
    if (wanted.length === 0 && git.isDirty()) wanted.push('HEAD');
    wanted.push('workspace');
  }
  return plotRevisions(revisions, wanted, o);
}

function plotRevisions(revisions: Revisions, revs: readonly string[], o: PlotsOptions): PlotsOutcome {
  const root = revisions.root;
  // the workspace first, as DVC's brancher orders revisions
  const ordered = revs.includes('workspace') ? ['workspace', ...revs.filter((r) => r !== 'workspace')] : [...revs];
  const collected: RevisionPlots[] = [];
  const revisionErrors = new Map<string, EncodedError>();
  for (const rev of [...new Set(ordered)]) {
    const revision = revisions.at(rev);
    let plots: RevisionPlots;
    try {
      plots = collectPlots(revision.tree, revision.pipelines, { targets: o.targets, props: o.props });
    } catch (e) {
      revisionErrors.set(rev, revisionError(e));
      continue;
    }
    if ([...plots.definitions.values()].some((d) => d.size > 0)) collected.push(plots);
  }

  const config = loadDvcConfig(root).get('plots');
  const out = outputDir(root, o.out ?? config?.get('out_dir') ?? 'dvc_plots');
  const renderers = matchRenderers(collected, { placeImage: imageWriter(o.json ? out : path.join(out, 'static')) });
  const rendered = renderPlots(renderers, customTemplates(root));
  const errored = [
    ...new Set([
      ...collected.filter((c) => [...c.sources.values()].some((s) => 'error' in s)).map((c) => c.rev),
      ...renderers.flatMap((r) => [...r.definitionErrors.keys()]),
      ...revisionErrors.keys(),
    ]),
  ];
  if (o.json) return { kind: 'json', json: plotsJson(renderers, rendered, revisionErrors), errored };
  if (renderers.length === 0) return { kind: 'none', errored };
  const html = plotsHtml(rendered, vegaScripts(), (src) => (path.isAbsolute(src) ? path.relative(out, src) : src));
  const file = writePage(out, html);
  return { kind: 'page', file, url: pathToFileURL(file).href, errored };
}
