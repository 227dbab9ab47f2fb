/**
 * reprod against real DVC 3.64: each recorded case is reproduced from its
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

const CASES = ['a-linear-chain', 'b-directories', 'c-params', 'e-foreach-matrix', 'i-cmd-list'];

/** DVC's decisions mapped to reprod's: a run-cache restore may also be a real run. */
function expectedDecisions(file: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of readLines(file)) {
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

function checkDecisions(stdout: string, expectedFile: string): void {
  const expected = expectedDecisions(expectedFile);
  const actual = actualDecisions(stdout);
  for (const [stage, allowed] of expected) {
    expect(allowed, `stage ${stage}: reprod ${actual.get(stage)}, DVC ${allowed.join('|')}`).toContain(actual.get(stage));
  }
}

async function checkWorkspace(root: string, expectedDir: string): Promise<void> {
  expect(readFileSync(path.join(root, 'dvc.lock'), 'utf8')).toBe(readFileSync(path.join(expectedDir, 'dvc.lock'), 'utf8'));
  // objects and run-cache entries alike: same names, same sizes
  expect(await cacheListing(root)).toEqual(readLines(path.join(expectedDir, 'cache-listing.txt')));
  // `dvc init` wrote its own .dvcignore header in the recorded workspaces: that file is DVC's, not the pipeline's.
  const notDvcignore = (l: string) => !l.endsWith('\t.dvcignore');
  expect((await workspaceFiles(root)).filter(notDvcignore)).toEqual(
    readLines(path.join(expectedDir, 'workspace-files.tsv')).filter(notDvcignore),
  );
}

for (const name of CASES) {
  const caseDir = conformance('dvc', name);
  const expectedDir = path.join(caseDir, 'expected');

  describe(`conformance: ${name}`, () => {
    it('first repro writes the dvc.lock, cache and files DVC wrote', async () => {
      using ws = tempDir();
      copyTree(path.join(caseDir, 'input'), ws.path);
      const res = await reprod(ws.path, 'repro');
      expect(res.code, res.stderr).toBe(0);
      checkDecisions(res.stdout, path.join(expectedDir, 'stages-ran.txt'));
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
        const ranNothing = readLines(path.join(modDir, 'stages-ran.txt')).length === 0;
        if (ranNothing) {
          // DVC failed here (missing input). reprod fails too, leaves dvc.lock as it was, and deletes nothing.
          expect(res.code).not.toBe(0);
          expect(res.stderr).toMatch(/ERROR: /);
          expect(readFileSync(path.join(ws.path, 'dvc.lock'), 'utf8')).toBe(readFileSync(path.join(modDir, 'after-repro', 'dvc.lock'), 'utf8'));
          expect(await workspaceFiles(ws.path)).toEqual(before);
          return;
        }
        expect(res.code, res.stderr).toBe(0);
        checkDecisions(res.stdout, path.join(modDir, 'stages-ran.txt'));
        await checkWorkspace(ws.path, path.join(modDir, 'after-repro'));
        const after = await reprod(ws.path, 'status', '--json');
        expect(after.stdout.trim()).toBe('{}');
      });
    }
  });
}

describe('conformance data is present', () => {
  it('has every case this suite names', () => {
    for (const name of CASES) expect(existsSync(path.join(conformance('dvc', name), 'input', 'dvc.yaml'))).toBe(true);
  });
});
