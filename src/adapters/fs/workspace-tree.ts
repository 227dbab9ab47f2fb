import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ReprodError } from '../../core/errors.js';
import type { RevTree } from '../../metrics/rev-tree.js';
import { normalizeWsPath } from '../../pipeline/paths.js';
import { errorMessage, isMissing } from '../../core/errno.js';

/** Folders that hold no workspace data: git's and DVC's own. */
const SKIPPED = new Set(['.git', '.dvc']);

/** The workspace as it is on disk, as a {@link RevTree}; paths outside it are refused. */
export class WorkspaceTree implements RevTree {
  readonly rev = 'workspace';

  constructor(private readonly root: string) {}

  private abs(p: string): string {
    const key = normalizeWsPath(p);
    if (key === undefined) {
      throw new ReprodError('PATH_OUTSIDE', `'${p}' is outside the workspace`, { remedy: 'Name files inside the workspace, relative to its root.' });
    }
    return path.join(this.root, key);
  }

  read(p: string): Uint8Array | undefined {
    const abs = this.abs(p);
    try {
      return readFileSync(abs);
    } catch (e) {
      if (isMissing(e) || (e as NodeJS.ErrnoException).code === 'EISDIR') return undefined;
      throw new ReprodError('HASH_IO', `cannot read ${p}: ${errorMessage(e)}`, { cause: e });
    }
  }

  isDir(p: string): boolean {
    try {
      return statSync(this.abs(p)).isDirectory();
    } catch (e) {
      if (isMissing(e)) return false;
      throw new ReprodError('HASH_IO', `cannot read ${p}: ${errorMessage(e)}`, { cause: e });
    }
  }

  find(dir: string): string[] {
    const key = normalizeWsPath(dir);
    if (key === undefined || !this.isDir(key)) return [];
    const out: string[] = [];
    const walk = (rel: string): void => {
      for (const e of readdirSync(path.join(this.root, rel), { withFileTypes: true })) {
        const child = rel === '.' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) {
          if (!SKIPPED.has(e.name)) walk(child);
        } else if (e.isFile() || (e.isSymbolicLink() && !this.isDir(child))) {
          out.push(child);
        }
      }
    };
    walk(key);
    return out.sort();
  }
}
