/**
 * `reprod status` beside a running daemon: it finds the daemon by its flock
 * on .dvc/tmp/reprod-daemon, shows what the daemon's status files say beyond
 * staleness (a failed stage with its error, the stages it blocks), exits
 * non-zero for a failed stage, and stops showing any of it once the daemon
 * has stopped. A second daemon on the workspace is refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runDaemon } from '../../../src/app/daemon.js';
import type { Logger } from '../../../src/core/ports.js';
import { reprod, tempDir, writeFiles } from '../../helpers/workspace.js';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };

const PIPELINE = `stages:
  a:
    cmd: echo a > a.txt
    outs: [a.txt]
  b:
    cmd: exit 3
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: cat b.txt > c.txt
    deps: [b.txt]
    outs: [c.txt]
`;

async function waitFor(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function phases(root: string): Record<string, string> | undefined {
  const file = path.join(root, 'status/pipeline.yaml');
  if (!existsSync(file)) return undefined;
  return (parse(readFileSync(file, 'utf8')) as { status?: { stages?: Record<string, string> } } | null)?.status?.stages;
}

describe('status beside a running daemon', () => {
  it('shows the failed stage with its error and the blocked one, exits 1; a second daemon is refused; after the daemon stops, staleness only', async () => {
    using ws = tempDir();
    writeFiles(ws.path, { 'dvc.yaml': PIPELINE });
    const ac = new AbortController();
    const done = runDaemon({ root: ws.path, runtime: 'host', log: quiet, debounceMs: 50, http: { host: '127.0.0.1', port: 0 }, tracking: false }, ac.signal);
    try {
      await waitFor('b failed and c blocked', () => phases(ws.path)?.b === 'Failed' && phases(ws.path)?.c === 'Blocked');

      const human = await reprod(ws.path, 'status');
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(/^b:\n {4}dep modified: a\.txt\n/);
      expect(human.stdout).toMatch(/The daemon \(pid \d+, http:\/\/127\.0\.0\.1:\d+\/\) reports:\n {4}b: Failed: .*exit code 3.*\n {4}c: Blocked: upstream stage 'b' failed\n$/);

      const json = await reprod(ws.path, 'status', '--json');
      expect(json.code).toBe(1);
      const value = JSON.parse(json.stdout) as Record<string, unknown[]>;
      // DVC's shape, stage → list of changes, with the daemon's word as one more string
      expect(value.b?.[0]).toEqual({ 'changed deps': { 'a.txt': 'modified' } });
      expect(value.b?.at(-1)).toMatch(/^daemon: Failed: .*exit code 3/);
      expect(value.c?.at(-1)).toBe("daemon: Blocked: upstream stage 'b' failed");
      expect(value.a).toBeUndefined();
      expect((await reprod(ws.path, 'status', '-q')).code).toBe(1);

      const second = await reprod(ws.path, 'daemon', '--port', '0', '--runtime', 'host');
      expect(second.code).toBe(1);
      expect(second.stderr).toMatch(/another reprod daemon runs on this workspace \(pid \d+ on /);
    } finally {
      ac.abort();
      await done;
    }
    const after = await reprod(ws.path, 'status', '--json');
    expect(after.code).toBe(0);
    expect(after.stdout).not.toMatch(/daemon:/);
    expect(Object.keys(JSON.parse(after.stdout) as object)).toEqual(['b', 'c']);
  });
});
