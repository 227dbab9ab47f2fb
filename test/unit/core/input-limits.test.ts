import { describe, expect, it } from 'vitest';
import { DEFAULT_INPUT_LIMITS, inputLimitsFromEnv } from '../../../src/core/input-limits.js';
import { thrown } from '../../helpers/thrown.js';

describe('inputLimitsFromEnv', () => {
  it('gives the defaults when nothing is set, or a variable is empty', () => {
    expect(inputLimitsFromEnv({})).toEqual(DEFAULT_INPUT_LIMITS);
    expect(inputLimitsFromEnv({ REPROD_MAX_STAGES: '' })).toEqual(DEFAULT_INPUT_LIMITS);
  });

  it('raises (or lowers) each limit by its variable', () => {
    expect(
      inputLimitsFromEnv({ REPROD_MAX_STAGES: '50000', REPROD_MAX_DEPTH: ' 200 ', REPROD_MAX_ALIAS_VALUES: '1000000', REPROD_MAX_STAGE_VALUES: '5000000' }),
    ).toEqual({ maxStages: 50_000, maxDepth: 200, maxAliasValues: 1_000_000, maxStageValues: 5_000_000 });
    expect(inputLimitsFromEnv({ REPROD_MAX_ALIAS_VALUES: '0' }).maxAliasValues).toBe(0);
  });

  it('refuses what is not a whole number, naming the variable', () => {
    for (const [name, value] of [
      ['REPROD_MAX_STAGES', 'lots'],
      ['REPROD_MAX_DEPTH', '1.5'],
      ['REPROD_MAX_STAGE_VALUES', '-3'],
      ['REPROD_MAX_DEPTH', '0'],
      ['REPROD_MAX_STAGES', '1e9'],
    ] as const) {
      const e = thrown(() => inputLimitsFromEnv({ [name]: value }));
      expect(e.code).toBe('USAGE');
      expect(e.message).toMatch(new RegExp(`^${name}: expected a whole number of at least [01], got '${value.replace('.', '\\.')}'$`));
    }
  });
});
