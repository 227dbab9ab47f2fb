import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { ContainerBody } from './docker.js';

const STUB = path.resolve(import.meta.dirname, '../fixtures/airflow-stub');

export interface StubTask {
  operator: string;
  image?: string;
  entrypoint?: string[];
  environment?: Record<string, string>;
  mounts?: unknown[];
  /** DockerOperator: the container create body docker-py sends. */
  container?: ContainerBody;
  [k: string]: unknown;
}

export interface StubDag {
  dag_id: string;
  tasks: Record<string, StubTask>;
  edges: [string, string][];
}

/**
 * Compiles a DAG file and executes it against the stand-ins of Airflow
 * (test/fixtures/airflow-stub), templated fields rendered from `env` as
 * Airflow renders them from AIRFLOW_CONN_* and AIRFLOW_VAR_*.
 */
export function loadStubDag(file: string, env: Record<string, string> = {}): StubDag {
  execFileSync('python3', ['-m', 'py_compile', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = execFileSync('python3', [path.join(STUB, 'load_dag.py'), '--render', file], {
    env: { ...process.env, PYTHONPATH: STUB, PYTHONDONTWRITEBYTECODE: '1', ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out) as StubDag;
}

/** Task ids in an order that respects every edge (Kahn's algorithm, ties by id). */
export function dependencyOrder(dag: StubDag): string[] {
  const ids = Object.keys(dag.tasks).sort();
  const indeg = new Map(ids.map((id) => [id, 0]));
  for (const [, b] of dag.edges) indeg.set(b, (indeg.get(b) ?? 0) + 1);
  const order: string[] = [];
  const ready = ids.filter((id) => indeg.get(id) === 0);
  while (ready.length > 0) {
    const id = ready.shift() as string;
    order.push(id);
    for (const [a, b] of dag.edges) {
      if (a !== id) continue;
      indeg.set(b, (indeg.get(b) as number) - 1);
      if (indeg.get(b) === 0) ready.push(b);
    }
    ready.sort();
  }
  if (order.length !== ids.length) throw new Error('the DAG has a cycle');
  return order;
}
