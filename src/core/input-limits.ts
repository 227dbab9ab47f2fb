import { ReprodError } from './errors.js';

/**
 * Bounds on what reading the spec may cost. A 1 KB file can describe 10^13
 * values through YAML aliases, 10^6 stages through a matrix, or nest deeper
 * than any recursive reader's stack; each bound is checked before the work it
 * would take, so going over it is an INPUT_LIMIT error within a second, and
 * the worst input that stays within them is read in a few seconds at most.
 *
 * Each can be raised (or lowered) by an environment variable; see
 * docs/LIMITS.md. Pure readers take them as an argument, with these defaults.
 */
export interface InputLimits {
  /** Stages one dvc.yaml may define, each generated foreach/matrix stage counted. */
  maxStages: number;
  /**
   * Levels of mappings and lists in any YAML, JSON or TOML file reprod reads
   * (the top-level mapping is level 1), aliases expanded.
   */
  maxDepth: number;
  /** Values (mappings, lists, scalars) that expanding YAML aliases (`*name`) may add to one file. */
  maxAliasValues: number;
  /**
   * Values in all the stages of a dvc.yaml once foreach and matrix have
   * copied their definitions (a string that `${}` builds counts one value per
   * 16 characters).
   */
  maxStageValues: number;
}

export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxStages: 10_000,
  maxDepth: 100,
  maxAliasValues: 10_000,
  maxStageValues: 1_000_000,
});

/** The environment variable that sets each limit. */
export const INPUT_LIMIT_VARIABLES: Readonly<Record<keyof InputLimits, string>> = Object.freeze({
  maxStages: 'REPROD_MAX_STAGES',
  maxDepth: 'REPROD_MAX_DEPTH',
  maxAliasValues: 'REPROD_MAX_ALIAS_VALUES',
  maxStageValues: 'REPROD_MAX_STAGE_VALUES',
});

/** The smallest value each limit accepts: no aliases at all is a sane policy; no stage or no nesting is not. */
const MINIMUM: Readonly<Record<keyof InputLimits, number>> = { maxStages: 1, maxDepth: 1, maxAliasValues: 0, maxStageValues: 1 };

/**
 * The limits in force for an environment (pass `process.env`): each variable
 * that is set and not empty replaces its default. A value that is not a whole
 * number (in digits) of at least the minimum is a USAGE error naming the
 * variable: a typo must not silently leave the default, or remove the bound.
 */
export function inputLimitsFromEnv(env: Readonly<Record<string, string | undefined>>): InputLimits {
  const limits: InputLimits = { ...DEFAULT_INPUT_LIMITS };
  for (const key of Object.keys(INPUT_LIMIT_VARIABLES) as (keyof InputLimits)[]) {
    const name = INPUT_LIMIT_VARIABLES[key];
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < MINIMUM[key]) {
      throw new ReprodError('USAGE', `${name}: expected a whole number of at least ${MINIMUM[key]}, got '${raw}'`, {
        remedy: `Set ${name} to a whole number, or unset it for the default (${DEFAULT_INPUT_LIMITS[key]}); see docs/LIMITS.md.`,
      });
    }
    limits[key] = n;
  }
  return limits;
}

/** The remedy of an INPUT_LIMIT error about one limit: what to change, and the variable that raises it. */
export function limitRemedy(key: keyof InputLimits, what: string): string {
  return `${what}, or raise the limit: ${INPUT_LIMIT_VARIABLES[key]}=<n> (default ${DEFAULT_INPUT_LIMITS[key]}; see docs/LIMITS.md).`;
}
