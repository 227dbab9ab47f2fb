/*
 * What the commands print: pure functions from app/'s results to text. The
 * renderings shared with status/ and tracking/ (reasons), the DAG's formats,
 * DVC's cloud-status text and transfer summaries live with their modules and
 * are the only things the CLI takes from outside app/ and core/
 * (eslint.config.js names them).
 */
import type { DaemonStagePhase, DaemonView } from '../app/daemon-status.js';
import type { ChangedSource, SourceDecision } from '../app/data-sources.js';
import type { pipelineDag } from '../app/dag.js';
import type { StageDecision } from '../app/oneshot.js';
import type { GcSummary, TransferSummary } from '../app/remotes.js';
import type { PyValue } from '../core/pyvalue.js';
import type { ChangeReason, Stage } from '../core/types.js';
import { pyJsonDumps } from '../lock/py-json.js';
import { dagToDot, dagToJson, dagToMermaid, dagToText } from '../pipeline/dag-format.js';
import { describeReason, toDvcStatusJson } from '../pipeline/stage-status.js';

/** A stale stage and why, as pipelineStatus reports it. */
export interface StaleStage {
  stage: Stage;
  reasons: ChangeReason[];
}

/** `status`: each stale stage (then each changed data source) with its reasons, one per line, or that nothing is stale. */
export function formatStatus(stale: readonly StaleStage[], daemon?: DaemonView, sources: readonly ChangedSource[] = []): string {
  const phases = daemon?.phases ?? [];
  const entries = [...stale.map(({ stage, reasons }) => ({ name: stage.name, reasons })), ...sources.map(({ file, reasons }) => ({ name: file, reasons }))];
  const stalePart =
    entries.length === 0
      ? phases.length === 0
        ? 'Data and pipelines are up to date.\n'
        : ''
      : `${entries.flatMap(({ name, reasons }) => [`${name}:`, ...reasons.map((r) => `    ${describeReason(r)}`)]).join('\n')}\n`;
  if (phases.length === 0) return stalePart;
  const who = daemon?.daemon ? ` (pid ${daemon.daemon.pid}${daemon.daemon.url ? `, ${daemon.daemon.url}` : ''})` : '';
  return `${stalePart}${stalePart === '' ? '' : '\n'}The daemon${who} reports:\n${phases.map((p) => `    ${p.stage}: ${p.phase}${p.message ? `: ${p.message}` : ''}`).join('\n')}\n`;
}

/** A daemon's phase as one more entry of DVC's list for the stage, in the style of DVC's own strings ("changed command"). */
function phaseEntry(p: DaemonStagePhase): string {
  return `daemon: ${p.phase}${p.message ? `: ${p.message}` : ''}`;
}

/**
 * `status --json`: what `dvc status --json` prints, byte for byte, data
 * sources (`.dvc` files) included. When a
 * daemon runs on the workspace, a stage it reports Failed, Running, Blocked...
 * gets one more string entry (`"daemon: Failed: ..."`), so the shape stays
 * DVC's (stage → list of changes) for scripts written for it.
 */
export function formatStatusJson(stale: readonly StaleStage[], daemon?: DaemonView, sources: readonly ChangedSource[] = []): string {
  const out = new Map<string, unknown[]>(stale.map(({ stage, reasons }) => [stage.name, toDvcStatusJson(reasons)]));
  // the data sources after the pipeline's stages, as DVC walks the workspace: `"data/raw.dvc": [{"changed outs": {...}}]`
  for (const { file, reasons } of sources) out.set(file, toDvcStatusJson(reasons));
  for (const p of daemon?.phases ?? []) out.set(p.stage, [...(out.get(p.stage) ?? []), phaseEntry(p)]);
  // Python's json.dumps bytes, as `dvc status --json` prints them; a Map keeps integer-like stage names in order
  return `${pyJsonDumps(out as Map<string, PyValue>)}\n`;
}

/**
 * The line `repro` prints when a stage's decision is made, or undefined: a
 * run prints its header as it starts (formatStageStart), its failure as the
 * command's error.
 */
export function formatDecision(d: StageDecision): string | undefined {
  switch (d.action) {
    case 'skipped':
      return `Stage '${d.stage}' didn't change, skipping`;
    case 'frozen':
      return `Stage '${d.stage}' is frozen, skipping`;
    case 'would-run':
      return `Would run stage '${d.stage}': ${d.reasons.map(describeReason).join('; ')}`;
    case 'blocked':
      return `Stage '${d.stage}' not run: upstream '${d.upstream}' failed`;
    case 'restored':
      return `Stage '${d.stage}' is cached: restored its outputs from the run-cache`;
    case 'ran':
    case 'failed':
    case 'cancelled':
      return undefined;
  }
}

/** What `repro` prints for a data source (a `.dvc` file), in DVC's words. */
export function formatSourceDecision(d: SourceDecision): string {
  switch (d.action) {
    case 'unchanged':
      return `'${d.file}' didn't change, skipping`;
    case 'pulled':
      return `Pulling data for stage: '${d.file}'`;
    case 'verified':
      return d.frozen ? `Verifying outputs in frozen stage: '${d.file}'` : `Verifying data sources in stage: '${d.file}'`;
    case 'would-verify':
      return `Would verify data sources in stage: '${d.file}'${d.reasons.length ? `: ${d.reasons.map(describeReason).join('; ')}` : ' (forced)'}`;
  }
}

/** The header of a stage run: why it runs (or that it is forced) and its commands. */
export function formatStageStart(stage: Stage, reasons: readonly ChangeReason[]): string {
  const cmds = typeof stage.cmd === 'string' ? [stage.cmd] : stage.cmd;
  const why = reasons.length ? ` (${reasons.map(describeReason).join('; ')})` : ' (forced)';
  return `Running stage '${stage.name}'${why}:\n${cmds.map((c) => `> ${c}`).join('\n')}\n`;
}

/** `checkout` and `pull`: `M` for each path replaced, then `A` for each restored where nothing was (directories end in `/`). */
export function formatCheckedOut(res: { added: readonly string[]; modified: readonly string[] }): string {
  return [...res.modified.map((p) => `M\t${p}\n`), ...res.added.map((p) => `A\t${p}\n`)].join('');
}

/** `commit`: each stage (or `.dvc` file) recorded anew, or that nothing was. */
export function formatCommitted(stages: readonly string[]): string {
  return stages.length ? stages.map((s) => `Committed stage '${s}'\n`).join('') : 'Nothing to commit: dvc.lock and the .dvc files match the workspace.\n';
}

/** An output the data commands leave alone, and why. */
export function formatSkipped(skipped: TransferSummary['skipped']): string {
  return skipped.map((s) => `WARNING: '${s.path}' (${s.owner}) is not transferred: ${s.reason}\n`).join('');
}

/** `gc`: per place, what was (or, without --force, would be) removed. */
export function formatGc(res: GcSummary, force: boolean): string {
  const report = (where: string, keys: readonly string[], kept: number): string => {
    if (keys.length === 0) return `Nothing to remove from ${where}: all ${kept} objects are in use.\n`;
    if (force) return `Removed ${keys.length} objects from ${where}; ${kept} in use are kept.\n`;
    return `Would remove ${keys.length} objects from ${where}; ${kept} in use are kept (dry run: add --force to remove them):\n${keys.map((k) => `  ${k}\n`).join('')}`;
  };
  return report('the cache', res.cache, res.kept) + formatLeftovers(res.leftovers, force) + (res.remote ? report(`the remote ${res.remote.display}`, res.remote.keys, res.remote.kept) : '');
}

/** `gc`: the temporary files interrupted writes left, removed (or, without --force, listed); nothing when there are none. */
function formatLeftovers(left: GcSummary['leftovers'], force: boolean): string {
  if (left.paths.length === 0) return '';
  const what = `${left.paths.length} temporary file${left.paths.length === 1 ? '' : 's'} left by interrupted writes (${left.bytes} bytes)`;
  return force ? `Removed ${what}.\n` : `Would remove ${what}:\n${left.paths.map((p) => `  ${p}\n`).join('')}`;
}

export type DagFormat = 'text' | 'dot' | 'mermaid' | 'md' | 'json';

/** `dag`: the graph as a listing, Graphviz DOT, a Mermaid flowchart (bare, or in a Markdown block as `--md`) or JSON. */
export function formatDag(dag: ReturnType<typeof pipelineDag>, format: DagFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(dagToJson(dag), null, 2)}\n`;
    case 'dot':
      return dagToDot(dag);
    case 'mermaid':
      return dagToMermaid(dag);
    case 'md':
      return dagToMermaid(dag, { markdown: true });
    case 'text':
      return dagToText(dag);
  }
}
