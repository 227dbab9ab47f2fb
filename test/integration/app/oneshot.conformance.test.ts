/**
 * reprod against real DVC (3.64, and 3.67.1 for the cases under dvc-3.67): each recorded case is reproduced from its
 * inputs, then every recorded modification is applied to a copy of the
 * reproduced workspace; status, dvc.lock, the cache and the workspace files
 * must come out as DVC's did.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheListing, copyTree, readLines, reprod, tempDir, workspaceFiles } from '../../helpers/workspace.js';
import { conformance } from '../../helpers/conformance.js';

/** [recording set, case]: the 3.64 cases, then the 3.67 ones (which record DVC's repro output in place of stages-ran.txt). */
const CASES: [string, string][] = [
  ...['a-linear-chain', 'b-directories', 'c-params', 'e-foreach-matrix', 'i-cmd-list'].map((c): [string, string] => ['dvc', c]),
  ['dvc-3.67', 'n01-nested-subdir'],
  ['dvc-3.67', 'n02-dvc-add-dep'],
  ['dvc-3.67', 'n07-wdir'],
  ['dvc-3.67', 'n13-metrics-plots-cmdlist'],
];

/**
 * DVC's decisions from the repro output it printed (3.67's recordings): `Running
 * stage`, `is cached - skipping run`, `didn't change, skipping`, `is frozen`.
 */
function decisionsFromOutput(file: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of readLines(file)) {
    let m = /^Running stage '([^']+)'/.exec(line);
    if (m) out.set(m[1] as string, ['ran']);
    m = /^Stage '([^']+)' is cached - skipping run/.exec(line);
    if (m) out.set(m[1] as string, ['restored', 'ran']);
    m = /^Stage '([^']+)' didn't change, skipping/.exec(line);
    if (m) out.set(m[1] as string, ['skipped']);
    m = /^Stage '([^']+)' is frozen/.exec(line);
    if (m) out.set(m[1] as string, ['frozen']);
  }
  return out;
}

/** DVC's decisions mapped to reprod's: a run-cache restore may also be a real run. */
function expectedDecisions(dir: string): Map<string, string[]> {
  if (!existsSync(path.join(dir, 'stages-ran.txt'))) return decisionsFromOutput(path.join(dir, 'repro-output.txt'));
  const out = new Map<string, string[]>();
  for (const line of readLines(path.join(dir, 'stages-ran.txt'))) {
    const [stage, decision] = line.split('\t') as [string, string];
    if (decision === 'run') out.set(stage, ['ran']);
    else if (decision.startsWith('skip')) out.set(stage, ['skipped']);
    else if (decision.startsWith('restored from run-cache')) out.set(stage, ['restored', 'ran']);
    else if (decision.startsWith('frozen')) out.set(stage, ['frozen']);
  }
  return out;
}

/** Parses reprod's repro output into stage → action. */
function actualDecisions(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    let m = /^Running stage '([^']+)'/.exec(line);
    if (m) out.set(m[1] as string, 'ran');
    m = /^Stage '([^']+)' is cached: restored/.exec(line);
    if (m) out.set(m[1] as string, 'restored');
    m = /^Stage '([^']+)' didn't change/.exec(line);
    if (m) out.set(m[1] as string, 'skipped');
    m = /^Stage '([^']+)' is frozen/.exec(line);
    if (m) out.set(m[1] as string, 'frozen');
  }
  return out;
}

/** The data sources (`.dvc` files) a repro output says were verified, and those it says did not change. */
function sourceLines(lines: readonly string[]): { verified: string[]; unchanged: string[] } {
  const verified = lines.flatMap((l) => /^Verifying data sources in stage: '([^']+)'/.exec(l)?.[1] ?? []);
  const unchanged = lines.flatMap((l) => /^'([^']+\.dvc)' didn't change, skipping/.exec(l)?.[1] ?? []);
  return { verified, unchanged };
}

function checkDecisions(stdout: string, expectedDir: string): void {
  const output = path.join(expectedDir, 'repro-output.txt');
  // DVC verifies a changed `dvc add`-ed source before the stages: reprod says the same of the same files
  if (existsSync(output)) expect(sourceLines(stdout.split('\n'))).toEqual(sourceLines(readLines(output)));
  const expected = expectedDecisions(expectedDir);
  expect(expected.size, `no decisions recorded in ${expectedDir}`).toBeGreaterThan(0);
  const actual = actualDecisions(stdout);
  for (const [stage, allowed] of expected) {
    expect(allowed, `stage ${stage}: reprod ${actual.get(stage)}, DVC ${allowed.join('|')}`).toContain(actual.get(stage));
  }
}

/** Every dvc.lock under `dir` (workspace-relative), outside .dvc/ and status/. */
function lockFilesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (r === '.dvc' || r === 'status' || r === 'mlruns') continue;
    if (e.isDirectory()) out.push(...lockFilesUnder(dir, r));
    else if (e.name === 'dvc.lock') out.push(r);
  }
  return out.sort();
}

/**
 * The lock files DVC wrote: `dvc.lock`, and `locks/<folder>/dvc.lock` for a
 * nested dvc.yaml, as workspace path → recorded file.
 */
function expectedLocks(expectedDir: string): Map<string, string> {
  const out = new Map<string, string>([['dvc.lock', path.join(expectedDir, 'dvc.lock')]]);
  const locks = path.join(expectedDir, 'locks');
  if (existsSync(locks)) for (const f of lockFilesUnder(locks)) out.set(f, path.join(locks, f));
  return out;
}

async function checkWorkspace(root: string, expectedDir: string): Promise<void> {
  // every dvc.lock, nested ones included, byte for byte; and none DVC did not write
  const expected = expectedLocks(expectedDir);
  expect(lockFilesUnder(root)).toEqual([...expected.keys()].sort());
  for (const [rel, file] of expected) expect(readFileSync(path.join(root, rel), 'utf8'), rel).toBe(readFileSync(file, 'utf8'));
  // objects and run-cache entries alike: same names, same sizes
  expect(await cacheListing(root)).toEqual(readLines(path.join(expectedDir, 'cache-listing.txt')));
  // `dvc init` wrote its own .dvcignore header in the recorded workspaces: that file is DVC's, not the pipeline's.
  const notDvcignore = (l: string) => !l.endsWith('\t.dvcignore');
  // the 3.64 recordings list files by path, the 3.67 ones by md5: compared as sets
  // a `.dvc` file DVC rewrote (n02): the same bytes, by md5 and size
  const files = await workspaceFiles(root);
  for (const row of readLines(path.join(expectedDir, 'workspace-files.tsv')).filter((l) => l.endsWith('.dvc'))) {
    const file = row.split('\t').at(-1) as string;
    expect(files.find((l) => l.endsWith(`\t${file}`)), `${file} as DVC wrote it`).toBe(row);
  }
  expect(files.filter(notDvcignore).sort()).toEqual(
    readLines(path.join(expectedDir, 'workspace-files.tsv')).filter(notDvcignore).sort(),
  );
}

for (const [set, name] of CASES) {
  const caseDir = conformance(set, name);
  const expectedDir = path.join(caseDir, 'expected');

  describe(`conformance: ${name}`, () => {
    it('first repro writes the dvc.lock, cache and files DVC wrote', async () => {
      using ws = tempDir();
      copyTree(path.join(caseDir, 'input'), ws.path);
      const res = await reprod(ws.path, 'repro');
      expect(res.code, res.stderr).toBe(0);
      checkDecisions(res.stdout, expectedDir);
      await checkWorkspace(ws.path, expectedDir);
      const status = await reprod(ws.path, 'status', '--json');
      // DVC prints Python's json.dumps: the same bytes, not only the same value
      expect(status.stdout).toBe(readFileSync(path.join(expectedDir, 'status.json'), 'utf8'));
      const again = await reprod(ws.path, 'repro');
      expect(actualDecisions(again.stdout).size).toBeGreaterThan(0);
      expect([...actualDecisions(again.stdout).values()].every((a) => a === 'skipped')).toBe(true);
    });

    const mods = readdirSync(path.join(caseDir, 'mods'))
      .filter((f) => f.endsWith('.sh'))
      .map((f) => Number(f.replace('.sh', '')))
      .sort((a, b) => a - b);

    for (const n of mods) {
      const script = path.join(caseDir, 'mods', `${n}.sh`);
      const desc = (readLines(script)[0] ?? '').replace(/^# desc: /, '');
      const modDir = path.join(expectedDir, 'mods', String(n));

      it(`mod ${n}: ${desc}`, async () => {
        using ws = tempDir();
        copyTree(path.join(caseDir, 'input'), ws.path);
        expect((await reprod(ws.path, 'repro')).code).toBe(0);
        execFileSync('sh', [script], { cwd: ws.path });

        const status = await reprod(ws.path, 'status', '--json');
        expect(status.code, status.stderr).toBe(0);
        // same stages, same reasons, same order, same bytes as `dvc status --json`
        expect(status.stdout).toBe(readFileSync(path.join(modDir, 'status.json'), 'utf8'));

        const before = await workspaceFiles(ws.path);
        const res = await reprod(ws.path, 'repro');
        const ranNothing = existsSync(path.join(modDir, 'stages-ran.txt'))
          ? readLines(path.join(modDir, 'stages-ran.txt')).length === 0
          : readLines(path.join(modDir, 'after-repro', 'repro-rc.txt'))[0] !== '0';
        if (ranNothing) {
          // DVC failed here (missing input). reprod fails too, leaves dvc.lock as it was, and deletes nothing.
          expect(res.code).not.toBe(0);
          expect(res.stderr).toMatch(/ERROR: /);
          expect(readFileSync(path.join(ws.path, 'dvc.lock'), 'utf8')).toBe(readFileSync(path.join(modDir, 'after-repro', 'dvc.lock'), 'utf8'));
          expect(await workspaceFiles(ws.path)).toEqual(before);
          return;
        }
        expect(res.code, res.stderr).toBe(0);
        checkDecisions(res.stdout, existsSync(path.join(modDir, 'stages-ran.txt')) ? modDir : path.join(modDir, 'after-repro'));
        await checkWorkspace(ws.path, path.join(modDir, 'after-repro'));
        const after = await reprod(ws.path, 'status', '--json');
        // what DVC's status said after its repro (3.67's recordings; a nested pipeline that repro left alone stays stale), else nothing stale
        const afterFile = path.join(modDir, 'after-repro', 'status.json');
        if (existsSync(afterFile)) expect(after.stdout).toBe(readFileSync(afterFile, 'utf8'));
        else expect(after.stdout.trim()).toBe('{}');
      });
    }
  });
}

describe('conformance data is present', () => {
  it('has every case this suite names', () => {
    for (const [set, name] of CASES) expect(existsSync(path.join(conformance(set, name), 'input', 'dvc.yaml'))).toBe(true);
  });
});
