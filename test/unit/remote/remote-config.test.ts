import { describe, expect, it } from 'vitest';
import { parseDvcConfig } from '../../../src/core/dvc-config.js';
import { ReprodError } from '../../../src/core/errors.js';
import { displayUrl, resolveRemote, type RemoteConfigInput } from '../../../src/remote/remote-config.js';

function input(config: string, local = '', env: Record<string, string> = {}): RemoteConfigInput {
  return { config: parseDvcConfig(config, '.dvc/config'), local: parseDvcConfig(local, '.dvc/config.local'), env, dvcDir: '/ws/.dvc' };
}

const DAGSHUB = `[core]
    remote = origin
['remote "origin"']
    url = s3://dvc
    endpointurl = https://dagshub.com/alice/proj.s3
`;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof ReprodError) return e.code;
    throw e;
  }
  return undefined;
}

describe('resolveRemote', () => {
  it('reads a local remote; a relative path is relative to .dvc/, as DVC resolves it', () => {
    const cfg = `[core]\n    remote = here\n['remote "here"']\n    url = ../../store\n['remote "abs"']\n    url = file:///srv/dvc%20store\n`;
    expect(resolveRemote(input(cfg))).toEqual({ kind: 'local', name: 'here', url: '../../store', path: '/store' });
    expect(resolveRemote(input(cfg), 'abs')).toMatchObject({ kind: 'local', path: '/srv/dvc store' });
  });

  it("reads DagsHub's S3 setup: bucket dvc, the repo's .s3 endpoint, the token as both keys in config.local", () => {
    const spec = resolveRemote(input(DAGSHUB, `['remote "origin"']\n    access_key_id = tok123\n    secret_access_key = tok123\n`));
    expect(spec).toEqual({
      kind: 's3',
      name: 'origin',
      url: 's3://dvc',
      bucket: 'dvc',
      prefix: '',
      endpoint: 'https://dagshub.com/alice/proj.s3',
      region: 'us-east-1',
      credentials: { accessKeyId: 'tok123', secretAccessKey: 'tok123' },
      credentialSource: '.dvc/config.local',
      sslVerify: true,
    });
  });

  it('takes credentials, endpoint and region from the environment when the files have none', () => {
    const spec = resolveRemote(
      input(`['remote "s"']\n    url = s3://b/some/prefix/\n`, '', {
        AWS_ACCESS_KEY_ID: 'AK',
        AWS_SECRET_ACCESS_KEY: 'SK',
        AWS_SESSION_TOKEN: 'ST',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9000',
        AWS_DEFAULT_REGION: 'eu-west-1',
      }),
      's',
    );
    expect(spec).toMatchObject({ bucket: 'b', prefix: 'some/prefix', endpoint: 'http://127.0.0.1:9000', region: 'eu-west-1', credentialSource: 'environment' });
    expect(spec.kind === 's3' && spec.credentials).toEqual({ accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'ST' });
  });

  it('prefers config.local over the environment, and config.local keys over config keys', () => {
    const spec = resolveRemote(
      input(`['remote "s"']\n    url = s3://b\n    region = us-west-2\n`, `['remote "s"']\n    region = eu-central-1\n    access_key_id = L\n    secret_access_key = LS\n`, {
        AWS_ACCESS_KEY_ID: 'E',
        AWS_SECRET_ACCESS_KEY: 'ES',
      }),
      's',
    );
    expect(spec).toMatchObject({ region: 'eu-central-1', credentials: { accessKeyId: 'L', secretAccessKey: 'LS' } });
  });

  it("a profile named in the config is the SDK's to read, and is named as the source; else the default chain", () => {
    const env = { AWS_ACCESS_KEY_ID: 'AK', AWS_SECRET_ACCESS_KEY: 'SK' };
    const spec = resolveRemote({ ...input(`['remote "s"']\n    url = s3://b\n    profile = work\n    endpointurl = minio:9000\n    use_ssl = false\n`), env }, 's');
    expect(spec).toMatchObject({ credentialSource: "profile 'work' (.dvc/config)", profile: 'work', endpoint: 'http://minio:9000' });
    expect(spec.kind === 's3' && spec.credentials).toBeUndefined();
    const plain = `['remote "s"']\n    url = s3://b\n`;
    expect(resolveRemote({ ...input(plain), env: { AWS_PROFILE: 'dev' } }, 's')).toMatchObject({ credentialSource: "profile 'dev' (AWS_PROFILE)" });
    expect(resolveRemote({ ...input(plain), env: {} }, 's')).toMatchObject({ credentialSource: 'default chain' });
  });

  it('refuses a secret in the shared .dvc/config, without repeating it', () => {
    const cfg = `${DAGSHUB}    secret_access_key = leaked-token\n`;
    let message = '';
    try {
      resolveRemote(input(cfg));
    } catch (e) {
      message = (e as ReprodError).format();
      expect((e as ReprodError).code).toBe('CONFIG');
    }
    expect(message).toMatch(/config\.local/);
    expect(message).not.toContain('leaked-token');
  });

  it('names what is missing or unsupported', () => {
    expect(code(() => resolveRemote(input('')))).toBe('NO_REMOTE');
    expect(code(() => resolveRemote(input(DAGSHUB), 'nope'))).toBe('NO_REMOTE');
    expect(code(() => resolveRemote(input(`['remote "g"']\n    url = oss://b\n`), 'g'))).toBe('CONFIG');
    expect(code(() => resolveRemote(input(`['remote "g"']\n    url = gs://\n`), 'g'))).toBe('CONFIG');
    expect(code(() => resolveRemote(input(`['remote "g"']\n    url = gs://b\n    allow_anonymous_login = true\n`), 'g'))).toBe('CONFIG');
    expect(code(() => resolveRemote(input(`['remote "g"']\n    url = s3://b\n    version_aware = true\n`), 'g'))).toBe('CONFIG');
    expect(code(() => resolveRemote(input(`['remote "g"']\n    url = s3://b\n`, `['remote "g"']\n    access_key_id = only\n`), 'g'))).toBe('CONFIG');
  });

  it("reads a gs:// remote with DVC's keys: credentialpath (relative to .dvc/, as DVC resolves it), projectname, endpointurl; else the environment", () => {
    const cfg = `['remote "g"']\n    url = gs://bkt/some/prefix/\n    projectname = proj\n    endpointurl = http://127.0.0.1:9/\n`;
    expect(resolveRemote(input(cfg, `['remote "g"']\n    credentialpath = keys/sa.json\n`), 'g')).toEqual({
      kind: 'gs',
      name: 'g',
      url: 'gs://bkt/some/prefix/',
      bucket: 'bkt',
      prefix: 'some/prefix',
      projectId: 'proj',
      keyFilename: '/ws/.dvc/keys/sa.json',
      endpoint: 'http://127.0.0.1:9',
      credentialSource: 'credentialpath keys/sa.json',
    });
    expect(resolveRemote(input(`['remote "g"']\n    url = gs://bkt\n`, '', { GOOGLE_APPLICATION_CREDENTIALS: '/k.json' }), 'g')).toMatchObject({
      prefix: '',
      credentialSource: 'GOOGLE_APPLICATION_CREDENTIALS (/k.json)',
    });
    expect(resolveRemote(input(`['remote "g"']\n    url = gs://bkt\n`), 'g')).toMatchObject({ credentialSource: 'application default credentials' });
  });

  it('reads jobs and ssl_verify', () => {
    expect(resolveRemote(input(`['remote "g"']\n    url = s3://b\n    jobs = 3\n    ssl_verify = false\n`), 'g')).toMatchObject({ jobs: 3, sslVerify: false });
    expect(code(() => resolveRemote(input(`['remote "g"']\n    url = s3://b\n    jobs = many\n`), 'g'))).toBe('CONFIG');
  });
});

describe('displayUrl', () => {
  it('drops user information from URLs', () => {
    expect(displayUrl('https://user:secret@host/path')).toBe('https://host/path');
    expect(displayUrl('https://dagshub.com/a/b.s3')).toBe('https://dagshub.com/a/b.s3');
  });
});
