import { isPyDict, type PyDict, type PyValue } from '../core/pyvalue.js';
import { findInterpolations, toStr, type ParsingConfig } from './interpolate.js';

/**
 * What foreach and matrix iterate over, and the names of the stages they
 * generate, as DVC 3 names them (dvc/parsing/__init__.py):
 *
 *   foreach over a mapping            name@<key>
 *   foreach over a list of scalars    name@<value>        (`true`, `0.1`, `None`)
 *   foreach over a list with any
 *     list or mapping in it           name@0, name@1, ...
 *   matrix {a: [x, y], b: [{..}]}     name@x-b0, name@y-b0 (a list or mapping
 *                                     value is named <matrix key><index>)
 *
 * A repeated name keeps its first position and its last value. A boolean
 * that came from `vars` through `${}` names a stage as Python prints it
 * (`True`), one written in dvc.yaml as DVC prints it (`true`).
 */

/** foreach's items by name fragment; `src` is the `foreach` value as written. */
export function foreachMembers(iterable: PyDict | PyValue[], src: PyValue, config: ParsingConfig): Map<string, PyValue> {
  const members = new Map<string, PyValue>();
  if (isPyDict(iterable)) {
    for (const [k, v] of iterable) members.set(k, v);
  } else if (iterable.some((v) => Array.isArray(v) || isPyDict(v))) {
    iterable.forEach((v, i) => members.set(String(i), v));
  } else {
    const fromVars = elementsFromVars(src, iterable.length);
    iterable.forEach((v, i) => members.set(nameFragment(v, fromVars[i] ?? false, config), v));
  }
  return members;
}

export interface MatrixAxis {
  key: string;
  values: PyValue[];
  fromVars: boolean[];
}

/**
 * The axes of a resolved matrix (`src` as written): a list, a mapping (its
 * keys) or a plain string (its characters, as Python iterates it). The key
 * of a value that is none of them is returned instead.
 */
export function matrixAxes(resolved: PyDict, src: PyDict): { axes: MatrixAxis[] } | { bad: string; value: PyValue } {
  const axes: MatrixAxis[] = [];
  for (const [k, v] of resolved) {
    const raw = src.get(k) ?? null;
    if (Array.isArray(v)) {
      axes.push({ key: k, values: v, fromVars: elementsFromVars(raw, v.length) });
    } else if (isPyDict(v)) {
      axes.push({ key: k, values: [...v.keys()], fromVars: [...v.keys()].map(() => true) });
    } else if (typeof v === 'string' && !(typeof raw === 'string' && isWhole(raw))) {
      axes.push({ key: k, values: [...v], fromVars: [...v].map(() => false) });
    } else {
      return { bad: k, value: v };
    }
  }
  return { axes };
}

/** Every combination of the axes' values, by name fragment (`x-b0`), in DVC's order. */
export function matrixCombos(axes: readonly MatrixAxis[], config: ParsingConfig): Map<string, PyDict> {
  const combos = new Map<string, PyDict>();
  const walk = (depth: number, fragments: string[], item: PyDict): void => {
    const axis = axes[depth];
    if (axis === undefined) {
      combos.set(fragments.join('-'), new Map(item));
      return;
    }
    axis.values.forEach((v, i) => {
      const frag = Array.isArray(v) || isPyDict(v) ? `${axis.key}${i}` : nameFragment(v, axis.fromVars[i] ?? false, config);
      item.set(axis.key, v);
      walk(depth + 1, [...fragments, frag], item);
    });
    item.delete(axis.key);
  };
  walk(0, [], new Map());
  return combos;
}

function isWhole(s: string): boolean {
  const found = findInterpolations(s);
  const only = found[0];
  return found.length === 1 && only !== undefined && only.start === 0 && only.end === s.length;
}

/**
 * Which elements of a resolved foreach/matrix list came out of the context
 * (DVC keeps those as context nodes, and names them with Python's `str()`).
 */
function elementsFromVars(src: PyValue, n: number): boolean[] {
  if (typeof src === 'string') return new Array<boolean>(n).fill(true);
  if (Array.isArray(src)) return src.map((v) => typeof v === 'string' && isWhole(v));
  return new Array<boolean>(n).fill(false);
}

function nameFragment(v: PyValue, fromVars: boolean, config: ParsingConfig): string {
  if (typeof v === 'boolean' && fromVars) return v ? 'True' : 'False';
  return toStr(v, config);
}
