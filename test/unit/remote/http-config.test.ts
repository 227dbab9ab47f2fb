import { describe, expect, it } from 'vitest';
import { parseDvcConfig } from '../../../src/core/dvc-config.js';
import { ReprodError } from '../../../src/core/errors.js';
import { resolveRemote } from '../../../src/remote/remote-config.js';

function spec(config: string, local = '') {
  return resolveRemote({ config: parseDvcConfig(config, '.dvc/config'), local: parseDvcConfig(local, '.dvc/config.local'), env: {}, dvcDir: '/ws/.dvc' }, 'r');
}

describe('http(s) and webdav(s) remotes, with DVC keys', () => {
  it("DagsHub's .dvc URL: POST uploads (DVC's default), basic auth with the user name and a token from config.local", () => {
    const s = spec(
      `['remote "r"']\n    url = https://dagshub.com/alice/proj.dvc\n    auth = basic\n`,
      `['remote "r"']\n    user = alice\n    password = tok123\n`,
    );
    expect(s).toEqual({
      kind: 'http',
      name: 'r',
      url: 'https://dagshub.com/alice/proj.dvc',
      dav: false,
      base: 'https://dagshub.com/alice/proj.dvc',
      method: 'POST',
      auth: { kind: 'basic', user: 'alice', password: 'tok123' },
      credentialSource: '.dvc/config.local',
      sslVerify: true,
    });
  });

  it('webdav:// is http with PUT and folders; webdavs:// is https; a token is a bearer token', () => {
    expect(spec(`['remote "r"']\n    url = webdav://h:8080/dav/\n`)).toMatchObject({ dav: true, base: 'http://h:8080/dav', method: 'PUT', credentialSource: 'none configured' });
    expect(spec(`['remote "r"']\n    url = webdavs://h/dav\n`, `['remote "r"']\n    token = T0K\n`)).toMatchObject({
      base: 'https://h/dav',
      auth: { kind: 'header', name: 'authorization', value: 'Bearer T0K' },
    });
  });

  it('method, ssl_verify (false or a CA bundle) and a custom auth header, as DVC reads them', () => {
    expect(spec(`['remote "r"']\n    url = http://h/x\n    method = put\n    ssl_verify = false\n`)).toMatchObject({ method: 'PUT', sslVerify: false });
    expect(spec(`['remote "r"']\n    url = https://h/x\n    ssl_verify = /etc/ca.pem\n`)).toMatchObject({ sslVerify: '/etc/ca.pem' });
    expect(spec(`['remote "r"']\n    url = https://h/x\n    auth = custom\n    custom_auth_header = X-Token\n`, `['remote "r"']\n    password = s\n`)).toMatchObject({
      auth: { kind: 'header', name: 'x-token', value: 's' },
    });
  });

  it('auth = digest takes user and password; ask_password with none stored is marked to be asked, a stored one wins', () => {
    expect(spec(`['remote "r"']\n    url = https://h/x\n    auth = digest\n`, `['remote "r"']\n    user = bob\n    password = pw\n`)).toMatchObject({
      auth: { kind: 'digest', user: 'bob', password: 'pw' },
      credentialSource: '.dvc/config.local',
    });
    const asked = spec(`['remote "r"']\n    url = https://h/x\n    auth = digest\n    user = bob\n    ask_password = true\n`);
    expect(asked).toMatchObject({ auth: { kind: 'digest', user: 'bob', password: '' }, askPassword: { user: 'bob' }, credentialSource: 'the terminal' });
    expect(spec(`['remote "r"']\n    url = webdav://h/x\n    ask_password = true\n`)).toMatchObject({ auth: { kind: 'basic', user: '' }, askPassword: {} });
    const stored = spec(`['remote "r"']\n    url = https://h/x\n    user = bob\n    ask_password = true\n`, `['remote "r"']\n    password = pw\n`);
    expect(stored).toMatchObject({ auth: { kind: 'basic', password: 'pw' }, credentialSource: '.dvc/config.local' });
    expect(stored).not.toHaveProperty('askPassword');
  });

  it('refuses a password in the shared file, digest without a user, and unsupported auth', () => {
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        if (e instanceof ReprodError) return `${e.code}: ${e.message}`;
        throw e;
      }
      return 'no error';
    };
    expect(code(() => spec(`['remote "r"']\n    url = https://h/x\n    password = p\n`))).toMatch(/^CONFIG: remote 'r': password is set in \.dvc\/config/);
    expect(code(() => spec(`['remote "r"']\n    url = https://h/x\n    auth = digest\n`))).toMatch(/auth = digest needs a user and a password/);
    expect(code(() => spec(`['remote "r"']\n    url = https://h/x\n    auth = ntlm\n`))).toMatch(/auth = ntlm is not supported/);
    expect(code(() => spec(`['remote "r"']\n    url = http://h/x\n    method = PATCH\n`))).toMatch(/method must be POST or PUT/);
  });
});
