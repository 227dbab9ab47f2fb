import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, promises as fs, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { expect } from 'vitest';
import { statusSchemaErrors } from '../../src/status/status-store.js';
import os from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import type { Io } from '../../src/cli/commands.js';

/**
 * A temporary folder removed by `await using` / `using`; readable by others
 * as a clone is (mkdtemp's 0700 is not): a stage never runs as root, so in a
 * workspace root owns it runs as 65534 and reads through the others bits.
 */
export function tempDir(prefix = 'reprod-test-'): { path: string } & Disposable {
  const p = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(p, 0o755);
  return { path: p, [Symbol.dispose]: () => rmSync(p, { recursive: true, force: true }) };
}

/** Writes each `path → text` under `root`, making folders. */
export function writeFiles(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
}

/** Copies a folder (conformance inputs are read-only: the copy is made writable, exec bits kept). */
export function copyTree(src: string, dst: string): void {
  execFileSync('cp', ['-a', `${src}/.`, dst]);
  execFileSync('chmod', ['-R', 'u+w', dst]);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs reprod's CLI in-process in `cwd`. */
export async function reprod(cwd: string, ...args: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = { out: (s) => void (stdout += s), err: (s) => void (stderr += s), exitCode: 0 };
  const code = await main(['-C', cwd, ...args], io);
  assertStatusFilesValid(cwd);
  return { code, stdout, stderr };
}

/** reprod run in `cwd`, expected to exit 0 (its stderr is the failure message); its stdout. */
export async function reprodOk(cwd: string, ...args: string[]): Promise<string> {
  const res = await reprod(cwd, ...args);
  expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
  return res.stdout;
}

/** Every status manifest a test produces must validate against schemas/status.schema.json. */
export function assertStatusFilesValid(root: string): void {
  const dir = path.join(root, 'status');
  if (!existsSync(dir)) return;
  // a nested pipeline's stages have theirs in folders (status/sub/dvc.yaml:inner.yaml); logs are not manifests
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((f) => !f.startsWith('logs/') && f !== 'logs');
  for (const f of files) {
    if (!f.endsWith('.yaml') || !statSync(path.join(dir, f)).isFile()) continue;
    const doc: unknown = parse(readFileSync(path.join(dir, f), 'utf8'));
    const errors = statusSchemaErrors(doc);
    if (errors) throw new Error(`status/${f} does not validate: ${errors}`);
  }
}

/** `path<TAB>size` of every file under .dvc/cache, sorted, as the conformance cache listings are. */
export async function cacheListing(root: string): Promise<string[]> {
  const base = path.join(root, '.dvc', 'cache');
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(`${path.relative(base, p)}\t${(await fs.stat(p)).size}`);
    }
  };
  await walk(base);
  return out.sort();
}

/** `md5<TAB>size<TAB>mode<TAB>path` of every workspace file outside .dvc/, sorted by path. */
export async function workspaceFiles(root: string): Promise<string[]> {
  const rows: [string, string][] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const rel = path.relative(root, p);
      // reprod's own reports (status/) and MLflow's runs (mlruns/) are not part of what DVC writes
      if (rel === '.dvc' || rel === '.git' || rel === 'status' || rel === 'mlruns') continue;
      if (e.isDirectory()) await walk(p);
      else {
        const st = await fs.stat(p);
        const md5 = createHash('md5').update(readFileSync(p)).digest('hex');
        rows.push([rel, `${md5}\t${st.size}\t${(st.mode & 0o777).toString(8)}\t${rel}`]);
      }
    }
  };
  await walk(root);
  return rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((r) => r[1]);
}

export function readLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}
