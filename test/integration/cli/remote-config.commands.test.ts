/**
 * `reprod remote` and `reprod config` on real files: the bytes written are
 * the bytes DVC writes for the same commands (the case, and what
 * real DVC 3 wrote for `dvc remote add -d` in the conformance data).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { conformance } from '../../helpers/conformance.js';
import { reprod, tempDir } from '../../helpers/workspace.js';

describe('reprod remote / config', () => {
  it('add -d then modify --local write .dvc/config and .dvc/config.local byte for byte as DVC', async () => {
    using ws = tempDir();
    execFileSync('git', ['init', '-q', ws.path]);
    const add = await reprod(ws.path, 'remote', 'add', '-d', 'store', 's3://b/p');
    expect(add).toMatchObject({ code: 0, stdout: "Setting 'store' as a default remote.\n" });
    const mod = await reprod(ws.path, 'remote', 'modify', '--local', 'store', 'secret_access_key', 'X');
    expect(mod.code).toBe(0);
    expect(readFileSync(path.join(ws.path, '.dvc/config'), 'utf8')).toBe(`[core]\n    remote = store\n['remote "store"']\n    url = s3://b/p\n`);
    expect(readFileSync(path.join(ws.path, '.dvc/config.local'), 'utf8')).toBe(`['remote "store"']\n    secret_access_key = X\n`);
    // the secret stays out of git, and is readable by its owner only
    expect(statSync(path.join(ws.path, '.dvc/config.local')).mode & 0o077).toBe(0);
    expect(execFileSync('git', ['-C', ws.path, 'check-ignore', '.dvc/config.local'], { encoding: 'utf8' }).trim()).toBe('.dvc/config.local');
    const list = await reprod(ws.path, 'config', '-l');
    expect(list.stdout).toBe('remote.store.url=s3://b/p\ncore.remote=store\nremote.store.secret_access_key=***\n');
  });

  it("writes what real DVC wrote for `dvc remote add -d localremote <dir>` after `no_scm`", async () => {
    using ws = tempDir();
    mkdirSync(path.join(ws.path, '.dvc'));
    writeFileSync(path.join(ws.path, '.dvc/config'), readFileSync(conformance('dvc/z-remote-push-pull/input/.dvc/config'), 'utf8').split("['remote")[0] as string);
    expect((await reprod(ws.path, 'remote', 'add', '-d', 'localremote', '/TMP_PATH')).code).toBe(0);
    expect(readFileSync(path.join(ws.path, '.dvc/config'), 'utf8')).toBe(readFileSync(conformance('dvc/z-remote-push-pull/expected/dvc-config-with-remote'), 'utf8'));
  });

  it('refuses a secret in the shared file (exit 2, the command to use, the secret nowhere), and the user-wide levels', async () => {
    using ws = tempDir();
    await reprod(ws.path, 'remote', 'add', 'store', 's3://b/p');
    const before = readFileSync(path.join(ws.path, '.dvc/config'), 'utf8');
    const res = await reprod(ws.path, 'remote', 'modify', 'store', 'secret_access_key', 'S3CR3T');
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('reprod remote modify --local store secret_access_key');
    expect(res.stdout + res.stderr).not.toContain('S3CR3T');
    expect(readFileSync(path.join(ws.path, '.dvc/config'), 'utf8')).toBe(before);
    const global = await reprod(ws.path, 'config', '--global', 'core.autostage', 'true');
    expect(global.code).toBe(2);
    expect(global.stderr).toMatch(/--global: reprod writes only the workspace's/);
  });

  it('list, default, rename and remove; `remote default` with none set exits 1 as DVC', async () => {
    using ws = tempDir();
    await reprod(ws.path, 'remote', 'add', 'a', '../store');
    await reprod(ws.path, 'remote', 'add', 'b', 's3://b');
    expect((await reprod(ws.path, 'remote', 'list')).stdout).toBe(`a\t${ws.path}/.dvc/../../store\nb\ts3://b\n`);
    expect(await reprod(ws.path, 'remote', 'default')).toMatchObject({ code: 1, stdout: 'No default remote set\n' });
    await reprod(ws.path, 'remote', 'default', 'b');
    await reprod(ws.path, 'remote', 'rename', 'b', 'c');
    expect((await reprod(ws.path, 'remote', 'default')).stdout).toBe('c\n');
    await reprod(ws.path, 'remote', 'remove', 'c');
    expect(readFileSync(path.join(ws.path, '.dvc/config'), 'utf8')).toBe(`['remote "a"']\n    url = ../../store\n`);
  });
});

describe('the commands docs/REMOTES.md and docs/DAGSHUB.md show', () => {
  it('REMOTES.md: a default S3 remote, its endpoint, credentials in config.local, then list and config -l', async () => {
    using ws = tempDir();
    for (const args of [
      ['remote', 'add', '-d', 'store', 's3://bucket/path'],
      ['remote', 'modify', 'store', 'endpointurl', 'https://s3.example.com'],
      ['remote', 'modify', '--local', 'store', 'access_key_id', 'AK'],
      ['remote', 'modify', '--local', 'store', 'secret_access_key', 'SK'],
    ]) {
      expect((await reprod(ws.path, ...args)).code, args.join(' ')).toBe(0);
    }
    expect((await reprod(ws.path, 'remote', 'list')).stdout).toBe('store\ts3://bucket/path\n');
    expect((await reprod(ws.path, 'config', '-l', '--show-origin')).stdout).toBe(
      [
        '.dvc/config\tremote.store.url=s3://bucket/path',
        '.dvc/config\tremote.store.endpointurl=https://s3.example.com',
        '.dvc/config\tcore.remote=store',
        '.dvc/config.local\tremote.store.access_key_id=***',
        '.dvc/config.local\tremote.store.secret_access_key=***',
        '',
      ].join('\n'),
    );
  });

  it("DAGSHUB.md: DagsHub's S3 remote, the token in both keys, gives the files that page shows", async () => {
    using ws = tempDir();
    const owner = 'alice/proj';
    const token = 'tok123';
    for (const args of [
      ['remote', 'add', '-d', 'origin', 's3://dvc'],
      ['remote', 'modify', 'origin', 'endpointurl', `https://dagshub.com/${owner}.s3`],
      ['remote', 'modify', '--local', 'origin', 'access_key_id', token],
      ['remote', 'modify', '--local', 'origin', 'secret_access_key', token],
    ]) {
      expect((await reprod(ws.path, ...args)).code, args.join(' ')).toBe(0);
    }
    expect(readFileSync(path.join(ws.path, '.dvc/config'), 'utf8')).toBe(
      `[core]\n    remote = origin\n['remote "origin"']\n    url = s3://dvc\n    endpointurl = https://dagshub.com/alice/proj.s3\n`,
    );
    expect(readFileSync(path.join(ws.path, '.dvc/config.local'), 'utf8')).toBe(`['remote "origin"']\n    access_key_id = tok123\n    secret_access_key = tok123\n`);
  });
});
