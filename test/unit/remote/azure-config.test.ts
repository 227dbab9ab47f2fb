import { describe, expect, it } from 'vitest';
import { parseDvcConfig } from '../../../src/core/dvc-config.js';
import { resolveRemote } from '../../../src/remote/remote-config.js';

function spec(config: string, local = '', env: Record<string, string> = {}) {
  return resolveRemote({ config: parseDvcConfig(config, '.dvc/config'), local: parseDvcConfig(local, '.dvc/config.local'), env, dvcDir: '/ws/.dvc' }, 'az');
}

const URL = `['remote "az"']\n    url = azure://box/some/path/\n`;

describe('azure:// remotes, credentials as DVC reads them', () => {
  it('a connection string from config.local, container and prefix from the url', () => {
    expect(spec(URL, `['remote "az"']\n    connection_string = "AccountName=a;AccountKey=k"\n`)).toEqual({
      kind: 'azure',
      name: 'az',
      url: 'azure://box/some/path/',
      container: 'box',
      prefix: 'some/path',
      auth: { kind: 'connection-string', connectionString: 'AccountName=a;AccountKey=k' },
      credentialSource: '.dvc/config.local',
    });
  });

  it('account_name with account_key or sas_token; else the environment; a name alone is anonymous', () => {
    expect(spec(`${URL}    account_name = acct\n`, `['remote "az"']\n    account_key = K\n`)).toMatchObject({ auth: { kind: 'shared-key', accountName: 'acct', accountKey: 'K' } });
    expect(spec(`${URL}    account_name = acct\n`, `['remote "az"']\n    sas_token = ?sv=1&sig=x\n`)).toMatchObject({ auth: { kind: 'sas', accountName: 'acct', sasToken: 'sv=1&sig=x' } });
    expect(spec(URL, '', { AZURE_STORAGE_ACCOUNT: 'e', AZURE_STORAGE_KEY: 'EK' })).toMatchObject({ auth: { kind: 'shared-key', accountName: 'e', accountKey: 'EK' }, credentialSource: 'environment' });
    expect(spec(URL, '', { AZURE_STORAGE_CONNECTION_STRING: 'cs' })).toMatchObject({ auth: { kind: 'connection-string' }, credentialSource: 'environment' });
    expect(spec(`${URL}    account_name = pub\n`)).toMatchObject({ auth: { kind: 'anonymous', accountName: 'pub' }, credentialSource: 'none (anonymous)' });
    expect(() => spec(URL)).toThrow(/no Azure credentials/);
    expect(() => spec(URL.replace('box/some/path/', '')), 'no container').toThrow(/no container/);
    expect(() => spec(`${URL}    account_key = K\n`), 'a key in the shared file').toThrow(/account_key is set in \.dvc\/config/);
  });
});
