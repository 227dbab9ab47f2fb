import { describe, expect, it } from 'vitest';
import { replay } from '../../../../src/adapters/mlflow/outbox-journal.js';
import type { OutboxOp } from '../../../../src/adapters/mlflow/outbox-ops.js';
import { journalsIn } from '../../../../src/adapters/mlflow/outbox-writers.js';

/** Replaying journal lines: what is pending, the server ids known, the runs still open. */

const h = (runId: string) => ({ runId, experimentId: '1', artifactUri: `mlflow-artifacts:/1/${runId}/artifacts` });
const create = (ref: string, parentRef?: string): OutboxOp => ({ kind: 'createRun', ref, experiment: 'e', runName: ref, startTime: 1, tags: [], ...(parentRef ? { parentRef } : {}) });
const finish = (ref: string): OutboxOp => ({ kind: 'finishRun', ref, status: 'FINISHED', endTime: 2 });
const lines = (...xs: unknown[]) => xs.map((x) => `${JSON.stringify(x)}\n`).join('');

describe('outbox journal replay', () => {
  it('keeps a run open from its creation to its end, across acknowledgements', () => {
    const r = replay(lines({ seq: 1, op: create('p') }, { ack: 1, ids: { p: h('P') } }, { seq: 2, op: create('s', 'p') }, { ack: 2, ids: { s: h('S') } }, { seq: 3, op: finish('s') }));
    expect([...r.open]).toEqual(['p']);
    expect(r.pending).toEqual([{ seq: 3, op: finish('s') }]);
    expect([...r.ids.keys()]).toEqual(['p', 's']);
  });

  it("reads a compacted journal's head: the ids of open runs, the open runs, the journals taken over", () => {
    const r = replay(lines({ ids: { p: h('P') }, open: ['p'], adopted: ['a'.repeat(32)] }, { seq: 7, op: finish('x') }));
    expect([...r.open]).toEqual(['p']);
    expect(r.ids.get('p')).toEqual(h('P'));
    expect(r.adopted).toEqual(['a'.repeat(32)]);
    expect(r.unreadable).toBe(0);
  });

  it('closes a run whose creation the server refused', () => {
    const r = replay(lines({ seq: 1, op: create('p') }, { dead: 1, error: 'refused' }));
    expect([...r.open]).toEqual([]);
    expect(r.pending).toEqual([]);
  });

  it('ignores a torn last line and counts other unreadable ones', () => {
    const r = replay(`${lines({ seq: 1, op: create('p') })}{"nonsense":1}\n{"seq":2,"op":{"kind":"fin`);
    expect(r.unreadable).toBe(1);
    expect(r.pending).toHaveLength(1);
  });

  it('refuses a head whose open runs are not a list of refs', () => {
    expect(replay(lines({ ids: {}, open: [1] })).unreadable).toBe(1);
  });
});

describe('outbox journal names', () => {
  const id = '0123456789abcdef0123456789abcdef';
  it('finds the journals of a folder: new ones by id (a lock alone counts), older ones by pid', () => {
    expect(journalsIn([`journal-${id}.jsonl`, `journal-${id}.lock`, 'journal-42.jsonl', `.journal-${id}.lock.x.tmp`, 'rejected.jsonl', 'blobs'])).toEqual([
      { id, journal: `journal-${id}.jsonl`, lock: `journal-${id}.lock` },
      { id: '42', journal: 'journal-42.jsonl', lock: 'journal-42.lock', legacyPid: 42 },
    ]);
    expect(journalsIn(['journal-7.lock'])).toEqual([{ id: '7', journal: 'journal-7.jsonl', lock: 'journal-7.lock', legacyPid: 7 }]);
    expect(journalsIn([`journal-${'f'.repeat(32)}.lock`])).toEqual([{ id: 'f'.repeat(32), journal: `journal-${'f'.repeat(32)}.jsonl`, lock: `journal-${'f'.repeat(32)}.lock` }]);
  });
});
