/**
 * WorkspaceHasher against what DVC 3.64 recorded: each conformance case's
 * stages are run by plain `sh` in a copy of its inputs, then every dep and
 * out must hash to its dvc.lock entry (md5, size, nfiles, isexec), and every
 * directory listing must equal the `.dir` object DVC cached, byte for byte.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { HashInfo } from '../../../src/core/types.js';
import { dirListingJson } from '../../../src/hashing/dir-listing.js';
import { WorkspaceHasher } from '../../../src/hashing/workspace-hasher.js';
import { conformance } from '../../helpers/conformance.js';

const DVC_CASES = conformance('dvc');

interface LockItem {
  path: string;
  info: HashInfo;
}

interface LockedStage {
  name: string;
  cmds: string[];
  deps: LockItem[];
  outs: LockItem[];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function lockItems(v: unknown): LockItem[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error('deps/outs must be a list');
  return v.map((x: unknown) => {
    if (!isRecord(x) || typeof x.path !== 'string' || typeof x.md5 !== 'string' || typeof x.size !== 'number') throw new Error(`bad lock item ${JSON.stringify(x)}`);
    const info: HashInfo = { md5: x.md5, size: x.size };
    if (typeof x.nfiles === 'number') info.nfiles = x.nfiles;
    if (x.isexec === true) info.isexec = true;
    return { path: x.path, info };
  });
}

function readLock(file: string): LockedStage[] {
  const doc: unknown = parse(readFileSync(file, 'utf8'));
  if (!isRecord(doc) || !isRecord(doc.stages)) throw new Error(`${file}: no stages`);
  return Object.entries(doc.stages).map(([name, s]) => {
    if (!isRecord(s)) throw new Error(`${file}: stage ${name} is not a mapping`);
    const cmds = Array.isArray(s.cmd) ? s.cmd.map(String) : [String(s.cmd)];
    return { name, cmds, deps: lockItems(s.deps), outs: lockItems(s.outs) };
  });
}

const temps: string[] = [];
afterAll(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

function copyOf(src: string): string {
  const dst = mkdtempSync(path.join(os.tmpdir(), 'reprod-hashing-'));
  temps.push(dst);
  execFileSync('cp', ['-a', `${src}/.`, dst]);
  execFileSync('chmod', ['-R', 'u+w', dst]);
  return dst;
}

function runStages(ws: string, stages: LockedStage[]): void {
  for (const s of stages) {
    for (const cmd of s.cmds) execFileSync('sh', ['-c', cmd], { cwd: ws, env: { ...process.env, LC_ALL: 'C' }, stdio: 'pipe' });
  }
}

/** The .dir objects DVC cached: md5 (with `.dir`) → listing bytes. */
function dirObjects(caseDir: string): Map<string, string> {
  const dir = path.join(caseDir, 'expected', 'dir-objects');
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir)) out.set(f, readFileSync(path.join(dir, f), 'latin1'));
  return out;
}

const cases = readdirSync(DVC_CASES).filter((c) => existsSync(path.join(DVC_CASES, c, 'expected', 'dvc.lock')));

describe.each(cases)('conformance case %s', (name) => {
  const caseDir = path.join(DVC_CASES, name);
  const stages = readLock(path.join(caseDir, 'expected', 'dvc.lock'));

  it('hashes every locked dep and out as DVC did, then again from the state without reading', async () => {
    const ws = copyOf(path.join(caseDir, 'input'));
    runStages(ws, stages);
    const listings = new Map<string, string>();
    {
      await using h = new WorkspaceHasher({ root: ws });
      for (const s of stages) {
        for (const item of [...s.deps, ...s.outs]) {
          const r = await h.hash(item.path);
          expect(r?.info, `${s.name}: ${item.path}`).toEqual(item.info);
          if (r?.entries) listings.set(r.info.md5, dirListingJson(r.entries));
        }
      }
      await h.flush();
    }
    for (const [md5, bytes] of dirObjects(caseDir)) expect(listings.get(md5), md5).toBe(bytes);

    await using warm = new WorkspaceHasher({ root: ws });
    for (const s of stages) {
      for (const item of [...s.deps, ...s.outs]) expect((await warm.hash(item.path))?.info).toEqual(item.info);
    }
    expect(warm.counters.filesHashed).toBe(0);
  });
});

describe('b-directories modifications', () => {
  const caseDir = path.join(DVC_CASES, 'b-directories');
  const stages = readLock(path.join(caseDir, 'expected', 'dvc.lock'));
  const reproduced = copyOf(path.join(caseDir, 'input'));
  runStages(reproduced, stages);
  const mods = readdirSync(path.join(caseDir, 'mods'))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => f.slice(0, -3));

  // Deps that no stage writes keep, after DVC's repro, the hash of the modified workspace.
  it.each(mods)('mod %s: source deps hash as in the lock DVC wrote after it', async (mod) => {
    const after = readLock(path.join(caseDir, 'expected', 'mods', mod, 'after-repro', 'dvc.lock'));
    const produced = new Set(after.flatMap((s) => s.outs.map((o) => o.path)));
    const ws = copyOf(reproduced);
    // mods/2.sh sleeps a second before touching: the touch must give a new mtime.
    execFileSync('sh', [path.join(caseDir, 'mods', `${mod}.sh`)], { cwd: ws, stdio: 'pipe' });
    await using h = new WorkspaceHasher({ root: ws });
    let checked = 0;
    for (const s of after) {
      for (const dep of s.deps) {
        if (produced.has(dep.path)) continue;
        expect((await h.hash(dep.path))?.info, `${s.name}: ${dep.path}`).toEqual(dep.info);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});
