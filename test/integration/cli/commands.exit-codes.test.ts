/**
 * `reprod validate` and `reprod status` on the same bad input, on real files:
 * they exit with the same code (the error class's, from the catalogue), the
 * error names the file and the line, comes within a second, and no JavaScript
 * stack trace ever reaches the user.
 *
 * A missing input (a dependency, a params file, a params key) is not an
 * invalid pipeline: `status` reports the stage stale (exit 0, as `dvc
 * status`; 1 with -q) and `validate` exits 1, the README's code for "an input
 * is missing". So `validate` and `status -q` agree on every row.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dvcYamlAliasBomb, dvcYamlDeepBlock, dvcYamlDeepFlow, dvcYamlMatrixBomb, paramsAliasBomb } from '../../helpers/hostile-yaml.js';
import { reprod, tempDir } from '../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../..');

function write(root: string, files: Record<string, string | Buffer>): void {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), content);
  }
}

const ONE = 'stages:\n  s:\n    cmd: echo hi\n';
const WITH_PARAMS = 'stages:\n  s:\n    cmd: echo hi\n    params:\n      - lr\n';
/** `lr: 0.1` with a Latin-1 'é' (0xE9, not UTF-8) in a comment on line 2. */
const LATIN1_PARAMS = Buffer.concat([Buffer.from('lr: 0.1\n# caf'), Buffer.from([0xe9]), Buffer.from('\n')]);

interface Row {
  name: string;
  files: Record<string, string | Buffer>;
  /** validate's code, and status -q's */
  code: number;
  /** What stderr says first: `ERROR: <location>: <message start>`. */
  error: RegExp;
  /** A missing input: plain `status` reports the stage stale instead of failing. */
  stale?: boolean;
}

const ROWS: Row[] = [
  { name: 'YAML syntax', files: { 'dvc.yaml': 'stages:\n  s:\n    cmd: [\n' }, code: 2, error: /^ERROR: dvc\.yaml:4:1: invalid YAML/ },
  { name: 'schema', files: { 'dvc.yaml': `${ONE}    extra: 1\n` }, code: 2, error: /^ERROR: dvc\.yaml:4: stages\.s: unknown key 'extra'/ },
  { name: 'interpolation', files: { 'dvc.yaml': 'stages:\n  s:\n    cmd: echo ${nope}\n' }, code: 2, error: /^ERROR: dvc\.yaml:3: stages\.s\.cmd: Could not find 'nope'/ },
  { name: 'alias bomb in dvc.yaml', files: { 'dvc.yaml': dvcYamlAliasBomb(12) }, code: 2, error: /^ERROR: dvc\.yaml:8: stages\.s\.meta\.a3\[7\]: YAML aliases/ },
  { name: 'alias bomb in params.yaml', files: { 'dvc.yaml': WITH_PARAMS, 'params.yaml': paramsAliasBomb(12) }, code: 2, error: /^ERROR: params\.yaml:4: a3\[7\]: YAML aliases/ },
  { name: 'matrix bomb', files: { 'dvc.yaml': dvcYamlMatrixBomb(6, 10) }, code: 2, error: /^ERROR: dvc\.yaml:3: stages\.s\.matrix: matrix of 's' would generate 1000000 stages/ },
  { name: 'nesting 3000 deep (flow)', files: { 'dvc.yaml': dvcYamlDeepFlow(3000) }, code: 2, error: /^ERROR: dvc\.yaml:4:108: nested more than 100 levels deep/ },
  { name: 'nesting 3000 deep (block)', files: { 'dvc.yaml': dvcYamlDeepBlock(3000) }, code: 2, error: /^ERROR: dvc\.yaml:102:\d+: nested more than 100 levels deep/ },
  {
    name: 'non-UTF-8 dvc.yaml',
    files: { 'dvc.yaml': Buffer.concat([Buffer.from('stages:\n  s:\n    cmd: echo '), Buffer.from([0xff, 0xfe]), Buffer.from('\n')]) },
    code: 2,
    error: /^ERROR: dvc\.yaml:3:15: not valid UTF-8/,
  },
  { name: 'non-UTF-8 params.yaml', files: { 'dvc.yaml': WITH_PARAMS, 'params.yaml': LATIN1_PARAMS }, code: 2, error: /^ERROR: params\.yaml:2:6: not valid UTF-8/ },
  {
    name: 'non-UTF-8 manifest',
    files: { 'dvc.yaml': ONE, 'manifests/s.yaml': Buffer.concat([Buffer.from('apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: s}\nspec: {runtime: host, env: {A: "'), Buffer.from([0xc3]), Buffer.from('"}}\n')]) },
    code: 2,
    error: /^ERROR: manifests\/s\.yaml:4:\d+: not valid UTF-8/,
  },
  {
    name: 'non-UTF-8 dvc.lock',
    files: { 'dvc.yaml': ONE, 'dvc.lock': Buffer.concat([Buffer.from("schema: '2.0'\nstages:\n  s:\n    cmd: echo "), Buffer.from([0x80]), Buffer.from('\n')]) },
    code: 2,
    error: /^ERROR: dvc\.lock:4:15: not valid UTF-8/,
  },
  {
    name: 'non-UTF-8 params file only a stage reads',
    files: { 'dvc.yaml': 'stages:\n  s:\n    cmd: echo hi\n    params:\n      - other.yaml: [x]\n', 'other.yaml': Buffer.concat([Buffer.from('x: caf'), Buffer.from([0xe9]), Buffer.from('\n')]) },
    code: 2,
    error: /^ERROR: other\.yaml:1:7: not valid UTF-8/,
  },
  { name: 'corrupt dvc.lock', files: { 'dvc.yaml': ONE, 'dvc.lock': "schema: '2.0'\nstages: [\n" }, code: 2, error: /^ERROR: dvc\.lock:3:1: invalid YAML/ },
  { name: 'invalid params file', files: { 'dvc.yaml': WITH_PARAMS, 'params.yaml': 'lr: [\n' }, code: 2, error: /^ERROR: params\.yaml:2:1: 'params\.yaml': invalid YAML/ },
  {
    name: 'cycle',
    files: { 'dvc.yaml': 'stages:\n  a:\n    cmd: echo\n    deps: [y]\n    outs: [x]\n  b:\n    cmd: echo\n    deps: [x]\n    outs: [y]\n' },
    code: 2,
    error: /^ERROR: dvc\.yaml:2: stages\.a: the pipeline has a cycle/,
  },
  { name: 'path outside', files: { 'dvc.yaml': `${ONE}    deps: [../x]\n` }, code: 2, error: /^ERROR: dvc\.yaml:4: stages\.s\.deps\[0\]: '\.\.\/x' is outside the workspace/ },
  { name: 'manifest schema', files: { 'dvc.yaml': ONE, 'manifests/x.yaml': 'kind: Nope\n' }, code: 2, error: /^ERROR: manifests\/x\.yaml:1: apiVersion: missing required key/ },
  { name: '.dvc/config', files: { 'dvc.yaml': ONE, '.dvc/config': '[core]\nnonsense\n' }, code: 2, error: /^ERROR: \.dvc\/config:2: cannot read line 2/ },
  { name: 'no dvc.yaml', files: { 'README.md': 'empty\n' }, code: 2, error: /^ERROR: no dvc\.yaml in / },
  { name: 'missing dependency', files: { 'dvc.yaml': `${ONE}    deps: [gone.txt]\n` }, code: 1, error: /^ERROR: dvc\.yaml:2: stages\.s\.deps: stage 's': dependency 'gone\.txt' does not exist/, stale: true },
  {
    name: 'missing params key',
    files: { 'dvc.yaml': `${WITH_PARAMS}      - nope\n`, 'params.yaml': 'lr: 0.1\n' },
    code: 1,
    error: /^ERROR: dvc\.yaml:6: stages\.s\.params\[1\]: stage 's': parameter 'nope' is missing from 'params\.yaml'/,
    stale: true,
  },
  { name: 'missing params file', files: { 'dvc.yaml': WITH_PARAMS }, code: 1, error: /^ERROR: dvc\.yaml:5: stages\.s\.params\[0\]: stage 's': params file 'params\.yaml' does not exist/, stale: true },
];

const NO_STACK = /^\s+at |unexpected:|RangeError|TypeError/m;

describe('validate and status on the same bad input', () => {
  // the time bounds are about the input: the modules commands load on first use are loaded first
  beforeAll(async () => {
    using ws = tempDir('reprod-exit-');
    write(ws.path, { 'dvc.yaml': ONE });
    expect((await reprod(ws.path, 'validate')).code).toBe(0);
    expect((await reprod(ws.path, '--runtime', 'host', 'status')).code).toBe(0);
  });

  for (const row of ROWS) {
    it(`${row.name}: exit ${row.code} from both, the same located error, within a second`, async () => {
      using ws = tempDir('reprod-exit-');
      write(ws.path, row.files);
      let t0 = performance.now();
      const validate = await reprod(ws.path, 'validate');
      const validateMs = performance.now() - t0;
      t0 = performance.now();
      const status = await reprod(ws.path, '--runtime', 'host', 'status');
      const statusMs = performance.now() - t0;
      const quiet = await reprod(ws.path, '--runtime', 'host', 'status', '-q');

      expect(validate.code, validate.stderr).toBe(row.code);
      expect(validate.stderr).toMatch(row.error);
      expect(quiet.code, quiet.stderr).toBe(row.code);
      if (row.stale) {
        expect(status.code, status.stderr).toBe(0);
        expect(status.stdout).toMatch(/^s:\n/);
      } else {
        expect(status.code, status.stderr).toBe(row.code);
        expect(status.stderr.split('\n')[0]).toBe(validate.stderr.split('\n')[0]);
      }
      for (const r of [validate, status, quiet]) expect(r.stderr).not.toMatch(NO_STACK);
      expect(validateMs).toBeLessThan(1000);
      expect(statusMs).toBeLessThan(1000);
    });
  }
});

describe('the command line as a user runs it', () => {
  it('prints the located error and no stack trace for 3000 levels of nesting and an alias bomb', () => {
    using ws = tempDir('reprod-exit-');
    for (const [dvcYaml, expected] of [
      [dvcYamlDeepFlow(3000), /^ERROR: dvc\.yaml:4:108: nested more than 100 levels deep\n  hint: .*REPROD_MAX_DEPTH/],
      [dvcYamlAliasBomb(12), /^ERROR: dvc\.yaml:8: stages\.s\.meta\.a3\[7\]: .*\n  hint: .*REPROD_MAX_ALIAS_VALUES/],
    ] as const) {
      write(ws.path, { 'dvc.yaml': dvcYaml });
      const child = spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), '-C', ws.path, 'validate'], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
      expect(child.status, child.stderr).toBe(2);
      expect(child.stderr).toMatch(expected);
      expect(child.stderr).not.toMatch(NO_STACK);
    }
  });

  it('validate --schema-only refuses a file that is not UTF-8, as validate does', async () => {
    using ws = tempDir('reprod-exit-');
    write(ws.path, { 'edit/dvc.yaml': Buffer.concat([Buffer.from('stages:\n  s:\n    cmd: echo caf'), Buffer.from([0xe9]), Buffer.from('\n')]) });
    const res = await reprod(ws.path, 'validate', '--schema-only', 'edit/dvc.yaml');
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^ERROR: edit\/dvc\.yaml:3:18: not valid UTF-8 \(byte 0xe9\)/);
  });

  it('a limit raised in the environment lets a bigger matrix through', async () => {
    using ws = tempDir('reprod-exit-');
    write(ws.path, { 'dvc.yaml': dvcYamlMatrixBomb(2, 10) });
    const env = { ...process.env, REPROD_MAX_STAGES: '50' };
    const run = (e: NodeJS.ProcessEnv) => spawnSync(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/run.ts'), '-C', ws.path, 'validate'], { cwd: REPO, encoding: 'utf8', env: e, timeout: 30_000 });
    const low = run(env);
    expect(low.status, low.stderr).toBe(2);
    expect(low.stderr).toContain("matrix of 's' would generate 100 stages (10 × 10): more than 50, the limit");
    const high = run({ ...process.env, REPROD_MAX_STAGES: '100' });
    expect(high.status, high.stderr).toBe(0);
    expect(high.stdout).toBe('dvc.yaml: valid (100 stages)\n');
    const bad = run({ ...process.env, REPROD_MAX_STAGES: 'lots' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^ERROR: REPROD_MAX_STAGES: expected a whole number of at least 1, got 'lots'/);
    // and in-process, the default applies
    expect((await reprod(ws.path, 'validate')).code).toBe(0);
  });
});
