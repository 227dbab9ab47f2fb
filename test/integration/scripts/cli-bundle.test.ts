/**
 * The CLI as users run it: bin/reprod.js runs the bundle `npm run build`
 * makes (scripts/bundle-cli.ts) with V8's code cache, and it must do what the modules it was made
 * from do: read dvc.yaml (yaml, the compiled schema validators), hash, say
 * what is stale, run and commit, name a bad file's line. It must also work
 * from another folder (the image and an npm install copy the package), where
 * files found beside the modules (package.json, schemas/, the validators) are
 * found beside the copy. Run `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFiles } from '../../helpers/workspace.js';

const REPO = path.resolve(import.meta.dirname, '../../..');
const VERSION = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function run(bin: string, cwd: string, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('node', [bin, '-C', cwd, '--runtime', 'host', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The files a command loads: ES modules (the hooks see every load),
 * CommonJS ones (NODE_DEBUG=module names each file required), and scripts
 * compiled by vm.Script (as bin/reprod.js runs the bundle), as paths.
 */
function loadedFiles(bin: string, cwd: string, ...args: string[]): string[] {
  using hooks = tempDir();
  writeFiles(hooks.path, {
    'hooks.mjs': "export async function load(url, context, next) { process.stderr.write(`LOADED ${url}\\n`); return next(url, context); }\n",
    'register.mjs': "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n",
    'script.cjs': "const vm = require('node:vm'); const S = vm.Script; vm.Script = function (s, o) { process.stderr.write(`LOADED file://${o.filename}\\n`); return new S(s, o); };\n",
  });
  const r = spawnSync('node', ['--require', path.join(hooks.path, 'script.cjs'), '--import', path.join(hooks.path, 'register.mjs'), bin, '-C', cwd, '--runtime', 'host', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_DEBUG: 'module' },
  });
  const out: string[] = [];
  for (const l of r.stderr.split('\n')) {
    if (l.startsWith('LOADED file://')) out.push(l.slice('LOADED file://'.length));
    const cjs = /^MODULE \d+: load "([^"]+)" for module/.exec(l);
    if (cjs) out.push(cjs[1] as string);
  }
  return [...new Set(out)];
}

/** The files a command loads from the package at `pkg`, relative to it. */
function loadedFrom(bin: string, cwd: string, pkg: string, ...args: string[]): string[] {
  return loadedFiles(bin, cwd, ...args)
    .filter((f) => f.startsWith(`${pkg}/`))
    .map((f) => f.slice(pkg.length + 1));
}

/** A stage whose dep is a folder, as a warm status sees it. */
function workspace(root: string): void {
  writeFiles(root, {
    '.dvc/config': '[core]\n    no_scm = True\n',
    'dvc.yaml': 'stages:\n  copy:\n    cmd: cp data/a.txt out.txt\n    deps: [data]\n    outs: [out.txt]\n',
    'data/a.txt': 'a\n',
    'data/sub/b.txt': 'b\n',
  });
}

function checkCli(bin: string, pkg: string): void {
  using ws = tempDir();
  workspace(ws.path);
  expect(spawnSync('node', [bin, '--version'], { encoding: 'utf8' }).stdout).toBe(`${VERSION}\n`);
  expect(run(bin, ws.path, 'status', '-q').code).toBe(1);
  const stale = run(bin, ws.path, 'status');
  expect(stale.code, stale.stderr).toBe(0);
  expect(stale.stdout).toMatch(/copy:/);
  const repro = run(bin, ws.path, 'repro');
  expect(repro.code, repro.stderr).toBe(0);
  expect(readFileSync(path.join(ws.path, 'out.txt'), 'utf8')).toBe('a\n');
  expect(run(bin, ws.path, 'status', '-q').code).toBe(0);
  expect(run(bin, ws.path, 'status').stdout).toBe('Data and pipelines are up to date.\n');
  // a file rewritten in a sub-folder of the dep is seen
  writeFiles(ws.path, { 'data/sub/b.txt': 'B\n' });
  expect(run(bin, ws.path, 'status', '-q').code).toBe(1);
  // what a status loads from the package: the bundle alone (the compiled validators are in it), none of dist's own modules
  const loaded = loadedFrom(bin, ws.path, pkg, 'status', '-q');
  expect(loaded.filter((f) => f.startsWith('dist/'))).toEqual(['dist/cli-bundle/reprod.cjs']);
  // with the compiled validators, ajv's compiler is not loaded (its run-time helpers are)
  expect(loadedFiles(bin, ws.path, 'status', '-q').filter((f) => f.includes('/node_modules/ajv/dist/2020.js'))).toEqual([]);
  // a schema error names the file and the line (the compiled validators, found beside dist/pipeline)
  writeFiles(ws.path, { 'dvc.yaml': 'stages:\n  copy:\n    cmd: cp data/a.txt out.txt\n    deps: [data]\n    outz: [out.txt]\n' });
  const bad = run(bin, ws.path, 'validate');
  expect(bad.code).not.toBe(0);
  expect(bad.stderr).toMatch(/dvc\.yaml:5/);
  expect(bad.stderr).toMatch(/outz/);
}

/** The package as an install lays it out (bin, dist, schemas, package.json), elsewhere, with this checkout's node_modules. */
function packageCopy(): ReturnType<typeof tempDir> {
  const copy = tempDir();
  for (const d of ['bin', 'dist', 'schemas']) cpSync(path.join(REPO, d), path.join(copy.path, d), { recursive: true });
  cpSync(path.join(REPO, 'package.json'), path.join(copy.path, 'package.json'));
  symlinkSync(path.join(REPO, 'node_modules'), path.join(copy.path, 'node_modules'));
  return copy;
}

describe('the CLI bundle', () => {
  it('is what bin/reprod.js runs, and it reads, hashes, runs and reports as the modules do', () => {
    expect(existsSync(path.join(REPO, 'dist', 'cli-bundle', 'reprod.cjs')), 'run `npm run build` first').toBe(true);
    checkCli(path.join(REPO, 'bin', 'reprod.js'), REPO);
  });

  it('works from a copy of the package elsewhere', () => {
    using copy = packageCopy();
    checkCli(path.join(copy.path, 'bin', 'reprod.js'), copy.path);
  });

  it("keeps V8's code cache beside the bundle: written when missing or refused, then used as it is", () => {
    using copy = packageCopy();
    const bin = path.join(copy.path, 'bin', 'reprod.js');
    const cache = path.join(copy.path, 'dist', 'cli-bundle', 'reprod.cjs.cache');
    using ws = tempDir();
    workspace(ws.path);
    rmSync(cache);
    expect(run(bin, ws.path, 'status', '-q').code).toBe(1);
    const written = readFileSync(cache);
    expect(written.length).toBeGreaterThan(10_000);
    // accepted: the next run leaves it as it is (a refused cache is written again)
    expect(run(bin, ws.path, 'status', '-q').code).toBe(1);
    expect(readFileSync(cache).equals(written)).toBe(true);
    // a damaged cache is refused by V8: the command still runs, and the cache is made again
    writeFileSync(cache, Buffer.alloc(written.length, 7));
    const r = run(bin, ws.path, 'status');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/copy:/);
    expect(readFileSync(cache).equals(Buffer.alloc(written.length, 7))).toBe(false);
    expect(readFileSync(cache).length).toBeGreaterThan(10_000);
    expect(readdirSync(path.dirname(cache)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('compiles the schemas with ajv when a schema file is not the one the validators were made from', () => {
    using copy = packageCopy();
    const schema = path.join(copy.path, 'schemas', 'dvc.schema.json');
    writeFiles(copy.path, { 'schemas/dvc.schema.json': `${readFileSync(schema, 'utf8')}\n` });
    const bin = path.join(copy.path, 'bin', 'reprod.js');
    using ws = tempDir();
    workspace(ws.path);
    writeFiles(ws.path, { 'dvc.yaml': 'stages:\n  copy:\n    cmd: cp data/a.txt out.txt\n    deps: [data]\n    outz: [out.txt]\n' });
    const bad = run(bin, ws.path, 'validate');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/dvc\.yaml:5/);
    expect(bad.stderr).toMatch(/outz/);
    expect(loadedFiles(bin, ws.path, 'validate').filter((f) => f.includes('/node_modules/ajv/dist/2020.js')).length).toBe(1);
  });

  it('holds no package with native parts or files loaded by path (they stay in node_modules)', () => {
    const dir = path.join(REPO, 'dist', 'cli-bundle');
    const text = readdirSync(dir)
      .filter((f) => f.endsWith('.cjs'))
      .map((f) => readFileSync(path.join(dir, f), 'utf8'))
      .join('\n');
    for (const pkg of ['ssh2', 'cpu-features', 'dockerode', 'pino', 'thread-stream', '@aws-sdk', '@google-cloud', '@azure']) {
      expect(text.includes(`// node_modules/${pkg}/`), pkg).toBe(false);
    }
  });
});
