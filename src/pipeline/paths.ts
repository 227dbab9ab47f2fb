/**
 * Workspace-relative POSIX paths, as dvc.yaml writes them and as the rest of
 * reprod compares them: no `./`, no trailing `/`, `..` resolved, `.` for the
 * root. A path is a plain string: a backslash is a character of a file name,
 * as it is for DVC on POSIX.
 */

/** The folder of a workspace-relative file: `sub/dvc.yaml` → `sub`, `dvc.yaml` → `.`. */
export function wsDirname(file: string): string {
  const norm = normalizeWsPath(file);
  if (norm === undefined) return '.';
  const i = norm.lastIndexOf('/');
  return i < 0 ? '.' : norm.slice(0, i);
}

/**
 * Normalises a workspace-relative path; `undefined` when it is absolute or
 * climbs above the workspace root (`../x`), which reprod refuses to touch.
 */
export function normalizeWsPath(p: string): string | undefined {
  if (p.startsWith('/')) return undefined;
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) return undefined;
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out.length === 0 ? '.' : out.join('/');
}

/** Joins a path written relative to `base` (itself workspace-relative) and normalises it. */
export function joinWsPath(base: string, rel: string): string | undefined {
  if (rel.startsWith('/')) return undefined;
  return normalizeWsPath(base === '.' || base === '' ? rel : `${base}/${rel}`);
}

/** True when a string names a remote location (`s3://…`, `https://…`) rather than a workspace path. */
export function isUrlLike(p: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(p);
}
