import { describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/core/ports.js';
import { chooseLogFormat, fanOutSink, logOutputSink } from '../../../src/app/logging.js';
import { describeLogLine } from '../../../src/app/log-lines.js';

function recorder(): Logger & { records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const at = (level: string) => (obj: object, msg?: string) => void records.push({ level, ...obj, msg });
  const l: Logger & { records: Record<string, unknown>[] } = { records, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => l };
  return l;
}

describe('logOutputSink', () => {
  it('forwards whole lines of each stream on its own, a carriage return ending a line too, blank lines left out, the rest at the end', () => {
    const log = recorder();
    const sink = logOutputSink(log, 'train');
    sink.write('epoch 1\nepo', 'stdout');
    sink.write('warn: x', 'stderr');
    sink.write('ch 2\n\n  \n10%\r50%\r', 'stdout');
    sink.write('\n', 'stderr');
    sink.write('tail without newline', 'stdout');
    sink.end?.();
    expect(log.records.map((r) => [r.stream, r.line])).toEqual([
      ['stdout', 'epoch 1'],
      ['stdout', 'epoch 2'],
      ['stdout', '10%'],
      ['stdout', '50%'],
      ['stderr', 'warn: x'],
      ['stdout', 'tail without newline'],
    ]);
    expect(log.records.every((r) => r.level === 'info' && r.msg === 'output' && r.stage === 'train')).toBe(true);
  });

  it('cuts a line longer than 4 KiB rather than holding it', () => {
    const log = recorder();
    const sink = logOutputSink(log, 's');
    sink.write('x'.repeat(5000), 'stdout');
    expect(log.records).toHaveLength(1);
    expect(String(log.records[0]?.line)).toHaveLength(4097);
  });

  it('fanOutSink writes to each sink and ends each', () => {
    const a = recorder();
    const b = recorder();
    const sink = fanOutSink(logOutputSink(a, 'p'), undefined, logOutputSink(b, 'p'));
    sink.write('half', 'stdout');
    sink.end?.();
    expect([a.records.length, b.records.length]).toEqual([1, 1]);
  });
});

describe('describeLogLine', () => {
  it('says the stage, what happened, why and what went wrong, and the other fields after', () => {
    expect(describeLogLine({ level: 30, msg: 'running stage', stage: 'train', runId: 'r1', runtime: 'img:1', reasons: ['param modified: params.yaml:train'], why: ['params.yaml:train.C changed 1.0 → 0.5'] })).toBe(
      'train: running stage (params.yaml:train.C changed 1.0 → 0.5)  runId=r1 runtime=img:1',
    );
    expect(describeLogLine({ msg: 'stage finished', stage: 'train', runId: 'r1', outcome: 'failed', durationSeconds: 1.25, err: 'exit code 3' })).toBe(
      'train: stage finished: failed after 1.3 s: exit code 3  runId=r1',
    );
    expect(describeLogLine({ msg: 'stage finished', stage: 'a', runId: 'r', outcome: 'ran', durationSeconds: 2 })).toBe('a: stage finished: ran in 2.0 s  runId=r');
    expect(describeLogLine({ msg: 'output', stage: 'train', stream: 'stderr', line: 'loss 0.1' })).toBe('train │ loss 0.1');
    expect(describeLogLine({ msg: 'watching', paths: 3, dirs: ['a', 'b'] })).toBe('watching  paths=3 dirs=["a","b"]');
    expect(describeLogLine({ msg: 'hashing', stage: 'big', path: 'big.bin', files: 1, bytes: 256 * 1024 * 1024 })).toBe('big: hashing big.bin (256.0 MiB)');
    expect(describeLogLine({ msg: 'hashing', stage: 'd', path: 'data', files: 20000, bytes: 2 * 1024 ** 3 })).toBe('d: hashing data (2.0 GiB in 20000 files)');
  });
});

describe('chooseLogFormat', () => {
  it('the flag, else REPROD_LOG_FORMAT, else pretty on a terminal and JSON elsewhere; anything else refused by where it came from', () => {
    expect(chooseLogFormat(undefined, {}, true)).toBe('pretty');
    expect(chooseLogFormat(undefined, {}, false)).toBe('json');
    expect(chooseLogFormat(undefined, { REPROD_LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(chooseLogFormat(undefined, { REPROD_LOG_FORMAT: 'JSON' }, true)).toBe('json');
    expect(chooseLogFormat('json', { REPROD_LOG_FORMAT: 'pretty' }, true)).toBe('json');
    expect(() => chooseLogFormat('yaml', {}, true)).toThrow("--log-format: unknown log format 'yaml' (expected json or pretty)");
    expect(() => chooseLogFormat(undefined, { REPROD_LOG_FORMAT: 'fancy' }, true)).toThrow("REPROD_LOG_FORMAT: unknown log format 'fancy' (expected json or pretty)");
  });
});
