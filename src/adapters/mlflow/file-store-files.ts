import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isMissing } from '../../core/errno.js';
import { MlflowError } from './mlflow-error.js';

/* The file store's folder and naming helpers (see file-store.ts for the layout). */

/** The names of the folders in `dir`; none when it does not exist. */
export async function subdirs(dir: string): Promise<string[]> {
  try {
    return (await fs.readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
}

/** Files under `dir`, relative, with `/` (tag and param keys with `/` are nested folders). */
export async function filesUnder(dir: string, prefix = ''): Promise<string[]> {
  let entries;
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
  const out: string[] = [];
  for (const e of entries) {
    if (e.isDirectory()) out.push(...(await filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`)));
    else if (e.isFile()) out.push(`${prefix}${e.name}`);
  }
  return out.sort();
}

/** Joins a validated key below `dir` (keys never hold `..` or a leading `/`: see mlflowKey). */
export function keyPath(dir: string, key: string): string {
  const p = path.join(dir, ...key.split('/'));
  if (!p.startsWith(dir + path.sep)) throw new MlflowError('rejected', `invalid key '${key}'`);
  return p;
}

/** MLflow's experiment ids: 18 random digits, no leading zero. */
export function newExperimentId(): string {
  const digits = [...randomBytes(18)].map((b) => String(b % 10));
  if (digits[0] === '0') digits[0] = String(1 + ((randomBytes(1)[0] ?? 0) % 9));
  return digits.join('');
}
