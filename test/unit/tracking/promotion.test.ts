import { describe, expect, it } from 'vitest';
import type { TrackedMetric } from '../../../src/core/ports.js';
import type { LockStage, Stage } from '../../../src/core/types.js';
import { parseParamsText } from '../../../src/pipeline/params-file.js';
import { ReprodError } from '../../../src/core/errors.js';
import { parseManifests } from '../../../src/pipeline/manifests.js';
import { promotionsFor, registrationFor, resolveThreshold, thresholdFiles, type ModelDecl } from '../../../src/tracking/promotion.js';
import { fileStage } from '../../helpers/stages.js';

const stage = (name: string, deps: string[], outs: string[]): Stage => fileStage(name, deps, outs, { cmd: `run ${name}`, source: { file: 'dvc.yaml' } });


function lock(deps: [string, string][], outs: [string, string][]): LockStage {
  return { cmd: 'x', deps: deps.map(([path, md5]) => ({ path, md5 })), params: new Map(), outs: outs.map(([path, md5]) => ({ path, md5 })) };
}

const train = stage('train', ['data'], ['models/model.pkl']);
const evaluate = stage('evaluate', ['data', 'models/model.pkl'], ['metrics/scores.json']);
const report = stage('report', ['models'], ['report.html']);
const unrelated = stage('other', ['data'], ['o.json']);
const params = new Map([['params.yaml', parseParamsText('evaluate:\n  champion_threshold: 0.9\n  flag: true\n', 'params.yaml')]]);
const metrics = (v: number): TrackedMetric[] => [{ key: 'accuracy', value: v, timestamp: 1, step: 0 }];

const models: ModelDecl[] = [
  {
    stage: train,
    spec: { path: 'models/model.pkl', name: 'iris', alias: 'candidate', promote: { metric: 'accuracy', threshold: { param: 'evaluate.champion_threshold' }, alias: 'champion' } },
  },
];

describe('registration', () => {
  it('registers the model of the stage that writes it, with its md5 and alias', () => {
    const r = registrationFor(train, lock([['data', 'd']], [['models/model.pkl', 'm1']]), models);
    expect(r.problems).toEqual([]);
    expect(r.registration).toEqual({
      name: 'iris',
      path: 'models/model.pkl',
      description: 'registered by reprod from stage train (models/model.pkl)',
      md5: 'm1',
      alias: 'candidate',
      tags: [
        { key: 'reprod.stage', value: 'train' },
        { key: 'reprod.path', value: 'models/model.pkl' },
      ],
    });
    expect(registrationFor(evaluate, undefined, models).registration).toBeUndefined();
  });

  it('names the model after its stage by default and leaves out a reserved alias', () => {
    const r = registrationFor(train, undefined, [{ stage: train, spec: { path: 'models/model.pkl', alias: 'latest' } }]);
    expect(r.registration?.name).toBe('train');
    expect(r.registration?.alias).toBeUndefined();
    expect(r.problems[0]).toMatch(/'latest' is reserved/);
  });
});

describe('promotion', () => {
  it('promotes the version evaluate read (its dep md5) when the metric reaches the threshold', () => {
    const entry = lock([['data', 'd'], ['models/model.pkl', 'm1']], [['metrics/scores.json', 's']]);
    const { decisions, problems } = promotionsFor(evaluate, entry, metrics(0.93), models, params);
    expect(problems).toEqual([]);
    expect(decisions).toEqual([
      {
        name: 'iris',
        alias: 'champion',
        metric: 'accuracy',
        value: 0.93,
        threshold: 0.9,
        passed: true,
        promotion: { name: 'iris', alias: 'champion', md5: 'm1', metric: { key: 'accuracy', value: 0.93 } },
        tag: { key: 'reprod.promote.iris.champion', value: 'accuracy 0.93 >= 0.9' },
      },
    ]);
  });

  it('records a miss without promoting', () => {
    const { decisions } = promotionsFor(evaluate, undefined, metrics(0.5), models, params);
    expect(decisions[0]?.passed).toBe(false);
    expect(decisions[0]?.promotion).toBeUndefined();
    expect(decisions[0]?.tag.value).toBe('accuracy 0.5 < 0.9');
  });

  it('promotes the newest version when the deciding stage reads a folder holding the model', () => {
    const { decisions } = promotionsFor(report, undefined, metrics(1), models, params);
    expect(decisions[0]?.promotion).toEqual({ name: 'iris', alias: 'champion', metric: { key: 'accuracy', value: 1 } });
  });

  it('ignores stages that do not read the model, or lack the metric', () => {
    expect(promotionsFor(unrelated, undefined, metrics(1), models, params).decisions).toEqual([]);
    expect(promotionsFor(evaluate, undefined, [{ key: 'f1', value: 1, timestamp: 1, step: 0 }], models, params).decisions).toEqual([]);
  });

  it('lets the model stage decide from its own metrics (out md5)', () => {
    const self: ModelDecl[] = [{ stage: train, spec: { path: 'models/model.pkl', promote: { metric: 'accuracy', threshold: 0.5, alias: 'good' } } }];
    const { decisions } = promotionsFor(train, lock([], [['models/model.pkl', 'm2']]), metrics(0.7), self, params);
    expect(decisions[0]?.promotion).toEqual({ name: 'train', alias: 'good', md5: 'm2', metric: { key: 'accuracy', value: 0.7 } });
  });

  it('reads thresholds from params files and reports bad ones', () => {
    expect(thresholdFiles(models)).toEqual(['params.yaml']);
    expect(resolveThreshold(0.8, params)).toEqual({ value: 0.8 });
    expect(resolveThreshold({ param: 'evaluate.champion_threshold' }, params)).toEqual({ value: 0.9 });
    expect(resolveThreshold({ param: 'evaluate.nope' }, params).problem).toMatch(/no such key/);
    expect(resolveThreshold({ param: 'evaluate.flag' }, params).problem).toMatch(/not a number/);
    expect(resolveThreshold({ param: 'x', file: 'other.yaml' }, params).problem).toMatch(/missing/);
    const bad = promotionsFor(evaluate, undefined, metrics(1), [{ ...models[0]!, spec: { ...models[0]!.spec, promote: { metric: 'accuracy', threshold: { param: 'nope' }, alias: 'champion' } } }], params);
    expect(bad.decisions).toEqual([]);
    expect(bad.problems[0]).toMatch(/iris not promoted: threshold params.yaml:nope: no such key/);
  });
});

describe('manifest model entries', () => {
  const doc = (threshold: string) => `apiVersion: reprod.dev/v1
kind: Stage
metadata: {name: train}
spec:
  model:
    path: models/model.pkl
    name: iris
    alias: candidate
    promote: {metric: accuracy, threshold: ${threshold}, alias: champion}
`;

  it('take a threshold as a number or as a params key', () => {
    const num = parseManifests([{ path: 'manifests/train.yaml', text: doc('0.9') }]);
    expect(num.stages.get('train')?.model?.promote?.threshold).toBe(0.9);
    const ref = parseManifests([{ path: 'manifests/train.yaml', text: doc('{param: evaluate.champion_threshold}') }]);
    expect(ref.stages.get('train')?.model?.promote?.threshold).toEqual({ param: 'evaluate.champion_threshold' });
    const file = parseManifests([{ path: 'manifests/train.yaml', text: doc('{param: t, file: conf/p.yaml}') }]);
    expect(file.stages.get('train')?.model?.promote?.threshold).toEqual({ param: 't', file: 'conf/p.yaml' });
  });

  it('refuse other thresholds, naming the line', () => {
    for (const bad of ['high', '{key: x}']) {
      let err: unknown;
      try {
        parseManifests([{ path: 'manifests/train.yaml', text: doc(bad) }]);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ReprodError);
      expect((err as ReprodError).source).toMatchObject({ file: 'manifests/train.yaml', line: 9, key: 'spec.model.promote.threshold' });
    }
  });
});
