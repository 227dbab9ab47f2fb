/**
 * The daily commands against what real DVC 3.67.1 printed on case n13 (a
 * metrics/plots pipeline), rebuilt as its README says: git init, dvc init,
 * the inputs committed, repro, commit "v1", `epochs: 5`, repro; then
 * `metrics show/diff --json`, `params diff --json`, `plots show/diff --json`
 * and `dag --md`, compared byte for byte with DVC's output. Then the same
 * sequence with `data/x.csv` tracked by `reprod add` instead of git: the
 * params and metrics diffs are still DVC's.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dumpRawJson, parseRawJson, sortObjectsAt } from '../../helpers/raw-json.js';
import { conformance } from '../../helpers/conformance.js';
import { copyTree, reprod, tempDir } from '../../helpers/workspace.js';

const CASE = conformance('dvc-3.67', 'n13-metrics-plots-cmdlist');
const DAILY = path.join(CASE, 'expected', 'daily-commands');

/** What DVC printed, and the exit code recorded on the file's last line. */
function recorded(name: string): { stdout: string; code: number } {
  const text = readFileSync(path.join(DAILY, name), 'utf8');
  const m = /rc=(\d+)\n?$/.exec(text);
  if (!m) throw new Error(`${name}: no rc= line`);
  return { stdout: text.slice(0, m.index), code: Number(m[1]) };
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } });
}

/** What `dvc init` leaves in a git repository. */
function dvcInit(root: string): void {
  mkdirSync(path.join(root, '.dvc'), { recursive: true });
  writeFileSync(path.join(root, '.dvc', '.gitignore'), '/config.local\n/tmp\n/cache\n');
  writeFileSync(path.join(root, '.dvc', 'config'), '');
}

/** The .gitignore lines DVC writes for cached outputs in a git repo (added only where missing). */
function gitignoreCachedOuts(root: string): void {
  for (const [file, line] of [
    ['.gitignore', '/model.txt'],
    ['.gitignore', '/loss.csv'],
    ['eval/.gitignore', '/metrics.json'],
  ] as const) {
    const abs = path.join(root, file);
    const text = existsSync(abs) ? readFileSync(abs, 'utf8') : '';
    if (!text.split('\n').includes(line)) appendFileSync(abs, `${text && !text.endsWith('\n') ? '\n' : ''}${line}\n`);
  }
}

/**
 * The recorded sequence in a git repository: inputs committed, repro, commit
 * "v1", `epochs: 5`, repro. With `add`, `data/x.csv` is tracked by
 * `reprod add` (a `.dvc` file in git, the data git-ignored) instead of by git.
 */
async function rebuild(root: string, opts: { add?: string } = {}): Promise<void> {
  git(root, 'init', '-q', '-b', 'master');
  git(root, 'config', 'user.name', 'reprod test');
  git(root, 'config', 'user.email', 'test@reprod.invalid');
  // reprod's own reports are not part of what DVC would have committed
  appendFileSync(path.join(root, '.git', 'info', 'exclude'), '/status/\n/mlruns/\n');
  dvcInit(root);
  copyTree(path.join(CASE, 'input'), root);
  rmSync(path.join(root, '.dvc', 'config'));
  writeFileSync(path.join(root, '.dvc', 'config'), '');
  if (opts.add !== undefined) {
    const added = await reprod(root, 'add', opts.add);
    expect(added.code, added.stderr).toBe(0);
  }
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'inputs');
  const first = await reprod(root, '--runtime', 'host', 'repro');
  expect(first.code, first.stderr).toBe(0);
  // the added data is a data source of the pipeline: verified before the stage reading it
  if (opts.add !== undefined) expect(first.stdout).toMatch(new RegExp(`^'${opts.add}\\.dvc' didn't change, skipping$`, 'm'));
  gitignoreCachedOuts(root);
  git(root, 'add', '-A');
  git(root, 'commit', '-q', '-m', 'v1');
  writeFileSync(path.join(root, 'params.yaml'), readFileSync(path.join(root, 'params.yaml'), 'utf8').replace('epochs: 3', 'epochs: 5'));
  const second = await reprod(root, '--runtime', 'host', 'repro');
  expect(second.code, second.stderr).toBe(0);
  // the cached outputs at HEAD are not in git: metrics and plots of HEAD come from the cache through dvc.lock
  expect(git(root, 'ls-files')).not.toMatch(/^(loss\.csv|model\.txt|eval\/metrics\.json)$/m);
}

/** `metrics diff --json` as DVC prints it, but for the order of files and keys, which DVC does not fix (Python sets). */
async function checkMetricsDiff(root: string): Promise<void> {
  const want = recorded('metrics-diff.txt');
  const got = await reprod(root, 'metrics', 'diff', '--json');
  expect(got.code).toBe(want.code);
  // DVC walks Python sets for files and keys here (randomised order per process); reprod sorts them
  const canonical = (s: string) => dumpRawJson(sortObjectsAt(parseRawJson(s), [0, 1]));
  expect(canonical(got.stdout)).toBe(canonical(want.stdout));
  expect(got.stdout).toBe(`${dumpRawJson(parseRawJson(got.stdout))}\n`);
}

describe('conformance: n13 daily commands (DVC 3.67.1)', () => {
  const ws = tempDir('reprod-n13-');
  const root = ws.path;

  beforeAll(() => rebuild(root), 120_000);
  afterAll(() => ws[Symbol.dispose]());

  const same = (name: string, ...args: string[]) =>
    it(`${args.join(' ')} prints what DVC printed, byte for byte`, async () => {
      const want = recorded(name);
      const got = await reprod(root, ...args);
      expect(got.stderr).toBe('');
      expect(got.code).toBe(want.code);
      expect(got.stdout).toBe(want.stdout);
    });

  same('metrics-show.txt', 'metrics', 'show', '--json');
  same('params-diff.txt', 'params', 'diff', '--json');
  same('dag-md.txt', 'dag', '--md');
  same('plots-show.txt', 'plots', 'show', '--json');
  // HEAD's loss.csv is a cached output: read from the cache through HEAD's dvc.lock
  same('plots-diff.txt', 'plots', 'diff', '--json', 'HEAD');

  it('metrics diff --json prints what DVC printed, byte for byte but for the order DVC does not fix', () => checkMetricsDiff(root));

  it('metrics show, metrics diff and params diff print the tables DVC lays out (tabulate, plain)', async () => {
    const table = async (...args: string[]) => {
      const r = await reprod(root, ...args);
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    expect(await table('metrics', 'show')).toBe('Path               acc    auc    loss\nmetrics.json       0.55   -      0.2\neval/metrics.json  -      0.7    -\n');
    expect(await table('metrics', 'diff')).toBe(
      'Path          Metric    HEAD     workspace    Change\nmetrics.json  acc       0.53     0.55         0.02\nmetrics.json  loss      0.33333  0.2          -0.13333\n',
    );
    expect(await table('params', 'diff')).toBe('Path         Param    HEAD    workspace\nparams.yaml  epochs   3       5\n');
    expect(await table('metrics', 'diff', 'HEAD', 'HEAD')).toBe('');
  });

  it('plots show and plots diff HEAD write the page and print its file:// URL', async () => {
    const page = path.join(root, 'dvc_plots', 'index.html');
    for (const args of [['plots', 'show'], ['plots', 'diff', 'HEAD']]) {
      rmSync(page, { force: true });
      const r = await reprod(root, ...args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`file://${page}\n`);
      const html = readFileSync(page, 'utf8');
      // the libraries are in the page, not fetched: no URL loads a script
      expect(html).not.toMatch(/<script[^>]+src=/);
      expect(html).toContain('/* vega@5.33.1 */');
      expect(html.match(/vegaEmbed\(document\.getElementById/g)).toHaveLength(3);
    }
  });

  it('status --json agrees that nothing is stale', async () => {
    expect((await reprod(root, 'status', '--json')).stdout).toBe('{}\n');
  });
});

describe('end to end in git: reprod add, repro, commit, params edited, repro; the diffs are DVC\'s', () => {
  const ws = tempDir('reprod-n13-add-');
  const root = ws.path;

  beforeAll(() => rebuild(root, { add: 'data/x.csv' }), 120_000);
  afterAll(() => ws[Symbol.dispose]());

  it('the added data is a .dvc file in git, the data itself git-ignored and cached', () => {
    const files = git(root, 'ls-files').split('\n');
    expect(files).toContain('data/x.csv.dvc');
    expect(files).toContain('data/.gitignore');
    expect(files).not.toContain('data/x.csv');
    expect(readFileSync(path.join(root, 'data', '.gitignore'), 'utf8')).toBe('/x.csv\n');
    const dvcFile = readFileSync(path.join(root, 'data', 'x.csv.dvc'), 'utf8');
    const md5 = /^- md5: ([0-9a-f]{32})$/m.exec(dvcFile)?.[1] as string;
    expect(existsSync(path.join(root, '.dvc', 'cache', 'files', 'md5', md5.slice(0, 2), md5.slice(2)))).toBe(true);
  });

  it('params diff --json prints what DVC printed, byte for byte', async () => {
    const want = recorded('params-diff.txt');
    const got = await reprod(root, 'params', 'diff', '--json');
    expect(got.stderr).toBe('');
    expect(got.code).toBe(want.code);
    expect(got.stdout).toBe(want.stdout);
  });

  it('metrics diff --json prints what DVC printed', () => checkMetricsDiff(root));

  it('status --json: the stages and the data source are up to date', async () => {
    expect((await reprod(root, 'status', '--json')).stdout).toBe('{}\n');
  });
});
