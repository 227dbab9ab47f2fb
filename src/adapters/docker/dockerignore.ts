/**
 * `.dockerignore` as Docker's CLI reads it (moby/patternmatcher): one pattern
 * a line, `#` comments, `!` re-includes, paths relative to the context root
 * (a leading `/` is dropped), Go `filepath.Match` syntax plus `**` for any
 * number of folders. The last matching pattern decides, and a pattern that
 * matches a folder matches everything inside it.
 */

interface Pattern {
  exclusion: boolean;
  re: RegExp;
}

export interface DockerIgnore {
  /** True when the context-relative path (`a/b.txt`, `/` separators) is left out of the context. */
  ignores(path: string): boolean;
  /** True when some `!` pattern may re-include a path below an ignored folder. */
  readonly hasExceptions: boolean;
}

/** Cleans a path as Go's `filepath.Clean` does, for relative paths. */
function cleanPath(p: string): string {
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else out.push(part);
  }
  return out.join('/') || '.';
}

function patternToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) {
        re += '\\[';
        continue;
      }
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^') || body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else if (c === '\\' && i + 1 < pattern.length) {
      i++;
      re += (pattern[i] ?? '').replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** Parses `.dockerignore` text. `keep` lists paths that are sent whatever it says (Docker's CLI keeps the Dockerfile and `.dockerignore`). */
export function parseDockerIgnore(text: string, keep: readonly string[] = []): DockerIgnore {
  const patterns: Pattern[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    let exclusion = false;
    if (line.startsWith('!')) {
      exclusion = true;
      line = line.slice(1).trim();
    }
    line = cleanPath(line.replace(/^\/+/, ''));
    if (line === '.') continue;
    patterns.push({ exclusion, re: patternToRegExp(line) });
  }
  const kept = new Set(keep.map(cleanPath));
  const matches = (re: RegExp, path: string): boolean => {
    if (re.test(path)) return true;
    const parts = path.split('/');
    for (let n = 1; n < parts.length; n++) if (re.test(parts.slice(0, n).join('/'))) return true;
    return false;
  };
  return {
    hasExceptions: patterns.some((p) => p.exclusion),
    ignores(path: string): boolean {
      const p = cleanPath(path);
      if (kept.has(p)) return false;
      let ignored = false;
      for (const pat of patterns) {
        if (pat.exclusion === !ignored) continue; // cannot change the verdict
        if (matches(pat.re, p)) ignored = !pat.exclusion;
      }
      return ignored;
    },
  };
}
