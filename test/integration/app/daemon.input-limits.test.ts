/**
 * The daemon, in-process on real files, fed hostile YAML while it runs: an
 * alias bomb, a matrix bomb and deep nesting written into dvc.yaml, an alias
 * bomb into params.yaml. Each must show as an invalid spec (INPUT_LIMIT, with
 * file, line and key) in status/pipeline.yaml within a second of the write,
 * while /healthz keeps answering promptly; a good dvc.yaml then resumes the
 * pipeline. The stages run on the host: the engine is not what is tested.
 *
 * Times are measured around real events (the write, the status file, each
 * /healthz answer); waiting polls with a deadline, it stands in for nothing.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runDaemon } from '../../../src/app/daemon.js';
import type { Logger } from '../../../src/core/ports.js';
import { dvcYamlAliasBomb, dvcYamlDeepFlow, dvcYamlMatrixBomb, paramsAliasBomb } from '../../helpers/hostile-yaml.js';
import { assertStatusFilesValid, tempDir } from '../../helpers/workspace.js';

function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
}

const read = (root: string, p: string): string | undefined => (existsSync(path.join(root, p)) ? readFileSync(path.join(root, p), 'utf8') : undefined);

interface PipelineStatus {
  status?: { phase?: string; error?: { code: string; file?: string; line?: number; key?: string; message: string } };
}

const pipelineStatus = (root: string): PipelineStatus => (parse(read(root, 'status/pipeline.yaml') ?? '') as PipelineStatus | null) ?? {};

function quietLogger(lines: string[]): Logger {
  const make = (bindings: Record<string, unknown>): Logger => {
    const at = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${JSON.stringify({ ...bindings, ...obj })}`);
    return { debug: () => undefined, info: at('info'), warn: at('warn'), error: at('error'), child: (b) => make({ ...bindings, ...b }) };
  };
  return make({});
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, log: string[], timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}\n${log.slice(-20).join('\n')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Asks /healthz over and over, keeping the slowest answer, until stopped. */
function healthProbe(port: number) {
  let slowest = 0;
  let answers = 0;
  const statuses = new Set<number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      await res.text();
      slowest = Math.max(slowest, performance.now() - t0);
      statuses.add(res.status);
      answers++;
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { slowest, answers, statuses: [...statuses] };
    },
  };
}

const GOOD = 'stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    params: [lr]\n    outs: [out.txt]\n';

describe('reprod daemon fed hostile YAML', () => {
  it('reports each bomb as an invalid spec within a second, keeps /healthz answering, and resumes when dvc.yaml is fixed', async () => {
    using ws = tempDir('reprod-daemon-limits-');
    write(ws.path, { 'dvc.yaml': GOOD, 'params.yaml': 'lr: 0.1\n', 'in.txt': 'a\n' });
    const log: string[] = [];
    const ac = new AbortController();
    let port = 0;
    const done = runDaemon(
      { root: ws.path, runtime: 'host', log: quietLogger(log), debounceMs: 50, http: { host: '127.0.0.1', port: 0 }, tracking: false, onListening: (p) => (port = p) },
      ac.signal,
    );
    try {
      await waitFor('the first pass', () => read(ws.path, 'out.txt') === 'a\n' && pipelineStatus(ws.path).status?.phase === 'UpToDate', log);
      const probe = healthProbe(port);

      const bombs: { name: string; files: Record<string, string>; file: string; line: number; key?: string }[] = [
        // 7 levels froze the event loop for about 100 s before the limits
        { name: 'alias bomb in dvc.yaml', files: { 'dvc.yaml': dvcYamlAliasBomb(7) }, file: 'dvc.yaml', line: 8, key: 'stages.s.meta.a3[7]' },
        { name: 'matrix bomb', files: { 'dvc.yaml': dvcYamlMatrixBomb(6, 10) }, file: 'dvc.yaml', line: 3, key: 'stages.s.matrix' },
        { name: 'nesting 3000 deep', files: { 'dvc.yaml': dvcYamlDeepFlow(3000) }, file: 'dvc.yaml', line: 4 },
        { name: 'alias bomb in params.yaml', files: { 'params.yaml': paramsAliasBomb(12) }, file: 'params.yaml', line: 4, key: 'a3[7]' },
      ];
      for (const bomb of bombs) {
        const t0 = performance.now();
        write(ws.path, bomb.files);
        const error = await waitFor(`the ${bomb.name} in status`, () => pipelineStatus(ws.path).status?.error, log);
        const ms = performance.now() - t0;
        expect(error, bomb.name).toMatchObject({ code: 'INPUT_LIMIT', file: bomb.file, line: bomb.line, ...(bomb.key ? { key: bomb.key } : {}) });
        expect(pipelineStatus(ws.path).status?.phase).toBe('InvalidSpec');
        expect(ms, `${bomb.name}: ms from the write to the status`).toBeLessThan(1000);
        // put back what it replaced, and see the pipeline valid again
        write(ws.path, { 'dvc.yaml': GOOD, 'params.yaml': 'lr: 0.1\n' });
        await waitFor(`recovery after the ${bomb.name}`, () => pipelineStatus(ws.path).status?.phase === 'UpToDate' && pipelineStatus(ws.path).status?.error === undefined, log);
      }

      // the pipeline still works: an edit reruns the stage
      write(ws.path, { 'in.txt': 'b\n' });
      await waitFor('the rerun after the bombs', () => read(ws.path, 'out.txt') === 'b\n', log);

      const health = await probe.stop();
      expect(health.answers).toBeGreaterThan(10);
      expect(health.statuses).toEqual([200]);
      expect(health.slowest, 'the slowest /healthz answer, ms').toBeLessThan(1000);
    } finally {
      ac.abort();
      await done;
    }
    assertStatusFilesValid(ws.path);
  }, 90_000);
});
