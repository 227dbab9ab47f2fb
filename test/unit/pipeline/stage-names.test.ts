import { describe, expect, it } from 'vitest';
import { closeNames, stageNames, unknownStage } from '../../../src/pipeline/stage-names.js';

const STAGES = ['ingest', 'preprocess', 'train', 'evaluate'];

describe('unknown stage names', () => {
  it('suggests the stage a typo was meant for, and lists the stages', () => {
    const e = unknownStage('trian', STAGES);
    expect(e.code).toBe('STAGE_NOT_FOUND');
    expect(e.message).toBe("stage 'trian' does not exist in the pipeline; did you mean 'train'?");
    expect(e.remedy).toBe('The stages are: ingest, preprocess, train, evaluate.');
  });

  it('suggests nothing for a name far from all', () => {
    expect(unknownStage('deploy', STAGES).message).toBe("stage 'deploy' does not exist in the pipeline");
  });

  it('close names: a swap, a missing letter, a prefix, case; nearest first, at most three', () => {
    expect(closeNames('evalute', STAGES)).toEqual(['evaluate']);
    expect(closeNames('pre', STAGES)).toEqual(['preprocess']);
    expect(closeNames('TRAIN', STAGES)).toEqual(['train']);
    expect(closeNames('a', ['b', 'c', 'd', 'e'])).toEqual(['b', 'c', 'd']);
  });

  it('groups are names too; a long list is cut at 20', () => {
    expect(stageNames([{ name: 'gen@a', group: 'gen' }, { name: 'gen@b', group: 'gen' }, { name: 'k', group: 'k' }])).toEqual(['gen', 'gen@a', 'gen@b', 'k']);
    const many = Array.from({ length: 25 }, (_, i) => `s${i}`);
    expect(unknownStage('zzz', many).remedy).toMatch(/s19, and 5 more \(reprod dag lists them all\)\.$/);
  });
});
