import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OutboxJournal } from '../../../../src/adapters/mlflow/outbox-journal.js';
import { tempDir } from '../../../helpers/workspace.js';

/**
 * reprod as root (its compose container) in a workspace someone else owns:
 * the MLflow outbox's files (the journal, its lock, a compacted journal and
 * the blobs) belong to the outbox folder's owner, as reprod's other files
 * there, so that the user can remove or deliver them later.
 */

const OWNER = { uid: 1234, gid: 1234 };

function tree(dir: string, rel = ''): { p: string; uid: number }[] {
  const out: { p: string; uid: number }[] = [];
  for (const name of readdirSync(path.join(dir, rel))) {
    const p = rel ? `${rel}/${name}` : name;
    const st = lstatSync(path.join(dir, p));
    out.push({ p, uid: st.uid });
    if (st.isDirectory()) out.push(...tree(dir, p));
  }
  return out;
}

describe('the MLflow outbox as root in another user\'s workspace', () => {
  it('gives its journal, lock, compacted journal and blobs to the folder\'s owner', async () => {
    expect(process.getuid?.()).toBe(0);
    using ws = tempDir();
    const dir = path.join(ws.path, 'outbox');
    mkdirSync(path.join(dir, 'blobs'), { recursive: true });
    writeFileSync(path.join(ws.path, 'artifact.txt'), 'logged\n');
    execFileSync('chown', ['-R', `${OWNER.uid}:${OWNER.gid}`, ws.path]);

    const { journal } = await OutboxJournal.open(dir, { pid: process.pid, hostname: os.hostname() });
    const op = { kind: 'createRun' as const, ref: 'r1', experiment: 'e', runName: 'pass', startTime: 0, tags: [] };
    await journal.appendOp({ seq: 1, op });
    await journal.putBlob(path.join(ws.path, 'artifact.txt'));
    await journal.putBlobData('{"a": 1}\n');
    const before = tree(dir);
    // compaction rewrites the journal through a temporary file
    await journal.compact([{ seq: 1, op }], new Map());
    const after = tree(dir);
    await journal.close({ remove: false });

    for (const files of [before, after]) {
      expect(files.filter((f) => f.p.endsWith('.jsonl'))).toHaveLength(1);
      expect(files.filter((f) => f.p.endsWith('.lock'))).toHaveLength(1);
      expect(files.filter((f) => f.p.startsWith('blobs/'))).toHaveLength(2);
      expect(files.filter((f) => f.uid !== OWNER.uid)).toEqual([]);
    }
  });
});
