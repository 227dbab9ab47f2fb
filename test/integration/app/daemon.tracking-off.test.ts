/**
 * The daemon with MLflow tracking switched off by REPROD_TRACKING=off: it
 * runs and commits stages as ever, records no MLflow run, and its pipeline
 * status has no TrackingAvailable condition (there is nothing to deliver).
 * Host stages; the wait polls the status file with a deadline.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runDaemon } from '../../../src/app/daemon.js';
import { quietLogger } from '../../helpers/docker.js';
import { tempDir } from '../../helpers/workspace.js';

const saved = process.env['REPROD_TRACKING'];
afterEach(() => {
  if (saved === undefined) delete process.env['REPROD_TRACKING'];
  else process.env['REPROD_TRACKING'] = saved;
});

async function until(what: string, probe: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the daemon without tracking', () => {
  it('runs the stages and records no MLflow run with REPROD_TRACKING=off', async () => {
    process.env['REPROD_TRACKING'] = 'off';
    using ws = tempDir('reprod-daemon-');
    writeFileSync(path.join(ws.path, 'in.txt'), 'x\n');
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  a:\n    cmd: cp in.txt a.txt\n    deps: [in.txt]\n    outs: [a.txt]\n');
    const ac = new AbortController();
    const done = runDaemon({ root: ws.path, runtime: 'host', log: quietLogger, http: null, debounceMs: 20 }, ac.signal);
    const pipeline = () => {
      const p = path.join(ws.path, 'status', 'pipeline.yaml');
      return existsSync(p) ? (parse(readFileSync(p, 'utf8')) as { status: { phase: string; conditions: { type: string }[] } }) : undefined;
    };
    try {
      await until('the pipeline up to date', () => pipeline()?.status.phase === 'UpToDate' && existsSync(path.join(ws.path, 'dvc.lock')));
    } finally {
      ac.abort();
      await done;
    }
    expect(readFileSync(path.join(ws.path, 'a.txt'), 'utf8')).toBe('x\n');
    expect(existsSync(path.join(ws.path, 'mlruns'))).toBe(false);
    expect(existsSync(path.join(ws.path, '.dvc', 'tmp', 'reprod', 'mlflow-outbox'))).toBe(false);
    expect(pipeline()?.status.conditions.map((c) => c.type)).not.toContain('TrackingAvailable');
    expect(pipeline()?.status.conditions.map((c) => c.type)).toContain('Ready');
  });
});
