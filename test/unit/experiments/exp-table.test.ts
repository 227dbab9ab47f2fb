import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isPyDict, type PyDict, type PyValue } from '../../../src/core/pyvalue.js';
import { showCsv, showJson, showTable, type ExpData, type ShownBaseline } from '../../../src/experiments/exp-table.js';
import { pyJsonDumps } from '../../../src/lock/py-json.js';
import type { Loaded } from '../../../src/metrics/data-file.js';
import { parseJsonText } from '../../../src/pipeline/params-file.js';
import { conformance } from '../../helpers/conformance.js';

/** What real DVC 3.67 printed after `dvc exp run` (exp-show2*.txt: one baseline, one experiment). */
const expected = (file: string) => {
  const text = readFileSync(conformance('dvc-3.67', 'n13-metrics-plots-cmdlist', 'expected', 'daily-commands', file), 'utf8');
  return text.slice(0, text.lastIndexOf('rc=0'));
};

function dict(v: PyValue | undefined): PyDict {
  if (!isPyDict(v)) throw new Error('expected a mapping');
  return v;
}

/** DVC's serialized data back into ExpData (the inverse of dataJson). */
function dataOf(v: PyValue | undefined): ExpData {
  const d = dict(v);
  const files = (x: PyValue | undefined) => new Map<string, Loaded>([...dict(x)].map(([f, l]) => [f, { data: dict(l).get('data') ?? null }]));
  const num = (x: PyValue | undefined) => (typeof x === 'number' ? x : null);
  return {
    rev: d.get('rev') as string,
    timestamp: (d.get('timestamp') as string | null) ?? null,
    params: files(d.get('params')),
    metrics: files(d.get('metrics')),
    deps: [...dict(d.get('deps'))].map(([path, x]) => ({ path, hash: dict(x).get('hash') as string, size: num(dict(x).get('size')), nfiles: num(dict(x).get('nfiles')) })),
    outs: [...dict(d.get('outs'))].map(([path, x]) => ({ path, hash: dict(x).get('hash') as string, size: num(dict(x).get('size')), nfiles: num(dict(x).get('nfiles')), useCache: dict(x).get('use_cache') === true })),
  };
}

function fromDvc(file: string): { workspace: ExpData; baselines: ShownBaseline[] } {
  const list = parseJsonText(expected(file), file) as PyValue[];
  const [ws, base] = list.map(dict) as [PyDict, PyDict];
  const exps = (base.get('experiments') as PyValue[] | null) ?? [];
  return {
    workspace: dataOf(ws.get('data')),
    baselines: [
      {
        rev: base.get('rev') as string,
        name: base.get('name') as string,
        data: dataOf(base.get('data')),
        experiments: exps.map((e) => {
          const rev = dict((dict(e).get('revs') as PyValue[])[0]);
          return { name: dict(e).get('name') as string, state: 'success' as const, data: dataOf(rev.get('data')) };
        }),
      },
    ],
  };
}

describe('exp show in the shapes DVC prints', () => {
  it('--json is byte for byte what dvc exp show --json printed (no experiments)', () => {
    const { workspace, baselines } = fromDvc('exp-show.txt');
    expect(`${pyJsonDumps(showJson(workspace, baselines))}\n`).toBe(expected('exp-show.txt'));
  });

  it('--json with an experiment under its baseline', () => {
    const { workspace, baselines } = fromDvc('exp-show2.txt');
    expect(`${pyJsonDumps(showJson(workspace, baselines))}\n`).toBe(expected('exp-show2.txt'));
  });

  it('--csv is what dvc exp show --csv printed: metrics, params, then deps sorted', () => {
    expect(showCsv(fromDvc('exp-show.txt').workspace, fromDvc('exp-show.txt').baselines)).toBe(expected('exp-show-csv.txt'));
    const two = fromDvc('exp-show2.txt');
    expect(showCsv(two.workspace, two.baselines)).toBe(expected('exp-show2-csv.txt'));
  });

  it('--only-changed keeps only the columns that differ between rows', () => {
    const two = fromDvc('exp-show2.txt');
    const header = showCsv(two.workspace, two.baselines, { onlyChanged: true }).split('\n')[0];
    expect(header).toBe('Experiment,rev,typ,Created,parent,acc,loss,epochs');
  });

  it('--sort-by orders experiments by a metric, missing values last', () => {
    const base = fromDvc('exp-show2.txt');
    const exp = base.baselines[0]?.experiments[0];
    if (!exp?.data) throw new Error('fixture has an experiment');
    const withAcc = (name: string, acc: number | undefined): (typeof base.baselines)[0]['experiments'][0] => ({
      name,
      state: 'success',
      data: { ...exp.data!, rev: `${name}0000000`, metrics: new Map([['metrics.json', { data: new Map(acc === undefined ? [] : [['acc', acc]]) }]]) },
    });
    const b: ShownBaseline = { ...base.baselines[0]!, experiments: [withAcc('a', 0.5), withAcc('b', undefined), withAcc('c', 0.9)] };
    const names = (csv: string) => csv.split('\n').slice(2).filter(Boolean).map((l) => l.split(',')[0]);
    expect(names(showCsv(base.workspace, [b], { sortBy: 'acc', sortOrder: 'desc' }))).toEqual(['', 'c', 'a', 'b']);
    expect(names(showCsv(base.workspace, [b], { sortBy: 'metrics.json:acc' }))).toEqual(['', 'a', 'c', 'b']);
  });

  it('the table draws experiments under their baseline with state and run time', () => {
    const two = fromDvc('exp-show2.txt');
    const b = { ...two.baselines[0]!, experiments: [{ ...two.baselines[0]!.experiments[0]!, durationMs: 2500 }, { name: 'queued-one', state: 'queued' as const }] };
    const lines = showTable(two.workspace, [b]).split('\n');
    expect(lines[0]).toMatch(/^Experiment\s+Created\s+State\s+Run time\s+acc\s+loss\s+auc\s+epochs$/);
    expect(lines[1]).toMatch(/^workspace\s+-\s+-\s+-\s+0\.5700000000000001\s+0\.14285714285714285\s+0\.7\s+7$/);
    expect(lines[2]).toMatch(/^master\s+2026-12-01T19:55:38\s+-\s+-\s+0\.55\s+0\.2\s+0\.7\s+5$/);
    expect(lines[3]).toMatch(/^├── azure-walk \[8ac0f0c\]\s+2026-12-01T20:03:30\s+Success\s+2\.5s\s+0\.5700000000000001/);
    expect(lines[4]).toMatch(/^└── queued-one\s+-\s+Queued\s+-\s+-\s+-\s+-\s+-$/);
  });

  it('a queued or failed experiment carries its executor state in --json', () => {
    const two = fromDvc('exp-show2.txt');
    const b = { ...two.baselines[0]!, experiments: [{ name: 'f', state: 'failed' as const, error: { type: 'CMD_FAILED', msg: 'boom' } }] };
    const json = pyJsonDumps(showJson(two.workspace, [b]));
    expect(json).toContain('{"revs": [], "executor": {"state": "failed", "name": null, "local": null}, "name": "f"}');
  });
});
