/**
 * A one-shot command's logger, in a process of its own (pino is loaded once
 * per process): lines below its level load nothing and write nothing; the
 * first line at its level loads pino and is written as pino's JSON on
 * stderr, with the bindings of the children it came through.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../../..');

function run(script: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`the script failed: ${r.stderr}`);
  return { stdout: r.stdout, lines: r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const prelude = `
import { createRequire } from 'node:module';
import { commandLogger } from './src/app/logging.ts';
const pinoLoaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/pino/'));
`;

describe('commandLogger', () => {
  it('loads pino only for a line at its level, and writes it with its bindings', () => {
    const r = run(`${prelude}
      const log = commandLogger(false);
      const child = log.child({ stage: 'train' }).child({ runId: 'r1' });
      child.debug({ a: 1 }, 'not shown');
      child.info({ a: 2 }, 'not shown either');
      console.log(pinoLoaded());
      child.warn({ a: 3 }, 'shown');
      log.error({ b: 4 }, 'also shown');
      console.log(pinoLoaded());
    `);
    expect(r.stdout).toBe('false\ntrue\n');
    expect(r.lines.map(({ level, msg, a, b, stage, runId }) => ({ level, msg, a, b, stage, runId }))).toEqual([
      { level: 40, msg: 'shown', a: 3, b: undefined, stage: 'train', runId: 'r1' },
      { level: 50, msg: 'also shown', a: undefined, b: 4, stage: undefined, runId: undefined },
    ]);
  });

  it('writes debug lines when verbose', () => {
    const r = run(`${prelude}
      commandLogger(true).child({ stage: 's' }).debug({ n: 1 }, 'detail');
    `);
    expect(r.lines.map(({ level, msg, stage, n }) => ({ level, msg, stage, n }))).toEqual([{ level: 20, msg: 'detail', stage: 's', n: 1 }]);
    // ISO times, as the daemon's JSON log
    expect(r.lines[0]?.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });
});
