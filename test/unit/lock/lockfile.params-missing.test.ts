/**
 * A params key a stage lists but its params file lacks is reported where the
 * stage lists it: dvc.yaml's file, line and key path, one error per key. A
 * params file that does not exist is a missing input (exit 1), named at its
 * entry under `params:`.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, ReprodError, ReprodErrors } from '../../../src/core/errors.js';
import type { PyDict, PyValue } from '../../../src/core/pyvalue.js';
import type { Stage } from '../../../src/core/types.js';
import { lockStageFromRun } from '../../../src/lock/lockfile.js';
import { parseDvcYaml } from '../../../src/pipeline/parse-dvc-yaml.js';

const map = (entries: [string, PyValue][]): PyDict => new Map(entries);

function stagesOf(text: string, files: Record<string, string> = {}): Stage[] {
  return parseDvcYaml(text, { file: 'dvc.yaml', readFile: (p) => files[p] }).stages;
}

function errorsOf(fn: () => unknown): ReprodError[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ReprodErrors) return e.errors;
    if (e instanceof ReprodError) return [e];
    throw e;
  }
  throw new Error('expected an error');
}

const DVC_YAML = `stages:
  s:
    cmd: echo
    params:
      - lr
      - nope
      - other.yaml:
          - x
          - gone.deep
      - epochs
`;

describe('missing params keys', () => {
  it('each names the line of dvc.yaml that lists it', () => {
    const [stage] = stagesOf(DVC_YAML);
    if (!stage) throw new Error('no stage');
    const params = new Map([
      ['params.yaml', map([['lr', 1], ['epochs', 2]])],
      ['other.yaml', map([['x', 1], ['gone', map([['shallow', 1]])]])],
    ]);
    const errors = errorsOf(() => lockStageFromRun(stage, { hashes: new Map(), params }));
    expect(errors.map((e) => [e.code, e.location, e.message])).toEqual([
      ['PARAMS_MISSING', 'dvc.yaml:6: stages.s.params[1]', "stage 's': parameter 'nope' is missing from 'params.yaml'"],
      ['PARAMS_MISSING', 'dvc.yaml:9: stages.s.params[2].other.yaml[1]', "stage 's': parameter 'gone.deep' is missing from 'other.yaml'"],
    ]);
    expect(ErrorCodes.PARAMS_MISSING.exit).toBe(1);
  });

  it('in a foreach stage, name the line of the template', () => {
    const stages = stagesOf('stages:\n  gen:\n    foreach: [a, b]\n    do:\n      cmd: echo ${item}\n      params:\n        - seed\n        - cfg.${item}\n', {
      'params.yaml': 'seed: 1\ncfg: {a: 1}\n',
    });
    const b = stages.find((s) => s.name === 'gen@b');
    if (!b) throw new Error('no gen@b');
    const errors = errorsOf(() => lockStageFromRun(b, { hashes: new Map(), params: new Map([['params.yaml', map([['seed', 1], ['cfg', map([['a', 1]])]])]]) }));
    expect(errors.map((e) => e.location)).toEqual(['dvc.yaml:8: stages.gen.do.params[1]']);
    expect(errors[0]?.message).toBe("stage 'gen@b': parameter 'cfg.b' is missing from 'params.yaml'");
  });

  it('a missing params file is a missing input, named at its entry', () => {
    const [stage] = stagesOf(DVC_YAML);
    if (!stage) throw new Error('no stage');
    const errors = errorsOf(() => lockStageFromRun(stage, { hashes: new Map(), params: new Map([['params.yaml', map([['lr', 1], ['nope', 1], ['epochs', 1]])]]) }));
    expect(errors.map((e) => [e.code, e.location, e.message, e.exitCode])).toEqual([
      ['DEP_MISSING', 'dvc.yaml:7: stages.s.params[2].other.yaml', "stage 's': params file 'other.yaml' does not exist", 1],
    ]);
  });
});
