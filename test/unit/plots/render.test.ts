import { readFileSync } from 'node:fs';
import path from 'node:path';
import { conformance } from '../../helpers/conformance.js';
import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import { pyFloatRepr, type PyDict, type PyValue } from '../../../src/core/pyvalue.js';
import { pyJsonDumps } from '../../../src/lock/py-json.js';
import { parseDvcYaml } from '../../../src/pipeline/parse-dvc-yaml.js';
import { collectPlots } from '../../../src/plots/collect.js';
import { plotsJson, renderPlots } from '../../../src/plots/output.js';
import { matchRenderers } from '../../../src/plots/render.js';
import { csvRows, loadSv } from '../../../src/plots/sources.js';
import { memTree } from '../../helpers/mem-tree.js';

const N13 = conformance('dvc-3.67', 'n13-metrics-plots-cmdlist');

/** What n13's train.py writes for a number of epochs. */
function n13Outputs(epochs: number): Record<string, string> {
  const loss = ['step,loss', ...Array.from({ length: epochs }, (_, i) => `${i},${pyFloatRepr(1 / (i + 1))}`)].join('\n');
  const curve = `[${Array.from({ length: epochs }, (_, i) => `{"x": ${i}, "y": ${i * i}}`).join(', ')}]`;
  return { 'loss.csv': `${loss}\n`, 'curve.json': curve };
}

function plotsOf(revs: { files: Record<string, string>; rev: string }[], opts: { targets?: string[]; props?: PyDict } = {}): PyDict {
  const collected = revs.map(({ files, rev }) => {
    const pipelines = [parseDvcYaml(files['dvc.yaml'] ?? '', { file: 'dvc.yaml', readFile: (p) => files[p] })];
    return collectPlots(memTree(files, rev), pipelines, { targets: opts.targets ?? [], props: opts.props ?? new Map() });
  });
  const renderers = matchRenderers(collected, { placeImage: (rev, f) => `/out/${rev}_${f}` });
  return plotsJson(renderers, renderPlots(renderers, () => undefined), new Map());
}

const recorded = (name: string) => readFileSync(path.join(N13, 'expected', 'daily-commands', name), 'utf8').replace(/rc=0\n$/, '');

describe('plots: what DVC 3.67 printed for n13', () => {
  const dvcYaml = readFileSync(path.join(N13, 'input', 'dvc.yaml'), 'utf8');
  const ws = { files: { 'dvc.yaml': dvcYaml, ...n13Outputs(5) }, rev: 'workspace' };
  const head = { files: { 'dvc.yaml': dvcYaml, ...n13Outputs(3) }, rev: 'HEAD' };

  it('plots show --json, byte for byte', () => {
    expect(`${pyJsonDumps(plotsOf([ws]))}\n`).toBe(recorded('plots-show.txt'));
  });

  it('plots diff --json HEAD, byte for byte: one chart per plot, coloured by revision', () => {
    expect(`${pyJsonDumps(plotsOf([ws, head]))}\n`).toBe(recorded('plots-diff.txt'));
  });

  it('targets select plots by id (a regular expression from the start), a file missing at a revision is an error of that revision', () => {
    const out = plotsOf([ws, { ...head, files: { 'dvc.yaml': dvcYaml } }], { targets: ['curve'] });
    expect([...(out.get('data') as PyDict).keys()]).toEqual(['curve.json']);
    expect(pyJsonDumps(out.get('errors') ?? null)).toBe(
      `[{"name": "curve.json", "rev": "HEAD", "source": "curve.json", "type": "FileNotFoundError", "msg": "[Errno 2] No such file or directory: 'curve.json'"}]`,
    );
  });
});

describe('plots: templates filled as dvc-render fills them', () => {
  const spec = (files: Record<string, string>, id: string) => {
    const data = plotsOf([{ files, rev: 'workspace' }]).get('data') as PyDict;
    const [entry] = data.get(id) as PyDict[];
    return entry?.get('content') as PyDict;
  };

  it('two files on one chart: series told apart by file name (dashes), the file kept in each datapoint', () => {
    const content = spec(
      {
        'dvc.yaml': 'plots:\n  - both:\n      x: step\n      y:\n        train.csv: loss\n        test.csv: loss\n',
        'train.csv': 'step,loss\n0,1\n1,0.5\n',
        'test.csv': 'step,loss\n0,2\n1,1.5\n',
      },
      'both',
    );
    const json = pyJsonDumps(content);
    expect(json).toContain(
      '"data": {"values": [{"step": "0", "loss": "1", "rev": "workspace", "filename": "train.csv"}, {"step": "1", "loss": "0.5", "rev": "workspace", "filename": "train.csv"}, ' +
        '{"step": "0", "loss": "2", "rev": "workspace", "filename": "test.csv"}',
    );
    expect(json).toContain('"strokeDash": {"field": "filename", "scale": {"domain": ["test.csv", "train.csv"], "range": [[1, 0], [8, 8]]}, "legend": {"symbolFillColor": "transparent", "symbolStrokeColor": "grey"}}');
    expect(json).toContain('"groupby": ["rev", "filename"]');
    expect(json).toContain(`{"calculate": "datum.rev + '::' + datum.filename", "as": "pivot_field"}`);
  });

  it('confusion: impute groups by revision and field, the y label defaults to the field, dotted names escaped', () => {
    const content = spec(
      {
        'dvc.yaml': 'plots:\n  - c.csv:\n      template: confusion\n      x: act.ual\n      y: predicted\n',
        'c.csv': 'act.ual,predicted\ncat,dog\ndog,dog\n',
      },
      'c.csv',
    );
    const json = pyJsonDumps(content);
    expect(json).toContain('{"impute": "xy_count", "groupby": ["rev", "predicted"], "key": "act\\\\.ual", "value": 0}');
    expect(json).toContain('"facet": {"column": {"field": "rev", "sort": []}, "row": {}}');
    expect(json).toContain('"y": {"field": "predicted", "type": "nominal", "sort": "ascending", "title": "predicted"}');
  });

  it('refuses an unknown template and a field the data does not have', () => {
    const files = { 'dvc.yaml': 'plots:\n  - a.csv:\n      template: nope\n', 'a.csv': 'x,y\n1,2\n' };
    expect(() => plotsOf([{ files, rev: 'workspace' }])).toThrow(ReprodError);
    const missing = plotsOf([{ files: { ...files, 'dvc.yaml': 'plots:\n  - a.csv:\n      y: nope\n' }, rev: 'workspace' }]);
    expect(pyJsonDumps(missing.get('errors') ?? null)).toBe(
      `[{"name": "a.csv", "rev": "workspace", "type": "FieldNotFoundError", "msg": "Could not find provided field ('nope') in data fields ('x, y')."}]`,
    );
  });
});

describe("plots: CSV as Python's csv.DictReader reads it", () => {
  it('quotes, doubled quotes, newlines inside quotes, blank lines', () => {
    expect(csvRows('a,"b,c","say ""hi"""\n\n"two\nlines",x\nlast', ',')).toEqual([['a', 'b,c', 'say "hi"'], [], ['two\nlines', 'x'], ['last']]);
  });

  it('short rows get None, extra cells go under None, no header names columns by number', () => {
    const rows = (r: PyDict[]) => pyJsonDumps(r as PyValue[]);
    expect(rows(loadSv('a,b\n1\n1,2,3\n', ',', true))).toBe('[{"a": "1", "b": null}, {"a": "1", "b": "2", "null": ["3"]}]');
    // DVC counts a header-less TSV's columns with commas: one column here, the second cell is extra
    expect(rows(loadSv('1\t2\n3\t4\n', '\t', false))).toBe('[{"0": "1", "null": ["2"]}, {"0": "3", "null": ["4"]}]');
    expect(rows(loadSv('1,2\n3,4\n', ',', false))).toBe('[{"0": "1", "1": "2"}, {"0": "3", "1": "4"}]');
  });
});
