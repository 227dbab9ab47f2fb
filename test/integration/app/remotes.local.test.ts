/**
 * Data remotes on a local folder, against what real DVC 3.64 did in the
 * z-remote-push-pull case: the objects it pushed, `status -c`, and the
 * wipe-then-pull round trip; plus gc, interrupted transfers, pull's refusal
 * to overwrite unsaved work, and `repro --pull`.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheListing, copyTree, readLines, reprod, tempDir } from '../../helpers/workspace.js';
import { conformance } from '../../helpers/conformance.js';

const CASE = conformance('dvc', 'z-remote-push-pull');
const EXPECTED = path.join(CASE, 'expected');

/** `key<TAB>size` of every file under a folder, sorted, as the conformance listings are. */
function treeListing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${path.relative(dir, p)}\t${statSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

function md5(file: string): string {
  return createHash('md5').update(readFileSync(file)).digest('hex');
}

function configure(ws: string, url: string): void {
  writeFileSync(path.join(ws, '.dvc', 'config'), `[core]\n    no_scm = True\n    remote = localremote\n['remote "localremote"']\n    url = ${url}\n`);
}

/** The case's input as DVC had it when it pushed: `dvc add raw.csv` done, the pipeline reproduced. */
async function reproduced(ws: string, remote: string): Promise<void> {
  copyTree(path.join(CASE, 'input'), ws);
  writeFileSync(path.join(ws, 'raw.csv.dvc'), readFileSync(path.join(EXPECTED, 'raw.csv.dvc')));
  configure(ws, remote);
  const res = await reprod(ws, '--runtime', 'host', 'repro');
  expect(res.code, res.stderr).toBe(0);
}

function expectSameObjects(remote: string, withRuns: boolean): void {
  const listing = readLines(path.join(EXPECTED, withRuns ? 'remote-listing-after-push-run-cache.txt' : 'remote-listing-after-push.txt'));
  expect(treeListing(remote)).toEqual(listing);
  for (const line of listing) {
    const key = line.split('\t')[0] as string;
    expect(readFileSync(path.join(remote, key)), key).toEqual(readFileSync(path.join(EXPECTED, 'remote', key)));
  }
}

describe('local remote: z-remote-push-pull', () => {
  it('pushes the objects DVC pushed, byte for byte; status -c before and after as DVC printed it', async () => {
    using ws = tempDir();
    using store = tempDir('reprod-remote-');
    await reproduced(ws.path, store.path);

    const before = await reprod(ws.path, 'status', '-c', '--json');
    expect(before.code, before.stderr).toBe(0);
    expect(JSON.parse(before.stdout)).toEqual(JSON.parse(readFileSync(path.join(EXPECTED, 'status-cloud-before-push.json'), 'utf8')));

    const push = await reprod(ws.path, 'push');
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toBe('4 files pushed\n');
    expectSameObjects(store.path, false);
    // objects on the remote are read-only, as in the cache
    expect(statSync(path.join(store.path, 'files/md5/55/ef7578b917b32028f18767310eac72')).mode & 0o222).toBe(0);

    const after = await reprod(ws.path, 'status', '--cloud', '--json');
    expect(JSON.parse(after.stdout)).toEqual(JSON.parse(readFileSync(path.join(EXPECTED, 'status-cloud-after-push.json'), 'utf8')));
    expect((await reprod(ws.path, 'status', '-c')).stdout).toBe("Cache and remote 'localremote' are in sync.\n");

    const again = await reprod(ws.path, 'push');
    expect(again.stdout).toBe('Everything is up to date.\n');
    const runs = await reprod(ws.path, 'push', '--run-cache');
    expect(runs.stdout).toBe('1 file pushed\n');
    expectSameObjects(store.path, true);
  });

  it("pulls DVC's pushed remote into an empty workspace: the same files, cache and status", async () => {
    using ws = tempDir();
    for (const f of ['dvc.yaml', '.dvcignore']) writeFileSync(path.join(ws.path, f), readFileSync(path.join(CASE, 'input', f)));
    mkdirSync(path.join(ws.path, 'src'));
    writeFileSync(path.join(ws.path, 'src', 'x.txt'), readFileSync(path.join(CASE, 'input', 'src', 'x.txt')));
    for (const f of ['dvc.lock', 'raw.csv.dvc']) writeFileSync(path.join(ws.path, f), readFileSync(path.join(EXPECTED, f)));
    mkdirSync(path.join(ws.path, '.dvc'));
    // the recorded remote itself (read-only): a relative url, resolved against .dvc/ as DVC does
    configure(ws.path, path.relative(path.join(ws.path, '.dvc'), path.join(EXPECTED, 'remote')));

    const wiped = await reprod(ws.path, 'status', '-c', '--json');
    expect(Object.values(JSON.parse(wiped.stdout) as Record<string, string>).every((s) => s === 'deleted')).toBe(true);

    const pull = await reprod(ws.path, 'pull');
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toBe('A\traw.csv\nA\tdist/\nA\ttable.csv\n4 files fetched and 3 files added\n');
    for (const line of readLines(path.join(EXPECTED, 'md5-after-pull.txt'))) {
      const [sum, file] = line.split(/\s+/) as [string, string];
      expect(md5(path.join(ws.path, file)), file).toBe(sum);
    }
    expect(await cacheListing(ws.path)).toEqual(readLines(path.join(EXPECTED, 'cache-listing-after-pull.txt')));
    const status = await reprod(ws.path, 'status', '--json');
    expect(JSON.parse(status.stdout)).toEqual(JSON.parse(readFileSync(path.join(EXPECTED, 'status-after-pull.json'), 'utf8')));
    expect((await reprod(ws.path, 'pull')).stdout).toBe('Everything is up to date.\n');

    // --run-cache brings the entry DVC recorded, checked against its name
    const runs = await reprod(ws.path, 'fetch', '--run-cache');
    expect(runs.code, runs.stderr).toBe(0);
    expect(await cacheListing(ws.path)).toEqual(readLines(path.join(EXPECTED, 'cache-listing.txt')));
  });

  it('pulls targets alone: a .dvc file, a stage, a file inside a directory', async () => {
    using ws = tempDir();
    using store = tempDir('reprod-remote-');
    await reproduced(ws.path, store.path);
    expect((await reprod(ws.path, 'push')).code).toBe(0);
    rmSync(path.join(ws.path, '.dvc', 'cache'), { recursive: true });
    for (const p of ['raw.csv', 'table.csv', 'dist']) rmSync(path.join(ws.path, p), { recursive: true });

    const one = await reprod(ws.path, 'pull', 'dist/y.txt');
    expect(one.code, one.stderr).toBe(0);
    expect(readdirSync(path.join(ws.path, 'dist'))).toEqual(['y.txt']);
    expect(existsSync(path.join(ws.path, 'raw.csv'))).toBe(false);

    const dvcFile = await reprod(ws.path, 'pull', 'raw.csv.dvc');
    expect(dvcFile.stdout).toMatch(/^A\traw\.csv\n/);
    expect(existsSync(path.join(ws.path, 'table.csv'))).toBe(false);

    const stage = await reprod(ws.path, 'pull', 'build');
    expect(stage.code, stage.stderr).toBe(0);
    expect(readdirSync(path.join(ws.path, 'dist')).sort()).toEqual(['x.txt', 'y.txt']);

    const unknown = await reprod(ws.path, 'pull', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/'nope' is not a stage, a .dvc file or a tracked output/);
  });

  it('never overwrites work that is not in the cache without --force', async () => {
    using ws = tempDir();
    using store = tempDir('reprod-remote-');
    await reproduced(ws.path, store.path);
    expect((await reprod(ws.path, 'push')).code).toBe(0);
    writeFileSync(path.join(ws.path, 'table.csv'), 'edited by hand\n');
    const refused = await reprod(ws.path, 'pull');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/table\.csv: not checked out: it has changes that are not in the cache \(use --force/);
    expect(readFileSync(path.join(ws.path, 'table.csv'), 'utf8')).toBe('edited by hand\n');
    const forced = await reprod(ws.path, 'pull', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toContain('M\ttable.csv\n');
    expect(md5(path.join(ws.path, 'table.csv'))).toBe('55ef7578b917b32028f18767310eac72');
  });

  it('ignores what an interrupted transfer left behind, and finishes it on the next run', async () => {
    using ws = tempDir();
    using store = tempDir('reprod-remote-');
    await reproduced(ws.path, store.path);
    // a push that died while writing one object, and a fetch that died likewise
    mkdirSync(path.join(store.path, 'files/md5/40'), { recursive: true });
    writeFileSync(path.join(store.path, 'files/md5/40/1b30e3b8b5d629635a5c613cdb7919.0b1e.tmp'), 'x');
    const push = await reprod(ws.path, 'push');
    expect(push.stdout).toBe('4 files pushed\n');
    rmSync(path.join(ws.path, '.dvc', 'cache', 'files'), { recursive: true });
    mkdirSync(path.join(ws.path, '.dvc/cache/files/md5/00'), { recursive: true });
    writeFileSync(path.join(ws.path, '.dvc/cache/files/md5/00/9520053b00386d1173f3988c55d192.77aa.tmp'), 'y');
    const fetch = await reprod(ws.path, 'fetch');
    expect(fetch.stdout).toBe('4 files fetched\n');
    expect((await reprod(ws.path, 'status', '-c', '--json')).stdout).toBe('{}\n');
  });

  it('reports a corrupt object on the remote and keeps it out of the cache', async () => {
    using ws = tempDir();
    using store = tempDir('reprod-remote-');
    await reproduced(ws.path, store.path);
    expect((await reprod(ws.path, 'push')).code).toBe(0);
    const bad = path.join(store.path, 'files/md5/40/1b30e3b8b5d629635a5c613cdb7919');
    chmodSync(bad, 0o644);
    writeFileSync(bad, 'not x\n');
    rmSync(path.join(ws.path, '.dvc', 'cache'), { recursive: true });
    rmSync(path.join(ws.path, 'dist'), { recursive: true });
    const pull = await reprod(ws.path, 'pull');
    expect(pull.code).toBe(1);
    expect(pull.stderr).toMatch(/1 object failed to pull:\n {2}dist\/x\.txt: corrupt on the remote: its md5 is [0-9a-f]{32}/);
    expect(existsSync(path.join(ws.path, '.dvc/cache/files/md5/40/1b30e3b8b5d629635a5c613cdb7919'))).toBe(false);
    // what could be pulled was: the rest of the workspace is complete
    expect(md5(path.join(ws.path, 'raw.csv'))).toBe('55ef7578b917b32028f18767310eac72');
    expect(existsSync(path.join(ws.path, 'dist'))).toBe(false);
  });

  it('gc lists unused objects, removes them only with --force, and keeps what is used', async () => {
    using ws = tempDir();
    using store = tempDir('reprod-remote-');
    await reproduced(ws.path, store.path);
    expect((await reprod(ws.path, 'push')).code).toBe(0);
    // an older version of table.csv, no longer in dvc.lock
    writeFileSync(path.join(ws.path, 'raw.csv'), 'a,b\n1,2\n3,4\n');
    expect((await reprod(ws.path, '--runtime', 'host', 'repro')).code).toBe(0);
    const stale = 'files/md5/55/ef7578b917b32028f18767310eac72';
    // raw.csv.dvc still records the old raw.csv: update it as `dvc add` would
    writeFileSync(path.join(ws.path, 'raw.csv.dvc'), `outs:\n- md5: ${md5(path.join(ws.path, 'raw.csv'))}\n  size: 12\n  hash: md5\n  path: raw.csv\n`);

    const dry = await reprod(ws.path, 'gc');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(`Would remove 1 objects from the cache; 4 in use are kept (dry run: add --force to remove them):\n  ${stale}\n`);
    expect(existsSync(path.join(ws.path, '.dvc/cache', stale))).toBe(true);
    const cloudDry = await reprod(ws.path, 'gc', '-c');
    expect(cloudDry.stdout).toContain(`Would remove 1 objects from the remote ${store.path}; 3 in use are kept`);

    const forced = await reprod(ws.path, 'gc', '--force', '--cloud');
    expect(forced.stdout).toBe(`Removed 1 objects from the cache; 4 in use are kept.\nRemoved 1 objects from the remote ${store.path}; 3 in use are kept.\n`);
    expect(existsSync(path.join(ws.path, '.dvc/cache', stale))).toBe(false);
    expect(existsSync(path.join(store.path, stale))).toBe(false);
    // the run-cache survives gc, as in DVC
    expect((await cacheListing(ws.path)).filter((l) => l.startsWith('runs/'))).toHaveLength(2);
    expect((await reprod(ws.path, 'status', '--json')).stdout).toBe('{}\n');
  });

  it('repro --pull fetches missing inputs (and the run-cache) from the remote before running', async () => {
    using ws = tempDir();
    using store = tempDir('reprod-remote-');
    await reproduced(ws.path, store.path);
    expect((await reprod(ws.path, 'push', '--run-cache')).code).toBe(0);
    rmSync(path.join(ws.path, '.dvc', 'cache'), { recursive: true });
    for (const p of ['raw.csv', 'table.csv', 'dist']) rmSync(path.join(ws.path, p), { recursive: true });

    const without = await reprod(ws.path, '--runtime', 'host', 'repro');
    expect(without.code).not.toBe(0);

    const res = await reprod(ws.path, '--runtime', 'host', 'repro', '--pull');
    expect(res.code, res.stderr).toBe(0);
    expect(md5(path.join(ws.path, 'raw.csv'))).toBe('55ef7578b917b32028f18767310eac72');
    expect(md5(path.join(ws.path, 'table.csv'))).toBe('55ef7578b917b32028f18767310eac72');
    expect(readFileSync(path.join(ws.path, 'dvc.lock'))).toEqual(readFileSync(path.join(EXPECTED, 'dvc.lock')));
    expect((await reprod(ws.path, 'status', '--json')).stdout).toBe('{}\n');
  });
});
