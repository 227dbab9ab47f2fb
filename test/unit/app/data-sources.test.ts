import { describe, expect, it } from 'vitest';
import { sourcesUpstreamOf, splitSourceTargets, stagesReading } from '../../../src/app/data-sources.js';
import { parseDvcFile } from '../../../src/pipeline/dvc-file.js';
import { fileStage } from '../../helpers/stages.js';

const dvc = (file: string, out: string) => parseDvcFile(`outs:\n- md5: 55ef7578b917b32028f18767310eac72\n  size: 1\n  hash: md5\n  path: ${out}\n`, file);
const RAW = dvc('data/raw.dvc', 'raw');
const REF = dvc('ref.csv.dvc', 'ref.csv');
const FILES = [RAW, REF];

describe('which data sources a command works on', () => {
  it('takes .dvc files, and the paths they track, out of the targets', () => {
    expect(splitSourceTargets(['data/raw.dvc', 'train', 'ref.csv', 'data/raw/'], FILES)).toEqual({ sources: [RAW, REF], rest: ['train'] });
    expect(splitSourceTargets(['./data/raw'], FILES)).toEqual({ sources: [RAW], rest: [] });
    // a path inside a tracked folder is not the source itself
    expect(splitSourceTargets(['data/raw/a.txt', 'other.dvc'], FILES)).toEqual({ sources: [], rest: ['data/raw/a.txt', 'other.dvc'] });
    // a stage of that name is the stage
    expect(splitSourceTargets(['ref.csv', 'data/raw'], FILES, [fileStage('ref.csv', [], ['x'])])).toEqual({ sources: [RAW], rest: ['ref.csv'] });
  });

  it('finds the sources a stage reads: the tracked path, a path inside it, or a folder holding it', () => {
    expect(sourcesUpstreamOf([fileStage('a', ['data/raw'], ['x'])], FILES)).toEqual([RAW]);
    expect(sourcesUpstreamOf([fileStage('a', ['data/raw/sub/c.txt'], ['x'])], FILES)).toEqual([RAW]);
    expect(sourcesUpstreamOf([fileStage('a', ['data'], ['x'])], FILES)).toEqual([RAW]);
    expect(sourcesUpstreamOf([fileStage('a', ['data/rawer'], ['x']), fileStage('b', ['ref.csv'], ['y'])], FILES)).toEqual([REF]);
    expect(sourcesUpstreamOf([fileStage('a', ['other'], ['x'])], FILES)).toEqual([]);
  });

  it('finds the stages reading a source (for repro --downstream from a .dvc file)', () => {
    const stages = [fileStage('a', ['data/raw/a.txt'], ['x']), fileStage('b', ['x'], ['y']), fileStage('c', ['ref.csv'], ['z'])];
    expect(stagesReading(stages, [RAW]).map((s) => s.name)).toEqual(['a']);
    expect(stagesReading(stages, FILES).map((s) => s.name)).toEqual(['a', 'c']);
  });
});
