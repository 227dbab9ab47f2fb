import { DEFAULT_INPUT_LIMITS, limitRemedy, type InputLimits } from '../core/input-limits.js';
import { isPyDict, type PyValue } from '../core/pyvalue.js';

/**
 * What templating a dvc.yaml may produce, counted as it goes: stages (each
 * foreach/matrix item one) and values (every mapping, list and scalar of
 * every stage; a string that `${}` builds, one per 16 characters). A group is
 * charged before it is expanded (its stage count, and its definition's size
 * times that), so a matrix of 10^6 stages costs a multiplication, not 10^6
 * stages. Text is charged as `${}` builds it: its cost is the copy itself.
 *
 * A charge that goes over returns the problem (the caller places it in the
 * file); once over, templating stops, so nothing after it is charged.
 */
export interface BudgetProblem {
  message: string;
  remedy: string;
}

/** Characters of built text that count as one value (about what a small value costs in memory). */
export const CHARS_PER_VALUE = 16;

export type GroupKind = 'foreach' | 'matrix';

export class ExpansionBudget {
  private stages = 0;
  private values = 0;
  private readonly maxStages: number;
  private readonly maxValues: number;

  constructor(limits: Partial<Pick<InputLimits, 'maxStages' | 'maxStageValues'>> = {}) {
    this.maxStages = limits.maxStages ?? DEFAULT_INPUT_LIMITS.maxStages;
    this.maxValues = limits.maxStageValues ?? DEFAULT_INPUT_LIMITS.maxStageValues;
  }

  /**
   * A foreach or matrix group `name` about to generate `count` stages from
   * `definition` (for a matrix, `factors` are its axes' lengths).
   */
  group(kind: GroupKind, name: string, count: bigint, definition: PyValue, factors?: readonly number[]): BudgetProblem | undefined {
    const what = `${kind} of '${name}' would generate ${count} stages${factors && factors.length > 1 ? ` (${factors.join(' × ')})` : ''}`;
    const before = this.stages;
    if (BigInt(before) + count > BigInt(this.maxStages)) {
      return {
        message: `${what}: ${before > 0 ? `with the ${before} defined before it, ` : ''}more than ${this.maxStages}, the limit`,
        remedy: limitRemedy('maxStages', 'Generate fewer stages (fewer foreach items, fewer matrix values)'),
      };
    }
    const n = Number(count);
    const each = countValues(definition, this.maxValues);
    if (this.values + n * each > this.maxValues) {
      return {
        message: `${what} of ${each} values each (${n * each} values in all): more than ${this.maxValues}, the limit`,
        remedy: limitRemedy('maxStageValues', 'Generate fewer stages, or keep large data out of their definition (in a file they depend on)'),
      };
    }
    this.stages += n;
    this.values += n * each;
    return undefined;
  }

  /** One stage written out in dvc.yaml. */
  stage(name: string, definition: PyValue): BudgetProblem | undefined {
    if (this.stages + 1 > this.maxStages) {
      return {
        message: `stage '${name}' would be stage ${this.stages + 1}: more than ${this.maxStages}, the limit`,
        remedy: limitRemedy('maxStages', 'Define fewer stages'),
      };
    }
    const each = countValues(definition, this.maxValues);
    if (this.values + each > this.maxValues) {
      return {
        message: `stage '${name}' has ${each} values, more than the ${this.maxValues - this.values} left of the limit of ${this.maxValues}`,
        remedy: limitRemedy('maxStageValues', 'Keep large data out of the stage definition (in a file it depends on)'),
      };
    }
    this.stages += 1;
    this.values += each;
    return undefined;
  }

  /** `length` characters of text that `${}` has just built. */
  text(length: number): BudgetProblem | undefined {
    this.values += Math.floor(length / CHARS_PER_VALUE);
    if (this.values <= this.maxValues) return undefined;
    return {
      message: `the text \${} builds takes the stages past ${this.maxValues} values (${CHARS_PER_VALUE} characters count as one), the limit`,
      remedy: limitRemedy('maxStageValues', 'Interpolate smaller values (a large dictionary in `cmd` becomes a long command line)'),
    };
  }
}

/** Values in `v` (itself included), counting stopped once past `cap`. */
export function countValues(v: PyValue, cap: number): number {
  let n = 0;
  const stack: PyValue[] = [v];
  while (stack.length > 0 && n <= cap) {
    const x = stack.pop() as PyValue;
    n++;
    if (Array.isArray(x)) for (const y of x) stack.push(y);
    else if (isPyDict(x)) for (const y of x.values()) stack.push(y);
  }
  return n;
}
