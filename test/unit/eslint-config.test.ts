/**
 * The dependency rule of eslint.config.js, proved to fire: small sources are
 * linted as if they sat at a path under src/ (ESLint's own API, the
 * repository's config), and each restriction must report its import, while
 * what the layering allows stays clean. A lint rule that cannot fail is a defect.
 */
import path from 'node:path';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../..');
let eslint: ESLint;

beforeAll(() => {
  eslint = new ESLint({ cwd: REPO });
});

/** The messages of the import rules for `code` placed at `file` (relative to the repository). */
async function importErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(REPO, file) });
  if (!result) throw new Error(`no lint result for ${file}`);
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length) throw new Error(`${file} does not parse: ${fatal.map((m) => m.message).join('; ')}`);
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

const uses = (spec: string, name = 'x') => `import { ${name} } from '${spec}';\nexport const y = ${name};\n`;

describe('the order among the pure modules', () => {
  it.each([
    ['src/pipeline/fixture.ts', '../reconcile/reconciler.js', 'pipeline sits below'],
    ['src/pipeline/fixture.ts', '../lock/lockfile.js', 'pipeline sits below'],
    ['src/lock/fixture.ts', '../status/status-docs.js', 'lock sits below'],
    ['src/status/fixture.ts', '../tracking/flatten.js', 'status sits below'],
    ['src/remote/fixture.ts', '../tracking/flatten.js', 'remote sits below'],
    ['src/tracking/fixture.ts', '../export/airflow-dag.js', 'tracking sits below'],
    ['src/export/fixture.ts', '../reconcile/reproduce.js', 'export sits below'],
    ['src/pipeline/sub/fixture.ts', '../../reconcile/reconciler.js', 'pipeline sits below'],
  ])('%s may not import %s', async (file, spec, message) => {
    const errors = await importErrors(file, uses(spec));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(message);
  });

  it('holds for type imports and re-exports too', async () => {
    expect(await importErrors('src/pipeline/fixture.ts', "import type { X } from '../reconcile/reconciler.js';\nexport type Y = X;\n")).toHaveLength(1);
    expect(await importErrors('src/pipeline/fixture.ts', "export { x } from '../reconcile/reconciler.js';\n")).toHaveLength(1);
  });

  it.each([
    ['src/lock/fixture.ts', '../pipeline/yaml-load.js'],
    ['src/status/fixture.ts', '../lock/lockfile.js'],
    ['src/remote/fixture.ts', '../lock/lockfile.js'],
    ['src/reconcile/fixture.ts', '../tracking/stage-record.js'],
    ['src/reconcile/fixture.ts', '../status/status-docs.js'],
    ['src/pipeline/fixture.ts', './dag.js'],
    ['src/pipeline/fixture.ts', '../core/types.js'],
  ])('%s may import %s', async (file, spec) => {
    expect(await importErrors(file, uses(spec))).toEqual([]);
  });

  it('keeps pure modules below hashing, cache, adapters, app and cli', async () => {
    for (const spec of ['../hashing/walk-files.js', '../cache/object-cache.js', '../adapters/docker/engine.js', '../app/project.js', '../cli/main.js']) {
      expect(await importErrors('src/reconcile/fixture.ts', uses(spec)), spec).toHaveLength(1);
    }
  });
});

describe('no I/O in core and the pure modules', () => {
  it.each(['node:module', 'module', 'node:fs', 'chokidar'])('%s is refused', async (spec) => {
    for (const file of ['src/pipeline/fixture.ts', 'src/core/fixture.ts']) {
      expect(await importErrors(file, uses(spec, 'createRequire')), `${file}: ${spec}`).toHaveLength(1);
    }
  });

  it('refuses loading at run time with import()', async () => {
    const errors = await importErrors('src/status/fixture.ts', "export const m = await import('../../schemas/status.schema.json', { with: { type: 'json' } });\n");
    expect(errors).toEqual(['pure modules and core load nothing at run time: take it through a port, or import it statically']);
  });

  it('lets the one schema loader read the package\'s schemas (node:fs) and require its validators (node:module), and holds it to every other rule', async () => {
    expect(await importErrors('src/pipeline/schemas.ts', uses('node:fs', 'readFileSync'))).toEqual([]);
    expect(await importErrors('src/pipeline/schemas.ts', uses('node:module', 'createRequire'))).toEqual([]);
    expect(await importErrors('src/pipeline/schemas.ts', uses('node:child_process', 'spawn'))).toHaveLength(1);
    expect(await importErrors('src/pipeline/schemas.ts', uses('../reconcile/reconciler.js'))).toHaveLength(1);
    const load = "export const m = await import('../../schemas/status.schema.json', { with: { type: 'json' } });\n";
    expect(await importErrors('src/pipeline/schemas.ts', load)).toHaveLength(1);
    expect(await importErrors('src/pipeline/schema-errors.ts', uses('node:fs', 'readFileSync'))).toHaveLength(1);
  });

  it('refuses process.getBuiltinModule, but in the lazy node:crypto of core', async () => {
    const load = "export const f = () => process.getBuiltinModule('node:fs').readFileSync('x');\n";
    for (const file of ['src/pipeline/fixture.ts', 'src/reconcile/fixture.ts', 'src/core/fixture.ts']) {
      const errors = await importErrors(file, load);
      expect(errors, file).toHaveLength(1);
      expect(errors[0]).toContain("take Node's modules by import");
    }
    expect(await importErrors('src/core/crypto.ts', "export const c = () => process.getBuiltinModule('node:crypto');\n")).toEqual([]);
    expect(await importErrors('src/core/crypto.ts', "export const m = await import('node:fs');\n")).toHaveLength(1);
  });
});

describe('the CLI imports app, core and named formatters only', () => {
  it.each(['../reconcile/reproduce.js', '../pipeline/dag.js', '../remote/tracked.js', '../lock/lockfile.js', '../adapters/docker/engine.js', '../hashing/walk-files.js'])(
    'refuses %s',
    async (spec) => {
      const errors = await importErrors('src/cli/fixture.ts', uses(spec));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('the CLI does presentation');
    },
  );

  it('refuses I/O', async () => {
    expect(await importErrors('src/cli/fixture.ts', uses('node:fs/promises', 'readFile'))).toHaveLength(1);
  });

  it('takes from a formatter module only the names listed', async () => {
    expect(await importErrors('src/cli/fixture.ts', uses('../pipeline/stage-status.js', 'describeReason'))).toEqual([]);
    const errors = await importErrors('src/cli/fixture.ts', uses('../pipeline/stage-status.js', 'stageStatus'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('only describeReason, toDvcStatusJson');
  });

  it.each(['../app/oneshot.js', '../core/errors.js', './format.js', '../pipeline/dag-format.js', '../remote/report.js'])('allows %s', async (spec) => {
    const name = spec === '../remote/report.js' ? 'summary' : 'x';
    expect(await importErrors('src/cli/fixture.ts', uses(spec, name))).toEqual([]);
  });
});

describe('the outer layers', () => {
  it('core imports nothing else of ours; adapters never import app or cli; app never imports cli', async () => {
    expect(await importErrors('src/core/fixture.ts', uses('../pipeline/dag.js'))).toHaveLength(1);
    expect(await importErrors('src/adapters/docker/fixture.ts', uses('../../app/project.js'))).toHaveLength(1);
    expect(await importErrors('src/app/fixture.ts', uses('../cli/main.js'))).toHaveLength(1);
    expect(await importErrors('src/app/fixture.ts', uses('../reconcile/reconciler.js'))).toEqual([]);
  });
});
