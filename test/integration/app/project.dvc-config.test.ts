/**
 * `.dvc/config` read as DVC reads it: configobj refuses a section or a key
 * named twice, and DVC's schema refuses a key it does not know; each is an
 * error naming the file, the line and the key, and every command refuses the
 * workspace with exit 2 rather than run with a setting silently dropped.
 */
import { describe, expect, it } from 'vitest';
import { reprod, tempDir, writeFiles } from '../../helpers/workspace.js';

const PIPELINE = 'stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n';

async function statusWith(config: string, file = '.dvc/config') {
  using ws = tempDir();
  writeFiles(ws.path, { 'dvc.yaml': PIPELINE, [file]: config });
  return await reprod(ws.path, 'status');
}

describe('.dvc/config as DVC reads it', () => {
  it('a section named twice', async () => {
    const res = await statusWith("[core]\n    remote = a\n['remote \"a\"']\n    url = /tmp/x\n[core]\n    autostage = true\n");
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/\.dvc\/config:5: .*Duplicate section name at line 5: \[core\] is already above/);
  });

  it('a key set twice in one section', async () => {
    const res = await statusWith('[cache]\n    type = copy\n    type = hardlink\n');
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/\.dvc\/config:3: .*Duplicate keyword name at line 3: 'type' is already set in \[cache\]/);
  });

  it('a key DVC does not know, and a value of the wrong type, in config.local too', async () => {
    const unknown = await statusWith('[core]\n    autostage = true\n    remot = a\n');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/\.dvc\/config:3: core\.remot: 'remot' is not an option of the core section/);
    const badType = await statusWith('[core]\n    checksum_jobs = many\n', '.dvc/config.local');
    expect(badType.code).toBe(2);
    expect(badType.stderr).toMatch(/\.dvc\/config\.local:2: core\.checksum_jobs: expected a whole number of at least 1, not 'many'/);
  });

  it('a config DVC writes reads', async () => {
    const res = await statusWith("[core]\n    remote = store\n    autostage = true\n[cache]\n    type = reflink,copy\n['remote \"store\"']\n    url = s3://b/p\n");
    expect(res.code, res.stderr).toBe(0);
  });
});
