/**
 * repro and commit with outputs under symlinked folders, on real files: a
 * folder that leads out of the workspace (or into .git) is refused with
 * the file, stage, key and line before anything is deleted or written; one
 * that stays inside is followed, as DVC follows it.
 */
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOOK, hostileWorkspace, write } from '../../helpers/hostile.js';
import { reprod } from '../../helpers/workspace.js';

const YAML = 'stages:\n  prep:\n    cmd: echo in > in.txt\n    outs: [in.txt]\n  s:\n    cmd: cat in.txt > data/link/x\n    deps: [in.txt]\n    outs: [data/link/x]\n';

/** `data/link` → `target`, and a precious `x` already there. */
function linked(ws: string, target: string): void {
  mkdirSync(target, { recursive: true });
  writeFileSync(path.join(target, 'x'), 'precious\n');
  mkdirSync(path.join(ws, 'data'), { recursive: true });
  symlinkSync(target, path.join(ws, 'data', 'link'));
}

describe('an output under a symlink that leaves the workspace', () => {
  it('repro refuses before running or deleting anything, naming file, stage, key and line', async () => {
    using h = hostileWorkspace();
    const outside = path.join(h.outer, 'elsewhere');
    write(h.ws, { 'dvc.yaml': YAML });
    linked(h.ws, outside);
    const res = await reprod(h.ws, 'repro');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`ERROR: dvc.yaml:5: stages.s.outs: stage 's': output 'data/link/x' lies under 'data/link', a symlink to '${outside}' (outside the workspace)`);
    expect(res.stderr).toMatch(/hint: Replace the symlink 'data\/link' by a real folder/);
    expect(readFileSync(path.join(outside, 'x'), 'utf8')).toBe('precious\n');
    // refused before any stage ran: not even the upstream one
    expect(existsSync(path.join(h.ws, 'in.txt'))).toBe(false);
    expect(existsSync(path.join(h.ws, 'dvc.lock'))).toBe(false);
  });

  it('repro refuses one that leads into .git, though it stays inside the workspace', async () => {
    using h = hostileWorkspace();
    write(h.ws, { 'dvc.yaml': 'stages:\n  s:\n    cmd: echo evil > data/link/post-checkout\n    outs: [data/link/post-checkout]\n' });
    mkdirSync(path.join(h.ws, 'data'));
    symlinkSync('../.git/hooks', path.join(h.ws, 'data', 'link'));
    const res = await reprod(h.ws, 'repro');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`lies under 'data/link', a symlink to '${path.join(h.ws, '.git', 'hooks')}' (into .git)`);
    expect(readFileSync(path.join(h.ws, '.git/hooks/post-checkout'), 'utf8')).toBe(HOOK);
  });

  it('commit refuses it, changing neither the file outside nor dvc.lock', async () => {
    using h = hostileWorkspace();
    const outside = path.join(h.outer, 'elsewhere');
    write(h.ws, { 'dvc.yaml': YAML, 'in.txt': 'in\n' });
    linked(h.ws, outside);
    const mode = statSync(path.join(outside, 'x')).mode;
    const res = await reprod(h.ws, 'commit');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("dvc.yaml:5: stages.s.outs: stage 's': output 'data/link/x' lies under 'data/link'");
    expect(statSync(path.join(outside, 'x')).mode).toBe(mode);
    expect(existsSync(path.join(h.ws, 'dvc.lock'))).toBe(false);
  });
});

it('an output under a symlink that stays inside the workspace is followed', async () => {
  using h = hostileWorkspace();
  write(h.ws, { 'dvc.yaml': YAML });
  mkdirSync(path.join(h.ws, 'real'));
  mkdirSync(path.join(h.ws, 'data'));
  symlinkSync('../real', path.join(h.ws, 'data', 'link'));
  const res = await reprod(h.ws, 'repro');
  expect(res.code, res.stderr).toBe(0);
  expect(readFileSync(path.join(h.ws, 'real', 'x'), 'utf8')).toBe('in\n');
  expect((await reprod(h.ws, 'status')).stdout).toBe('Data and pipelines are up to date.\n');
});
