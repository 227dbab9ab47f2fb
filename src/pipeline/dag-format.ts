import { pyStrCompare } from '../core/pyvalue.js';
import { selectStages, type Dag } from './dag.js';

/** Edges as `[upstream, downstream]` pairs, in stage order. */
export function dagEdges(dag: Dag): [string, string][] {
  const edges: [string, string][] = [];
  for (const s of dag.stages) for (const u of dag.upstream.get(s.name) ?? []) edges.push([u, s.name]);
  return edges;
}

export function dagToJson(dag: Dag): { nodes: string[]; edges: { from: string; to: string }[] } {
  return {
    nodes: dag.stages.map((s) => s.name),
    edges: dagEdges(dag).map(([from, to]) => ({ from, to })),
  };
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function dagToDot(dag: Dag): string {
  const lines = ['strict digraph {'];
  for (const s of dag.stages) lines.push(`  ${quote(s.name)};`);
  for (const [a, b] of dagEdges(dag)) lines.push(`  ${quote(a)} -> ${quote(b)};`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

/** The part of the graph `dvc dag TARGET` shows: the target and every stage upstream of it. */
export function dagOfTarget(dag: Dag, target: string): Dag {
  const keep = new Set(selectStages(dag, [target]).map((s) => s.name));
  return {
    ...dag,
    stages: dag.stages.filter((s) => keep.has(s.name)),
    upstream: new Map([...dag.upstream].filter(([k]) => keep.has(k))),
  };
}

/**
 * The stages in weakly connected groups (DVC's "pipelines"), each group in the
 * order of its first stage in the file, its stages in file order.
 */
export function dagPipelines(dag: Dag): string[][] {
  const neighbours = new Map<string, string[]>(dag.stages.map((s) => [s.name, []]));
  for (const [a, b] of dagEdges(dag)) {
    neighbours.get(a)?.push(b);
    neighbours.get(b)?.push(a);
  }
  const seen = new Set<string>();
  const groups: string[][] = [];
  for (const s of dag.stages) {
    if (seen.has(s.name)) continue;
    const group = new Set<string>([s.name]);
    const queue = [s.name];
    seen.add(s.name);
    for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
      for (const m of neighbours.get(n) ?? []) {
        if (!seen.has(m)) {
          seen.add(m);
          group.add(m);
          queue.push(m);
        }
      }
    }
    groups.push(dag.stages.map((x) => x.name).filter((x) => group.has(x)));
  }
  return groups;
}

/**
 * `dvc dag --mermaid` (and `--md`, wrapped in a fenced block), as DVC writes
 * it: pipeline by pipeline, nodes numbered in name order (Python's string
 * order) and numbers running on across pipelines, edges `upstream-->downstream`
 * sorted by those names. Labels are written as they are, unescaped, as DVC does.
 */
export function dagToMermaid(dag: Dag, opts: { markdown?: boolean } = {}): string {
  const edges = dagEdges(dag);
  let text = 'flowchart TD';
  let total = 0;
  for (const group of dagPipelines(dag)) {
    const ids = new Map<string, string>();
    for (const node of [...group].sort(pyStrCompare)) {
      total++;
      ids.set(node, `node${total}`);
      text += `\n\t${ids.get(node)}["${node}"]`;
    }
    const inGroup = edges
      .filter(([a]) => ids.has(a))
      .sort(([a1, b1], [a2, b2]) => pyStrCompare(a1, a2) || pyStrCompare(b1, b2));
    for (const [a, b] of inGroup) text += `\n\t${ids.get(a)}-->${ids.get(b)}`;
  }
  return `${opts.markdown ? `\`\`\`mermaid\n${text}\n\`\`\`` : text}\n`;
}

/** A plain listing for terminals: each stage, upstream first, with what it waits for. */
export function dagToText(dag: Dag): string {
  const lines: string[] = [];
  const done = new Set<string>();
  const visit = (n: string) => {
    if (done.has(n)) return;
    done.add(n);
    const ups = dag.upstream.get(n) ?? [];
    ups.forEach(visit);
    lines.push(ups.length ? `${n}  <- ${ups.join(', ')}` : n);
  };
  dag.stages.forEach((s) => visit(s.name));
  return `${lines.join('\n')}\n`;
}
