import { describe, expect, it } from 'vitest';
import { ReprodError } from '../../../src/core/errors.js';
import type { ChangeReason } from '../../../src/core/types.js';
import type { StageDecision } from '../../../src/app/oneshot.js';
import { formatCheckedOut, formatDecision, formatGc, formatSourceDecision, formatStageStart, formatStatus, formatStatusJson } from '../../../src/cli/format.js';
import { fileStage } from '../../helpers/stages.js';

const modified: ChangeReason = { kind: 'dep', path: 'in.txt', change: 'modified' };

describe('what the commands print', () => {
  it('prints the decisions of repro that no run header or error shows', () => {
    const cases: [StageDecision, string | undefined][] = [
      [{ stage: 's', action: 'skipped' }, "Stage 's' didn't change, skipping"],
      [{ stage: 's', action: 'frozen' }, "Stage 's' is frozen, skipping"],
      [{ stage: 's', action: 'would-run', reasons: [modified, { kind: 'cmd' }] }, "Would run stage 's': dep modified: in.txt; command changed"],
      [{ stage: 's', action: 'restored', reasons: [], runId: 'r' }, "Stage 's' is cached: restored its outputs from the run-cache"],
      [{ stage: 's', action: 'blocked', upstream: 'u' }, "Stage 's' not run: upstream 'u' failed"],
      [{ stage: 's', action: 'ran', reasons: [], runId: 'r' }, undefined],
      [{ stage: 's', action: 'failed', reasons: [], error: new ReprodError('CMD_FAILED', 'boom') }, undefined],
      [{ stage: 's', action: 'cancelled', reasons: [] }, undefined],
    ];
    for (const [d, text] of cases) expect(formatDecision(d), d.action).toBe(text);
  });

  it('heads a run with its reasons (or that it is forced) and each command', () => {
    const stage = fileStage('train', ['in.txt'], ['out'], { cmd: ['a', 'b'] });
    expect(formatStageStart(stage, [modified])).toBe("Running stage 'train' (dep modified: in.txt):\n> a\n> b\n");
    expect(formatStageStart({ ...stage, cmd: 'c' }, [])).toBe("Running stage 'train' (forced):\n> c\n");
  });

  it('prints status for humans and as dvc status --json', () => {
    const stale = [{ stage: fileStage('s', ['in.txt'], []), reasons: [modified] }];
    expect(formatStatus([])).toBe('Data and pipelines are up to date.\n');
    expect(formatStatus(stale)).toBe('s:\n    dep modified: in.txt\n');
    expect(formatStatusJson(stale)).toBe('{"s": [{"changed deps": {"in.txt": "modified"}}]}\n');
  });

  it('lists changed data sources after the stages, in DVC\'s words', () => {
    const stale = [{ stage: fileStage('count', ['data/raw'], []), reasons: [{ kind: 'dep', path: 'data/raw', change: 'modified' } as ChangeReason] }];
    const sources = [
      { file: 'data/raw.dvc', reasons: [{ kind: 'out', path: 'data/raw', change: 'modified' } as ChangeReason] },
      { file: 'm.dvc', reasons: [{ kind: 'out', path: 'm', change: 'not in cache' } as ChangeReason] },
    ];
    expect(formatStatusJson(stale, undefined, sources)).toBe(
      '{"count": [{"changed deps": {"data/raw": "modified"}}], "data/raw.dvc": [{"changed outs": {"data/raw": "modified"}}], "m.dvc": [{"changed outs": {"m": "not in cache"}}]}\n',
    );
    expect(formatStatusJson([], undefined, sources.slice(0, 1))).toBe('{"data/raw.dvc": [{"changed outs": {"data/raw": "modified"}}]}\n');
    expect(formatStatus([], undefined, sources)).toBe('data/raw.dvc:\n    out modified: data/raw\nm.dvc:\n    out not in cache: m\n');
    expect(formatSourceDecision({ file: 'data/raw.dvc', action: 'unchanged' })).toBe("'data/raw.dvc' didn't change, skipping");
    expect(formatSourceDecision({ file: 'data/raw.dvc', action: 'verified', frozen: false })).toBe("Verifying data sources in stage: 'data/raw.dvc'");
    expect(formatSourceDecision({ file: 'data/raw.dvc', action: 'verified', frozen: true })).toBe("Verifying outputs in frozen stage: 'data/raw.dvc'");
  });

  it('reports gc as a dry run unless forced, per place', () => {
    const none = { paths: [], bytes: 0 };
    const res = { cache: ['files/md5/ab/cd'], kept: 3, leftovers: none, remote: { display: 'origin', keys: [], kept: 2 } };
    expect(formatGc(res, false)).toBe(
      'Would remove 1 objects from the cache; 3 in use are kept (dry run: add --force to remove them):\n  files/md5/ab/cd\n' +
        'Nothing to remove from the remote origin: all 2 objects are in use.\n',
    );
    expect(formatGc({ cache: ['k'], kept: 3, leftovers: none }, true)).toBe('Removed 1 objects from the cache; 3 in use are kept.\n');
  });

  it('reports the temporary files gc finds, listed in a dry run, counted when removed', () => {
    const leftovers = { paths: ['.dvc/cache/files/md5/ab/cd.0123abcd.tmp', 'status/.pipeline.yaml.tmp'], bytes: 12 };
    expect(formatGc({ cache: [], kept: 1, leftovers }, false)).toBe(
      'Nothing to remove from the cache: all 1 objects are in use.\n' +
        'Would remove 2 temporary files left by interrupted writes (12 bytes):\n  .dvc/cache/files/md5/ab/cd.0123abcd.tmp\n  status/.pipeline.yaml.tmp\n',
    );
    expect(formatGc({ cache: [], kept: 1, leftovers: { paths: ['x.tmp'], bytes: 3 } }, true)).toBe(
      'Nothing to remove from the cache: all 1 objects are in use.\nRemoved 1 temporary file left by interrupted writes (3 bytes).\n',
    );
  });

  it('prints what checkout and pull replaced (M) and restored (A)', () => {
    expect(formatCheckedOut({ added: ['b.txt', 'raw.txt'], modified: ['d/'] })).toBe('M\td/\nA\tb.txt\nA\traw.txt\n');
    expect(formatCheckedOut({ added: [], modified: [] })).toBe('');
  });
});
