/**
 * status/*.yaml is reprod's own output, rebuilt from the workspace: one that
 * is not UTF-8 (a torn write, a stray editor) is treated as absent and
 * written again, as an unparsable one is; it never stops a command.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { reprod, tempDir } from '../../helpers/workspace.js';

describe('a status file that is not UTF-8', () => {
  it('is replaced by the next command that writes status', async () => {
    using ws = tempDir();
    writeFileSync(path.join(ws.path, 'dvc.yaml'), 'stages:\n  s:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n');
    mkdirSync(path.join(ws.path, 'status'));
    for (const f of ['s.yaml', 'pipeline.yaml']) writeFileSync(path.join(ws.path, 'status', f), Buffer.from([0x6b, 0x3a, 0x20, 0xff, 0x0a]));
    const res = await reprod(ws.path, '--runtime', 'host', 'repro');
    expect(res.code, res.stderr).toBe(0);
    for (const f of ['s.yaml', 'pipeline.yaml']) {
      const text = readFileSync(path.join(ws.path, 'status', f), 'utf8');
      expect(text).not.toContain('\ufffd');
      expect(text).toMatch(/^apiVersion: /);
    }
  });
});
