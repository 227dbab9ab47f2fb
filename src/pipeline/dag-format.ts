import type { Dag } from './dag.js';

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

export function dagToMermaid(dag: Dag): string {
  const id = new Map(dag.stages.map((s, i) => [s.name, `node${i + 1}`]));
  const lines = ['flowchart TD'];
  for (const s of dag.stages) lines.push(`\t${id.get(s.name)}[${quote(s.name)}]`);
  for (const [a, b] of dagEdges(dag)) lines.push(`\t${id.get(a)}-->${id.get(b)}`);
  return `${lines.join('\n')}\n`;
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
