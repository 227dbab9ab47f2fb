/**
 * Every text reprod reads from the workspace must be UTF-8: a byte that is
 * not is an ENCODING error naming the file, the line and the column, never a
 * silently replaced character (`readFileSync(…, 'utf8')` turns it into
 * U+FFFD, which would then be hashed, compared and written back).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalWorkspace } from '../../../src/adapters/fs/local-workspace.js';
import { FileLockStore, loadSpec } from '../../../src/app/project.js';
import { ReprodError } from '../../../src/core/errors.js';
import { tempDir } from '../../helpers/workspace.js';

function write(root: string, files: Record<string, string | Buffer>): void {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), content);
  }
}

async function thrown(fn: () => unknown): Promise<ReprodError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof ReprodError) return e;
    throw e;
  }
  throw new Error('expected a ReprodError');
}

const latin1 = (before: string, after = '\n') => Buffer.concat([Buffer.from(before), Buffer.from([0xe9]), Buffer.from(after)]);

describe('files that are not UTF-8', () => {
  it('dvc.yaml', async () => {
    using ws = tempDir();
    write(ws.path, { 'dvc.yaml': latin1('stages:\n  s:\n    cmd: echo caf') });
    const e = await thrown(() => loadSpec(ws.path));
    expect([e.code, e.location, e.message]).toEqual(['ENCODING', 'dvc.yaml:3:18', 'not valid UTF-8 (byte 0xe9)']);
  });

  it('params.yaml and vars files, read for templating', async () => {
    using ws = tempDir();
    write(ws.path, { 'dvc.yaml': 'stages:\n  s:\n    cmd: echo ${lr}\n', 'params.yaml': latin1('lr: 1 # caf') });
    expect((await thrown(() => loadSpec(ws.path))).location).toBe('params.yaml:1:12');
    write(ws.path, { 'dvc.yaml': 'vars: [conf/v.yaml]\nstages:\n  s:\n    cmd: echo ${lr}\n', 'params.yaml': 'lr: 1\n', 'conf/v.yaml': latin1('x: ') });
    expect((await thrown(() => loadSpec(ws.path))).location).toBe('conf/v.yaml:1:4');
  });

  it('a manifest', async () => {
    using ws = tempDir();
    write(ws.path, { 'dvc.yaml': 'stages:\n  s:\n    cmd: echo\n', 'manifests/b.yaml': latin1('kind: Stage\n# caf') });
    const e = await thrown(() => loadSpec(ws.path));
    expect([e.code, e.location]).toEqual(['ENCODING', 'manifests/b.yaml:2:6']);
  });

  it('dvc.lock, and any params file a stage reads', async () => {
    using ws = tempDir();
    write(ws.path, { 'dvc.lock': latin1("schema: '2.0'\nstages:\n  s:\n    cmd: echo caf"), 'other.yaml': latin1('x: 1\ny: ') });
    const wsp = new LocalWorkspace(ws.path);
    const lock = await thrown(() => new FileLockStore(wsp).read());
    expect([lock.code, lock.location]).toEqual(['ENCODING', 'dvc.lock:4:18']);
    expect((await thrown(() => wsp.readText('other.yaml'))).location).toBe('other.yaml:2:4');
    expect(await wsp.readText('absent.yaml')).toBeUndefined();
    write(ws.path, { 'ok.yaml': 'café\n' });
    expect(await wsp.readText('ok.yaml')).toBe('café\n');
  });
});
