import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseDvcConfig } from '../../../src/core/dvc-config.js';
import { ReprodError } from '../../../src/core/errors.js';
import { checkHostKey } from '../../../src/remote/known-hosts.js';
import { resolveRemote } from '../../../src/remote/remote-config.js';

function spec(config: string, local = '', env: Record<string, string> = { HOME: '/home/me', USER: 'me' }) {
  return resolveRemote({ config: parseDvcConfig(config, '.dvc/config'), local: parseDvcConfig(local, '.dvc/config.local'), env, dvcDir: '/ws/.dvc' }, 'box');
}

describe('ssh:// remotes, with DVC keys', () => {
  it('reads user, host, port and path from the url; keys override it; a relative keyfile is relative to .dvc/', () => {
    expect(spec(`['remote "box"']\n    url = ssh://bob@h.example:2222/srv/dvc/\n    keyfile = ../keys/id\n`)).toEqual({
      kind: 'ssh',
      name: 'box',
      url: 'ssh://bob@h.example:2222/srv/dvc/',
      host: 'h.example',
      port: 2222,
      user: 'bob',
      root: '/srv/dvc',
      keyfile: '/ws/keys/id',
      knownHosts: '/home/me/.ssh/known_hosts',
      credentialSource: 'keyfile ../keys/id',
      timeoutMs: 30_000,
    });
    expect(spec(`['remote "box"']\n    url = ssh://h/d\n    user = carol\n    port = 2200\n    keyfile = ~/.ssh/id\n`)).toMatchObject({ user: 'carol', port: 2200, keyfile: '/home/me/.ssh/id' });
  });

  it('a password only from config.local; the agent unless allow_agent = false; none at all is an error naming what to set', () => {
    expect(spec(`['remote "box"']\n    url = ssh://h/d\n`, `['remote "box"']\n    password = pw\n`)).toMatchObject({ password: 'pw', credentialSource: 'password in .dvc/config.local' });
    expect(spec(`['remote "box"']\n    url = ssh://h/d\n`, '', { USER: 'me', SSH_AUTH_SOCK: '/run/agent' })).toMatchObject({ agent: '/run/agent', credentialSource: 'ssh-agent' });
    let err: unknown;
    try {
      spec(`['remote "box"']\n    url = ssh://h/d\n    allow_agent = false\n`, '', { USER: 'me', SSH_AUTH_SOCK: '/run/agent' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReprodError);
    expect((err as ReprodError).message).toMatch(/no credentials/);
    expect((err as ReprodError).remedy).toContain('reprod remote modify box keyfile');
  });
});

describe('known_hosts', () => {
  const key = Buffer.from('the-server-key-blob');
  const other = Buffer.from('another-key-blob');
  const b64 = key.toString('base64');
  it('finds plain, bracketed and hashed entries; tells an unknown server from a changed key and a revoked one', () => {
    expect(checkHostKey(`h.example ssh-ed25519 ${b64}\n`, 'h.example', 22, key)).toBe('known');
    expect(checkHostKey(`[127.0.0.1]:2222,other ssh-ed25519 ${b64}\n`, '127.0.0.1', 2222, key)).toBe('known');
    expect(checkHostKey(`127.0.0.1 ssh-ed25519 ${b64}\n`, '127.0.0.1', 2222, key)).toBe('unknown');
    const salt = Buffer.from('0123456789abcdefghij');
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('h.example').digest('base64')}`;
    expect(checkHostKey(`# comment\n${hashed} ssh-ed25519 ${b64}\n`, 'h.example', 22, key)).toBe('known');
    expect(checkHostKey(`h.example ssh-ed25519 ${other.toString('base64')}\n`, 'h.example', 22, key)).toBe('changed');
    expect(checkHostKey(`@revoked h.example ssh-ed25519 ${b64}\nh.example ssh-ed25519 ${b64}\n`, 'h.example', 22, key)).toBe('revoked');
    expect(checkHostKey(`h.example ssh-ed25519 ${b64}\n@revoked h.example ssh-ed25519 ${b64}\n`, 'h.example', 22, key)).toBe('revoked');
    expect(checkHostKey('', 'h.example', 22, key)).toBe('unknown');
  });
});
