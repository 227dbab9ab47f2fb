/**
 * Small inputs that cost a naive reader a lot: alias bombs ("billion laughs"),
 * matrix bombs and deep nesting. Shared by the tests of the limits and by
 * bench/soak-yaml.ts. Each returns the text and where its trouble starts.
 */

/**
 * `levels` anchored lists under `key0..keyN`, each holding `width` aliases of
 * the one before: `a0` is `width` scalars, `aN` expands to width^(N+1).
 * Lines are indented by `indent`; the first list is on line `firstLine`.
 */
export function aliasBombLines(levels: number, indent = '', width = 10): string[] {
  const lines = [`${indent}a0: &a0 [${Array.from({ length: width }, () => 'lol').join(', ')}]`];
  for (let i = 1; i <= levels; i++) {
    lines.push(`${indent}a${i}: &a${i} [${Array.from({ length: width }, () => `*a${i - 1}`).join(', ')}]`);
  }
  return lines;
}

/** A dvc.yaml whose one stage carries an alias bomb under `meta` (which DVC lets hold anything). */
export function dvcYamlAliasBomb(levels: number, width = 10): string {
  return ['stages:', '  s:', '    cmd: echo hi', '    meta:', ...aliasBombLines(levels, '      ', width), ''].join('\n');
}

/** A params.yaml that is an alias bomb from its first line. */
export function paramsAliasBomb(levels: number, width = 10): string {
  return [...aliasBombLines(levels, '', width), 'lr: 0.1', ''].join('\n');
}

/** A dvc.yaml with one matrix stage of `keys` keys × `values` values each: values^keys stages. */
export function dvcYamlMatrixBomb(keys: number, values: number): string {
  const axis = `[${Array.from({ length: values }, (_, i) => i).join(', ')}]`;
  const names = Array.from({ length: keys }, (_, i) => `k${i}`);
  return ['stages:', '  s:', '    matrix:', ...names.map((k) => `      ${k}: ${axis}`), '    cmd: echo ${item.k0}', ''].join('\n');
}

/** `[[[...]]]` nested `depth` deep, as one line. */
export function deepFlow(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

/** Block mappings nested `depth` deep under `key`, starting at `indent` (one line per level). */
export function deepBlockLines(depth: number, indent = ''): string[] {
  const lines: string[] = [];
  for (let i = 0; i < depth; i++) lines.push(`${indent}${' '.repeat(i)}k${i}:`);
  lines[lines.length - 1] += ' x';
  return lines;
}

/** A dvc.yaml whose stage's `meta` is nested `depth` deep (flow style). */
export function dvcYamlDeepFlow(depth: number): string {
  return `stages:\n  s:\n    cmd: echo hi\n    meta: ${deepFlow(depth)}\n`;
}

/** A dvc.yaml whose stage's `meta` is nested `depth` deep (block style). */
export function dvcYamlDeepBlock(depth: number): string {
  return ['stages:', '  s:', '    cmd: echo hi', '    meta:', ...deepBlockLines(depth, '      '), ''].join('\n');
}

/** Milliseconds `fn` took, and what it threw (undefined when it returned). */
export function timed(fn: () => unknown): { ms: number; thrown: unknown } {
  const t0 = performance.now();
  try {
    fn();
    return { ms: performance.now() - t0, thrown: undefined };
  } catch (e) {
    return { ms: performance.now() - t0, thrown: e };
  }
}
