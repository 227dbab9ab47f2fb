import { describe, expect, it } from 'vitest';
import { credentialsFrom, stageTrackingEnv, withoutLogin } from '../../../src/app/stage-credentials.js';

const TRACKING = {
  MLFLOW_TRACKING_URI: 'https://alice:pw@mlflow.example.com/prefix',
  MLFLOW_EXPERIMENT_NAME: 'iris',
  MLFLOW_RUN_ID: 'r1',
  MLFLOW_EXPERIMENT_ID: '7',
  MLFLOW_TRACKING_USERNAME: 'alice',
  MLFLOW_TRACKING_PASSWORD: 'pw',
  MLFLOW_TRACKING_TOKEN: 'tok',
};

describe('stage credentials', () => {
  it('keeps the ids and a URI without login, and the credentials only when asked for', () => {
    expect(stageTrackingEnv(TRACKING, [])).toEqual({
      MLFLOW_TRACKING_URI: 'https://mlflow.example.com/prefix',
      MLFLOW_EXPERIMENT_NAME: 'iris',
      MLFLOW_RUN_ID: 'r1',
      MLFLOW_EXPERIMENT_ID: '7',
    });
    expect(stageTrackingEnv(TRACKING, ['aws'])).not.toHaveProperty('MLFLOW_TRACKING_PASSWORD');
    expect(stageTrackingEnv(TRACKING, ['mlflow'])).toEqual({ ...TRACKING, MLFLOW_TRACKING_URI: 'https://mlflow.example.com/prefix' });
  });

  it('takes the asked-for kinds from the environment, set ones only', () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'sk', AWS_SESSION_TOKEN: '', MLFLOW_TRACKING_TOKEN: 'tok', HOME: '/root' };
    expect(credentialsFrom(env, [])).toEqual({});
    expect(credentialsFrom(env, ['aws'])).toEqual({ AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'sk' });
    expect(credentialsFrom(env, ['aws', 'mlflow'])).toEqual({ AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 'sk', MLFLOW_TRACKING_TOKEN: 'tok' });
  });

  it('drops a login from any URL, and leaves other values alone', () => {
    expect(withoutLogin('http://u:p@host:5000/x?y=1')).toBe('http://host:5000/x?y=1');
    expect(withoutLogin('https://token@dagshub.com/a/b.mlflow')).toBe('https://dagshub.com/a/b.mlflow');
    expect(withoutLogin('https://host/path@x')).toBe('https://host/path@x');
    expect(withoutLogin('file:///w/mlruns')).toBe('file:///w/mlruns');
  });
});
