/**
 * Secrets and stage containers, through the whole engine (`reprod repro` on
 * the real engine, tracking to an MLflow stand-in that wants a login):
 * credentials reach a stage only when its manifest asks for them, the
 * tracking URI never carries the login, and known secret values never reach
 * the stage's log or the terminal, even split across chunks of its output.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { busyboxImage, engine } from '../../helpers/docker.js';
import { MlflowTestServer } from '../../helpers/mlflow-server.js';
import { reprod, tempDir } from '../../helpers/workspace.js';

const PASSWORD = 'Pa55-w0rd-XYZZY';
const AWS_SECRET = 'aws-S3CR3T-value';
const AWS_SESSION = 'aws-SESSION-token';
const REMOTE_SECRET = 'dvc-remote-S3CR3T';

const ENV = ['MLFLOW_TRACKING_URI', 'MLFLOW_TRACKING_USERNAME', 'MLFLOW_TRACKING_PASSWORD', 'MLFLOW_EXPERIMENT_NAME', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];
let saved: Record<string, string | undefined> = {};

beforeEach(() => {
  saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));
});

afterEach(() => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

function write(root: string, files: Record<string, string>): void {
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    writeFileSync(path.join(root, p), text);
  }
}

/** The environment a stage printed with `env`, as a map. */
function envOf(text: string): Map<string, string> {
  return new Map(text.split('\n').flatMap((l) => (l.includes('=') ? [[l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]] : [])));
}

describe('stage secrets', () => {
  it('gives credentials only to a stage that asks, strips the login from the URI, and redacts secrets from logs and the terminal', async () => {
    const image = await busyboxImage(await engine());
    await using server = await new MlflowTestServer({ auth: { username: 'alice', password: PASSWORD } }).start();
    using ws = tempDir();
    const loginUri = server.uri.replace('http://', `http://alice:${encodeURIComponent(PASSWORD)}@`);
    Object.assign(process.env, {
      MLFLOW_TRACKING_URI: loginUri,
      MLFLOW_TRACKING_USERNAME: '',
      MLFLOW_TRACKING_PASSWORD: '',
      MLFLOW_EXPERIMENT_NAME: 'secrets',
      AWS_ACCESS_KEY_ID: 'AKIATEST',
      AWS_SECRET_ACCESS_KEY: AWS_SECRET,
      AWS_SESSION_TOKEN: AWS_SESSION,
    });
    // the second half of the password comes a moment after the first: two chunks of the container's output
    const split = 'printf "split: %s" "$(echo "$MLFLOW_TRACKING_PASSWORD" | cut -c1-7)"; sleep 0.5; echo "$MLFLOW_TRACKING_PASSWORD" | cut -c8-';
    write(ws.path, {
      'stages/plain/Dockerfile': `FROM ${image}\n`,
      'stages/asks/Dockerfile': `FROM ${image}\n`,
      'leak.txt': `remote key ${REMOTE_SECRET}\n`,
      '.dvc/config.local': `['remote "store"']\n    secret_access_key = ${REMOTE_SECRET}\n`,
      'manifests/asks.yaml': 'apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: asks}\nspec:\n  credentials: [mlflow, aws]\n',
      // the command with its inner quotes as a YAML double-quoted scalar (JSON's string syntax is one)
      'dvc.yaml':
        'stages:\n' +
        '  plain:\n    cmd: env | sort > plain.txt; env | sort; cat leak.txt\n    deps: [leak.txt]\n    outs: [plain.txt]\n' +
        `  asks:\n    cmd: ${JSON.stringify(`env | sort > asks.txt; env | sort; ${split}`)}\n    outs: [asks.txt]\n`,
    });
    const res = await reprod(ws.path, 'repro');
    expect(res.code, res.stderr).toBe(0);

    // what each container's environment held (the stages' own outputs, not redacted)
    const plain = envOf(readFileSync(path.join(ws.path, 'plain.txt'), 'utf8'));
    for (const k of ['MLFLOW_TRACKING_USERNAME', 'MLFLOW_TRACKING_PASSWORD', 'MLFLOW_TRACKING_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
      expect(plain.has(k), k).toBe(false);
    }
    expect(plain.get('MLFLOW_TRACKING_URI')).toBe(server.uri);
    expect(plain.get('MLFLOW_RUN_ID')).toMatch(/^[0-9a-f]{32}$/);
    expect(plain.get('MLFLOW_EXPERIMENT_ID')).toMatch(/^[0-9]+$/);
    const asks = envOf(readFileSync(path.join(ws.path, 'asks.txt'), 'utf8'));
    expect(asks.get('MLFLOW_TRACKING_USERNAME')).toBe('alice');
    expect(asks.get('MLFLOW_TRACKING_PASSWORD')).toBe(PASSWORD);
    expect(asks.get('AWS_SECRET_ACCESS_KEY')).toBe(AWS_SECRET);
    expect(asks.get('AWS_SESSION_TOKEN')).toBe(AWS_SESSION);
    expect(asks.get('MLFLOW_TRACKING_URI')).toBe(server.uri);

    // what the logs and the terminal show
    const logs = ['plain', 'asks'].map((s) => readFileSync(path.join(ws.path, 'status', 'logs', `${s}.log`), 'utf8'));
    for (const text of [...logs, res.stdout, res.stderr]) {
      for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), AWS_SECRET, AWS_SESSION, REMOTE_SECRET, PASSWORD.slice(0, 7)]) expect(text).not.toContain(secret);
    }
    expect(logs[0]).toContain(`remote key ***\n`);
    expect(logs[1]).toContain('MLFLOW_TRACKING_PASSWORD=***\n');
    expect(logs[1]).toContain('AWS_SECRET_ACCESS_KEY=***\n');
    expect(logs[1]).toContain('split: ***\n');
    expect(res.stdout).toContain('split: ***\n');
  });
});
