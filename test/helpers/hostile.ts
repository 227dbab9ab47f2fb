/**
 * Workspaces that a hostile remote, shared cache or edited file could leave:
 * a `.dir` listing naming paths outside its directory, md5s that are paths.
 * The workspace sits in a folder of its own (`outer`), next to nothing, so
 * that a test can tell whether anything was written beside it; `.git` and
 * `.dvc/config` hold files whose bytes a test can check afterwards.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { objectKey } from '../../src/remote/layout.js';
import { tempDir } from './workspace.js';

export const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');

export const PAYLOAD = 'pwned\n';
export const HOOK = '#!/bin/sh\necho the real hook\n';
export const CONFIG = '[core]\n    no_scm = True\n';

export function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
}

/** `relpath<TAB>md5` (or `-> target` for a symlink) of every entry under `dir`, skipping `skip` (relative paths). */
export function snapshot(dir: string, skip: readonly string[] = []): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (skip.includes(rel)) continue;
      const st = lstatSync(p);
      if (st.isDirectory()) {
        out.push(`${rel}/`);
        walk(p);
      } else {
        out.push(`${rel}\t${st.isFile() ? md5(readFileSync(p)) : 'special'}\t${(st.mode & 0o777).toString(8)}`);
      }
    }
  };
  walk(dir);
  return out.sort();
}

export interface HostileWorkspace extends Disposable {
  /** The folder the workspace is in: it holds nothing else. */
  outer: string;
  /** The workspace. */
  ws: string;
  /** What outside the workspace, `.git` and `.dvc` (bar `.dvc/tmp`) hold now. */
  untouchable(): { outside: string[]; git: string[]; dvc: string[] };
}

/** A workspace with `.git/hooks/post-checkout` and `.dvc/config`, alone in its folder. */
export function hostileWorkspace(): HostileWorkspace {
  const dir = tempDir('reprod-hostile-');
  const ws = path.join(dir.path, 'ws');
  write(ws, { '.git/hooks/post-checkout': HOOK, '.dvc/config': CONFIG });
  return {
    outer: dir.path,
    ws,
    untouchable: () => ({
      outside: snapshot(dir.path, ['ws']),
      git: snapshot(path.join(ws, '.git')),
      dvc: snapshot(path.join(ws, '.dvc'), ['tmp']),
    }),
    [Symbol.dispose]: () => dir[Symbol.dispose](),
  };
}

/** The bytes of a listing with these rows, as DVC would write them (but naming whatever it is given). */
export function listingBytes(rows: { md5: string; relpath: string }[]): string {
  return `[${rows.map((r) => `{"md5": ${JSON.stringify(r.md5)}, "relpath": ${JSON.stringify(r.relpath)}}`).join(', ')}]`;
}

/** A one-stage pipeline whose directory output `data` is recorded with `oid`. */
export function pipelineRecording(ws: string, oid: string): void {
  write(ws, {
    'dvc.yaml': 'stages:\n  s:\n    cmd: mkdir -p data && echo a > data/a\n    outs: [data]\n',
    'dvc.lock': `schema: '2.0'\nstages:\n  s:\n    cmd: mkdir -p data && echo a > data/a\n    outs:\n    - path: data\n      hash: md5\n      md5: ${oid}\n      size: 6\n      nfiles: 1\n`,
  });
}

/** Puts `bytes` under `oid` in a folder of DVC's layout (a cache or a local remote), as a real fetch would. */
export function putObject(folder: string, oid: string, bytes: string): void {
  write(folder, { [objectKey(oid)]: bytes });
}

/** A hostile listing naming `relpath`, and the file object it points at, under `folder`; returns the listing's oid. */
export function plantListing(folder: string, relpath: string): string {
  const fileMd5 = md5(PAYLOAD);
  putObject(folder, fileMd5, PAYLOAD);
  const listing = listingBytes([{ md5: fileMd5, relpath }]);
  const oid = `${md5(listing)}.dir`;
  putObject(folder, oid, listing);
  return oid;
}

/** relpaths a hostile listing may name, each escaping its directory or reaching into .git/.dvc. */
export const HOSTILE_RELPATHS = ['../../x', '../.git/hooks/post-checkout', '../.dvc/config', '.git/hooks/post-checkout', '.dvc/config', 'a/../../x', '..\\..\\x', '/etc/x'];

/** An md5 in dvc.lock that is a path: enough `..` to reach the root from any cache or remote folder. */
export const PATH_MD5 = `${'../'.repeat(16)}etc/hostname`;
