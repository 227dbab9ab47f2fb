/**
 * Promotion as delivered to a real MLflow file store: an alias with a
 * promotion metric goes to the best-scoring version (higher is better; a tie
 * keeps the holder), and each promoted version records its score.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileStoreBackend } from '../../../../src/adapters/mlflow/file-store.js';
import type { RunHandle } from '../../../../src/adapters/mlflow/backend.js';
import { deliver, metricTagKey, type DeliveryContext } from '../../../../src/adapters/mlflow/outbox-delivery.js';
import type { OutboxOp } from '../../../../src/adapters/mlflow/outbox-ops.js';
import { Redactor } from '../../../../src/adapters/mlflow/redact.js';
import { MemoryLogger, TestClock } from '../../../helpers/mlflow-server.js';
import { tempDir } from '../../../helpers/workspace.js';

describe('promotion delivery', () => {
  it('moves the alias only to a version that scored better than the one holding it', async () => {
    using tmp = tempDir();
    const root = path.join(tmp.path, 'mlruns');
    const backend = new FileStoreBackend({ root, clock: new TestClock() });
    const exp = await backend.experimentId('e');
    const ids = new Map<string, RunHandle>();
    const log = new MemoryLogger();
    const ctx: DeliveryContext = { backend, ids, blobPath: () => '', redactor: new Redactor([]), log, note: () => undefined };
    let seq = 0;
    const send = (op: OutboxOp) => deliver({ seq: ++seq, op, attempted: false }, ctx);

    // three trained versions (md5 m1..m3), each from its own run
    for (const n of [1, 2, 3]) {
      const run = await backend.createRun(exp, { runName: `train-${n}`, startTime: n, tags: [] });
      ids.set(`r${n}`, run);
      await send({ kind: 'registerModel', ref: `r${n}`, versionRef: `v${n}`, name: 'clf', artifactPath: 'model', md5: `m${n}`, tags: [] });
    }
    const promote = (n: number, value: number) => send({ kind: 'promoteModel', ref: `r${n}`, name: 'clf', alias: 'champion', md5: `m${n}`, metric: 'accuracy', value });
    const champion = () => readFileSync(path.join(root, 'models', 'clf', 'aliases', 'champion'), 'utf8');

    await promote(1, 0.8);
    expect(champion()).toBe('1');
    await promote(2, 0.9);
    expect(champion()).toBe('2');
    // worse, then equal: the better version keeps it
    await promote(3, 0.85);
    expect(champion()).toBe('2');
    await promote(1, 0.9);
    expect(champion()).toBe('2');
    expect(log.text()).toContain('model alias kept: its version scored better');
    // every promoted version carries its score, the evidence of the comparison
    const tag = (v: number) => readFileSync(path.join(root, 'models', 'clf', `version-${v}`, 'tags', metricTagKey('accuracy')), 'utf8');
    expect([tag(1), tag(2), tag(3)]).toEqual(['0.9', '0.9', '0.85']);

    // without a metric (an older outbox record), the alias always moves
    await send({ kind: 'promoteModel', ref: 'r3', name: 'clf', alias: 'champion', md5: 'm3' });
    expect(champion()).toBe('3');
  });
});
