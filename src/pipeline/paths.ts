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

/**
 * The folders DVC never tracks nor writes into, whatever the depth: its
 * default ignore rules (`.git` file or folder, `.hg/`, `.dvc/`; see
 * hashing/dvc-ignore.ts). A listing DVC writes never names a path in them,
 * and DVC refuses an output in them (OutputIsIgnoredError).
 */
function internalSegment(segments: readonly string[], lastIsDir: boolean): string | undefined {
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as string;
    const isDir = i < segments.length - 1 || lastIsDir;
    if (s === '.git' || (isDir && (s === '.dvc' || s === '.hg'))) return s;
  }
  return undefined;
}

/**
 * Why a `.dir` listing's `relpath` is not one DVC could have written, or
 * undefined when it is fine. A relpath is `/`-separated and relative to its
 * directory: no leading `/`, no empty, `.` or `..` segment (nor one spelt
 * with backslashes, which Windows would take for separators), no NUL, and
 * nothing inside `.git`, `.dvc` or `.hg`. A backslash inside a name is
 * otherwise an ordinary character, as it is for DVC on POSIX.
 */
export function relpathProblem(relpath: string): string | undefined {
  if (relpath === '') return 'it is empty';
  if (relpath.includes('\0')) return 'it contains a NUL character';
  if (relpath.startsWith('/')) return 'it is absolute';
  const segments = relpath.split('/');
  for (const s of segments) {
    if (s === '') return 'it has an empty segment';
    if (s === '.' || s === '..') return `it has a '${s}' segment`;
    if (s.split('\\').some((part) => part === '..' || part === '.') || s.startsWith('\\')) return `it has a '${s}' segment, which Windows reads as a relative step`;
  }
  const internal = internalSegment(segments, false);
  if (internal !== undefined) return `it reaches into ${internal}, which DVC never tracks`;
  return undefined;
}

/**
 * The DVC-internal folder (`.git`, `.dvc`, `.hg`) a workspace path lies in,
 * or undefined. Outputs may not: DVC ignores these folders, and writing
 * into them would change the repository or DVC's own config.
 */
export function dvcInternalPart(wsPath: string): string | undefined {
  return internalSegment(wsPath.split('/'), true);
}
