import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import type { Pipeline, Stage } from '../../../src/core/types.js';
import { buildDag, downstreamOf, selectStages } from '../../../src/pipeline/dag.js';
import { dagToDot, dagToJson, dagToMermaid } from '../../../src/pipeline/dag-format.js';
import { fileStage } from '../../helpers/stages.js';
import { CONFORMANCE_ROOT as CONFORMANCE } from '../../helpers/conformance.js';

const stage = (name: string, deps: string[], outs: string[], group = name): Stage =>
  fileStage(name, deps, outs, { group, source: { file: 'dvc.yaml', key: `stages.${name}`, line: 1 } });


function pipeline(...stages: Stage[]): Pipeline {
  return { file: 'dvc.yaml', stages, params: [], metrics: [], plots: [] };
}

const names = (ss: Stage[]) => ss.map((s) => s.name);

describe('buildDag', () => {
  //  raw ─► prepare ─► sorted ─► count ─► counts ─► report
  //                                  report.sh ──────┘
  const linear = pipeline(
    stage('report', ['report.sh', 'counts.txt'], ['report.txt']),
    stage('prepare', ['data/raw.txt'], ['sorted.txt']),
    stage('count', ['sorted.txt'], ['counts.txt']),
  );

  it('links a dep to the stage whose out it is', () => {
    const dag = buildDag(linear);
    expect(dag.upstream.get('report')).toEqual(['count']);
    expect(dag.upstream.get('count')).toEqual(['prepare']);
    expect(dag.upstream.get('prepare')).toEqual([]);
    expect(dag.downstream.get('prepare')).toEqual(['count']);
  });

  it('links deps and outs as comparing every pair would, in the order deps and outs are listed', () => {
    // paths that nest, share prefixes without nesting (a-b, ab, a.b), and the workspace itself (as a dep)
    const pool = ['.', 'a', 'a/b', 'a/b/c', 'a/bc', 'a-b', 'ab', 'a.b/x', 'b', 'b/a', 'c/d/e'];
    let seed = 7;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const inside = (p: string, dir: string): boolean => dir === '.' || p.startsWith(`${dir}/`);
    for (let round = 0; round < 200; round++) {
      const outs = pool.filter((p) => p !== '.').sort(() => rand(3) - 1).slice(0, 2 + rand(3));
      // outs must not overlap: keep those that nest in none kept before
      const kept: string[] = [];
      for (const o of outs) if (!kept.some((k) => k === o || inside(o, k) || inside(k, o))) kept.push(o);
      const stages = kept.map((o, i) => stage(`p${i}`, [], [o]));
      const deps = Array.from({ length: 1 + rand(4) }, () => pool[rand(pool.length)] as string);
      stages.push(stage('user', deps, []));
      const dag = buildDag(pipeline(...stages));
      const expected: string[] = [];
      for (const d of deps) for (const s of stages) for (const o of s.outs) if (s.name !== 'user' && (d === o.path || inside(d, o.path) || inside(o.path, d)) && !expected.includes(s.name)) expected.push(s.name);
      expect(dag.upstream.get('user'), `deps ${deps.join(' ')}; outs ${kept.join(' ')}`).toEqual(expected);
    }
  });

  it('links a dep inside an out directory, and a dep directory containing an out', () => {
    //  tree ─► data/tree/ ─► pick (data/tree/sub/b.txt)
    //  gen  ─► data/gen/x ─► all (data)
    const dag = buildDag(
      pipeline(
        stage('tree', [], ['data/tree']),
        stage('pick', ['data/tree/sub/b.txt'], ['picked.txt']),
        stage('gen', [], ['data/gen/x']),
        stage('all', ['data'], ['summary.txt']),
      ),
    );
    expect(dag.upstream.get('pick')).toEqual(['tree']);
    expect(dag.upstream.get('all')).toEqual(['tree', 'gen']);
  });

  it('does not link paths that only share a prefix of characters', () => {
    const dag = buildDag(pipeline(stage('a', [], ['data']), stage('b', ['data2/x'], ['y'])));
    expect(dag.upstream.get('b')).toEqual([]);
  });

  it('names every stage of a cycle', () => {
    //  a ─► x ─► b ─► y ─► c ─► z ─► a
    const p = pipeline(stage('a', ['z'], ['x']), stage('b', ['x'], ['y']), stage('c', ['y'], ['z']));
    expect(() => buildDag(p)).toThrow(/cycle: a -> c -> b -> a/);
    try {
      buildDag(p);
    } catch (e) {
      expect((e as ReprodError).code).toBe('CYCLE');
      expect((e as ReprodError).source?.file).toBe('dvc.yaml');
    }
  });

  it('rejects a stage that depends on its own output', () => {
    expect(() => buildDag(pipeline(stage('a', ['out/x'], ['out'])))).toThrow(/cycle: a -> a/);
  });

  it('rejects the same output in two stages', () => {
    expect(() => buildDag(pipeline(stage('a', [], ['o.txt']), stage('b', [], ['o.txt'])))).toThrow(
      /output 'o.txt' is specified in stages 'a' and 'b'/,
    );
  });

  it('rejects an output inside another output', () => {
    const err = (() => {
      try {
        buildDag(pipeline(stage('a', [], ['data']), stage('b', [], ['data/sub/x.txt'])));
      } catch (e) {
        return e as ReprodError;
      }
      return undefined;
    })();
    expect(err?.code).toBe('OUT_OVERLAP');
    expect(err?.message).toMatch(/'data' \(stage 'a'\) and 'data\/sub\/x.txt' \(stage 'b'\) overlap/);
  });
});

describe('selectStages (DVC plan_repro order)', () => {
  //  prepare ─► count ─► report
  //     └─────► pick
  //  lone
  const p = pipeline(
    stage('lone', [], ['l.txt']),
    stage('report', ['counts.txt'], ['report.txt']),
    stage('pick', ['sorted.txt'], ['pick.txt']),
    stage('prepare', ['raw.txt'], ['sorted.txt']),
    stage('count', ['sorted.txt'], ['counts.txt']),
  );
  const dag = buildDag(p);

  it('everything, upstream first, otherwise in file order', () => {
    expect(names(selectStages(dag))).toEqual(['lone', 'prepare', 'count', 'report', 'pick']);
  });

  it('a target with its upstream', () => {
    expect(names(selectStages(dag, ['report']))).toEqual(['prepare', 'count', 'report']);
  });

  it('--downstream: the target and what depends on it', () => {
    expect(names(selectStages(dag, ['count'], { downstream: true }))).toEqual(['count', 'report']);
    expect(names(selectStages(dag, ['prepare'], { downstream: true }))).toEqual(['prepare', 'count', 'report', 'pick']);
  });

  it('--single-item: only the target', () => {
    expect(names(selectStages(dag, ['report'], { single: true }))).toEqual(['report']);
  });

  it('a foreach group name selects all its stages', () => {
    const g = buildDag(pipeline(stage('gen@a', [], ['a'], 'gen'), stage('gen@b', [], ['b'], 'gen'), stage('x', [], ['x'])));
    expect(names(selectStages(g, ['gen']))).toEqual(['gen@a', 'gen@b']);
  });

  it('an unknown target is an error that says how to list stages', () => {
    expect(() => selectStages(dag, ['nope'])).toThrow(/stage 'nope' does not exist/);
  });

  it('downstreamOf', () => {
    expect([...downstreamOf(dag, 'prepare')].sort()).toEqual(['count', 'pick', 'report']);
  });
});

describe('dag formats', () => {
  const dag = buildDag(pipeline(stage('a', [], ['x']), stage('b', ['x'], ['y'])));
  it('json, dot and mermaid carry the same edges', () => {
    expect(dagToJson(dag)).toEqual({ nodes: ['a', 'b'], edges: [{ from: 'a', to: 'b' }] });
    expect(dagToDot(dag)).toContain('"a" -> "b";');
    expect(dagToMermaid(dag)).toContain('node1-->node2');
  });

  it("mermaid numbers nodes as DVC does: by name, pipeline after pipeline (n13's `dag --md`)", () => {
    // train ─► model.txt ─► evaluate: `evaluate` comes first by name, so it is node1
    const n13 = buildDag(pipeline(stage('train', ['train.py'], ['model.txt']), stage('evaluate', ['model.txt'], ['eval/metrics.json'])));
    expect(dagToMermaid(n13, { markdown: true })).toBe(
      readFileSync(path.join(CONFORMANCE, 'dvc-3.67/n13-metrics-plots-cmdlist/expected/daily-commands/dag-md.txt'), 'utf8').replace(/rc=0\n$/, ''),
    );
    //  z ─► zz ─► b      (one pipeline: numbered 1..3 by name: b, z, zz)
    //  c ─► a            (the next one goes on from 4: a, c)
    const two = buildDag(
      pipeline(stage('z', [], ['z.txt']), stage('c', [], ['c.txt']), stage('zz', ['z.txt'], ['zz.txt']), stage('a', ['c.txt'], ['a.txt']), stage('b', ['zz.txt'], ['b.txt'])),
    );
    expect(dagToMermaid(two)).toBe(
      'flowchart TD\n\tnode1["b"]\n\tnode2["z"]\n\tnode3["zz"]\n\tnode2-->node3\n\tnode3-->node1' +
        '\n\tnode4["a"]\n\tnode5["c"]\n\tnode5-->node4\n',
    );
  });
});
