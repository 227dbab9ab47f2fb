import { describe, expect, it } from 'vitest';
import { sharedStages } from '../../../src/experiments/shared-stages.js';
import { parseOverride, sweepGrid } from '../../../src/experiments/sweep.js';
import { fileStage } from '../../helpers/stages.js';

const params = (path: string, keys: string[] | null) => [{ defPath: path, path, keys }];

//   ingest ─► preprocess ─► train(train) ─► evaluate
//                      └──────────────────────┘
const STAGES = [
  fileStage('ingest', [], ['data/raw'], { params: params('params.yaml', ['ingest.dataset']) }),
  fileStage('preprocess', ['data/raw'], ['data/processed'], { params: params('params.yaml', ['preprocess.seed']) }),
  fileStage('train', ['data/processed'], ['models/model.pkl'], { params: params('params.yaml', ['train']) }),
  fileStage('evaluate', ['data/processed', 'models/model.pkl'], [['metrics/scores.json', 'metric']]),
];

const grid = (...sets: string[]) => sweepGrid(sets.map((s) => parseOverride(s)));

describe('sharedStages: what no experiment of a sweep changes', () => {
  it('a train sweep shares ingest and preprocess', () => {
    expect(sharedStages(STAGES, grid('train.C=0.1,1', 'train.model=choice(a,b)'))).toEqual(['ingest', 'preprocess']);
  });

  it('a swept key under a tracked section, or a section over a tracked key, counts', () => {
    expect(sharedStages(STAGES, grid('preprocess=1,2'))).toEqual(['ingest']);
    expect(sharedStages(STAGES, grid('ingest.dataset=a,b'))).toEqual([]);
  });

  it('a key no stage tracks leaves every stage shared; another params file does not match', () => {
    expect(sharedStages(STAGES, grid('evaluate.champion_threshold=0.9,0.95'))).toEqual(['ingest', 'preprocess', 'train', 'evaluate']);
    expect(sharedStages(STAGES, grid('other.yaml:train.C=1,2'))).toEqual(['ingest', 'preprocess', 'train', 'evaluate']);
  });

  it('a stage tracking a whole params file is changed by any key of it', () => {
    const stages = [fileStage('all', [], ['out'], { params: params('params.yaml', null) }), fileStage('after', ['out'], ['out2'])];
    expect(sharedStages(stages, grid('x=1,2'))).toEqual([]);
  });
});
