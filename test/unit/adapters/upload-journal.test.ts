import { appendFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UploadJournal } from '../../../src/adapters/remote/upload-journal.js';
import { tempDir } from '../../helpers/workspace.js';

describe('UploadJournal (the multipart uploads a run has under way)', () => {
  it('a run that ends with nothing open leaves no file; one cut off leaves its open uploads for the next run', async () => {
    using dir = tempDir();
    const first = new UploadJournal(dir.path, 'remote A');
    await first.started({ key: 'p/files/md5/aa/1', uploadId: 'u1' });
    await first.started({ key: 'p/files/md5/bb/2', uploadId: 'u2' });
    await first.ended('u1');
    // while it runs, another run does not take its uploads
    const meanwhile = new UploadJournal(dir.path, 'remote A');
    expect((await meanwhile.leftovers()).files).toEqual([]);
    first.close();
    expect(readdirSync(dir.path)).toHaveLength(1);

    const next = new UploadJournal(dir.path, 'remote A');
    const { files, uploads } = await next.leftovers();
    expect(files).toHaveLength(1);
    expect([...uploads]).toEqual([['u2', 'p/files/md5/bb/2']]);
    // another remote's journal is not this one's
    expect((await new UploadJournal(dir.path, 'remote B').leftovers()).files).toEqual([]);
    await next.forget(files);
    expect(readdirSync(dir.path)).toEqual([]);

    const clean = new UploadJournal(dir.path, 'remote A');
    await clean.started({ key: 'k', uploadId: 'u3' });
    await clean.ended('u3');
    clean.close();
    expect(readdirSync(dir.path)).toEqual([]);
  });

  it("a live process's journal is left alone, a dead one's is read; a line cut off by a kill is skipped", async () => {
    using dir = tempDir();
    const probe = new UploadJournal(dir.path, 'remote A');
    await probe.started({ key: 'k0', uploadId: 'u0' });
    const own = readdirSync(dir.path)[0] as string;
    const remoteId = own.split('.')[0] as string;
    probe.close();
    await probe.forget([path.join(dir.path, own)]);

    const sleeper = spawn('sleep', ['30']);
    const dead = spawn('true');
    await new Promise((r) => dead.once('exit', r));
    try {
      mkdirSync(dir.path, { recursive: true });
      writeFileSync(path.join(dir.path, `${remoteId}.${sleeper.pid}.aa.jsonl`), '{"key":"live","uploadId":"l1"}\n');
      writeFileSync(path.join(dir.path, `${remoteId}.${dead.pid}.bb.jsonl`), '{"key":"gone","uploadId":"g1"}\n');
      appendFileSync(path.join(dir.path, `${remoteId}.${dead.pid}.bb.jsonl`), '{"key":"half","uploa');
      const { files, uploads } = await new UploadJournal(dir.path, 'remote A').leftovers();
      expect(files.map((f) => path.basename(f))).toEqual([`${remoteId}.${dead.pid}.bb.jsonl`]);
      expect([...uploads]).toEqual([['g1', 'gone']]);
      expect(existsSync(path.join(dir.path, `${remoteId}.${sleeper.pid}.aa.jsonl`))).toBe(true);
    } finally {
      sleeper.kill();
    }
  });
});
