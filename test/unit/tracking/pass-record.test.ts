import { describe, expect, it } from 'vitest';
import { parseParamsText } from '../../../src/pipeline/params-file.js';
import { buildPassRecord, pipelineParamsFiles } from '../../../src/tracking/pass-record.js';
import { trackedStage } from '../../helpers/tracking-fixtures.js';

const P = (keys: string[] | null, file = 'params.yaml') => ({ defPath: file, path: file, keys });
const prep = trackedStage('prep', [], [['mid', 'out']], [P(['prep.seed'])]);
const train = trackedStage('train', ['mid'], [['model', 'out'], ['train.json', 'metric']], [P(['train'])]);
const evaluate = trackedStage('evaluate', ['model'], [['scores.json', 'metric']], [P(['lr'], 'conf/extra.yaml')]);
const stages = [prep, train, evaluate];
const files = new Map([
  ['params.yaml', parseParamsText('prep:\n  seed: 1\ntrain:\n  C: 1.0\n  model: lr\n', 'params.yaml')],
  ['conf/extra.yaml', parseParamsText('lr: 0.5\n', 'conf/extra.yaml')],
]);
const m = (key: string, value: number) => ({ key, value, timestamp: 5, step: 0 });

describe('pass record', () => {
  it('lists the params files of the whole pipeline', () => {
    expect(pipelineParamsFiles(stages)).toEqual(['conf/extra.yaml', 'params.yaml']);
  });

  it("carries every param of the pipeline (a stage that ran gives what it ran with) and the pass's metrics", () => {
    const results = new Map([
      ['train', { stage: train, action: 'ran' as const, params: [{ key: 'train.C', value: '0.1' }, { key: 'train.model', value: 'lr' }], metrics: [m('loss', 0.5)] }],
      ['evaluate', { stage: evaluate, action: 'restored' as const, params: [{ key: 'conf/extra.yaml/lr', value: '0.5' }], metrics: [m('accuracy', 0.9), m('loss', 0.2)] }],
    ]);
    const { record, problems } = buildPassRecord({ stages, paramsFiles: files, results });
    expect(problems).toEqual([]);
    expect(record.params).toEqual([
      { key: 'prep.seed', value: '1' },
      { key: 'train.C', value: '0.1' },
      { key: 'train.model', value: 'lr' },
      { key: 'conf/extra.yaml/lr', value: '0.5' },
    ]);
    // a key a previous stage gave is kept apart by the stage's name
    expect(record.metrics).toEqual([m('loss', 0.5), m('accuracy', 0.9), m('evaluate/loss', 0.2)]);
    expect(record.tags).toEqual([
      { key: 'reprod.stages.ran', value: 'train' },
      { key: 'reprod.stages.restored', value: 'evaluate' },
    ]);
  });

  it('keeps the first value of a param two stages read differently, and says so', () => {
    const other = trackedStage('other', [], [], [P(['train.C'])]);
    const results = new Map([['train', { stage: train, action: 'ran' as const, params: [{ key: 'train.C', value: '0.1' }], metrics: [] }]]);
    const { record, problems } = buildPassRecord({ stages: [train, other], paramsFiles: files, results });
    expect(record.params).toEqual([{ key: 'train.C', value: '0.1' }]);
    expect(problems).toEqual(["param train.C: stage other read '1.0', the pass's run keeps '0.1'"]);
  });

  it('counts a stage that left the pipeline during the pass', () => {
    const results = new Map([['old', { stage: trackedStage('old', [], []), action: 'ran' as const, params: [], metrics: [m('x', 1)] }]]);
    const { record } = buildPassRecord({ stages: [prep], paramsFiles: files, results });
    expect(record.metrics).toEqual([m('x', 1)]);
    expect(record.params).toEqual([{ key: 'prep.seed', value: '1' }]);
  });
});
