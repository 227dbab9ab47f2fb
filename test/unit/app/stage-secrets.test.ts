import { describe, expect, it } from 'vitest';
import { knownSecrets, stageLogRedactor } from '../../../src/app/stage-secrets.js';
import { parseDvcConfig } from '../../../src/core/dvc-config.js';

const LOCAL = `['remote "store"']
    access_key_id = AKIAEXAMPLE
    secret_access_key = s3cr3t/key+1
    session_token = sess-tok
['remote "box"']
    url = ssh://me:ssh-pass@box.example.com/data
    password = box-pw
    ask_password = false
[core]
    remote = store
`;
const CONFIG = `['remote "azure"']
    url = azure://c/p
    connection_string = DefaultEndpointsProtocol=https;AccountKey=azk
['remote "store"']
    url = s3://bucket/path
`;

describe('known secrets of stage logs', () => {
  it('collects the environment\'s and the DVC remotes\' secrets, no identifiers or plain settings', () => {
    const env = {
      MLFLOW_TRACKING_URI: 'https://alice:uri-pw@mlflow.example.com',
      MLFLOW_TRACKING_USERNAME: 'alice',
      MLFLOW_TRACKING_PASSWORD: 'ml-pw',
      MLFLOW_TRACKING_TOKEN: '',
      AWS_ACCESS_KEY_ID: 'AKIAENV',
      AWS_SECRET_ACCESS_KEY: 'env-secret',
      AWS_SESSION_TOKEN: 'env-session',
    };
    const dvc = { local: parseDvcConfig(LOCAL, '.dvc/config.local'), config: parseDvcConfig(CONFIG, '.dvc/config') };
    expect(knownSecrets(env, dvc).sort()).toEqual(
      ['ml-pw', 'env-secret', 'env-session', 'uri-pw', 's3cr3t/key+1', 'sess-tok', 'ssh-pass', 'box-pw', 'DefaultEndpointsProtocol=https;AccountKey=azk'].sort(),
    );
    const r = stageLogRedactor(env, dvc);
    const basic = Buffer.from('alice:ml-pw').toString('base64');
    expect(r.redact(`key s3cr3t%2Fkey%2B1 auth ${basic} AKIAEXAMPLE`)).toBe('key *** auth *** AKIAEXAMPLE');
  });
});
