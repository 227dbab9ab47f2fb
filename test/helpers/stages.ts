import type { OutKind, Stage } from '../../src/core/types.js';

/**
 * A stage as the parser gives it, for tests on literal graphs: file deps and
 * outs (plain outs, or `[path, kind]`), `make <name>` as its command; `extra`
 * overrides any field.
 */
export function fileStage(name: string, deps: string[], outs: (string | [string, OutKind])[], extra: Partial<Stage> = {}): Stage {
  return {
    name,
    group: name,
    cmd: `make ${name}`,
    wdir: '.',
    deps: deps.map((p) => ({ defPath: p, path: p })),
    params: [],
    outs: outs.map((o) => {
      const [p, kind] = typeof o === 'string' ? [o, 'out' as const] : o;
      return { defPath: p, path: p, kind, cache: kind === 'out', persist: false, push: true };
    }),
    frozen: false,
    alwaysChanged: false,
    source: { file: 'dvc.yaml', key: `stages.${name}` },
    ...extra,
  };
}
