import { selectStages, type Dag } from '../pipeline/dag.js';

/**
 * The orderings the reconciler schedules by, computed once per spec: the
 * stages in DVC's order (upstream first), and each stage's ancestors
 * (nearest first, so that a waiting stage names its direct upstream) and
 * descendants.
 */
export interface StageIndex {
  order: string[];
  position: Map<string, number>;
  ancestors: Map<string, string[]>;
  descendants: Map<string, Set<string>>;
}

export function indexStages(dag: Dag, scope?: ReadonlySet<string>): StageIndex {
  const order = selectStages(dag)
    .map((s) => s.name)
    .filter((n) => !scope || scope.has(n));
  const ancestors = new Map<string, string[]>();
  // over the whole DAG: a stage out of scope still orders the ones in it
  for (const s of selectStages(dag)) {
    const set = new Set<string>();
    for (const u of dag.upstream.get(s.name) ?? []) {
      set.add(u);
      for (const a of ancestors.get(u) ?? []) set.add(a);
    }
    ancestors.set(s.name, [...set]);
  }
  const descendants = new Map<string, Set<string>>(order.map((n) => [n, new Set<string>()]));
  for (const [name, anc] of ancestors) for (const a of anc) descendants.get(a)?.add(name);
  return { order, position: new Map(order.map((n, i) => [n, i])), ancestors, descendants };
}
