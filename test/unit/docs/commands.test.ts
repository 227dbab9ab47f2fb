/**
 * Every command the README and docs/ show (lines of ```sh blocks) is run by a
 * test or by .ci/run. Each command is listed here with where it runs; the test
 * checks that the place really contains that invocation, and fails on a
 * command shown in the docs that is listed nowhere.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../../..');

/** command as shown → [file that runs it, strings that file must contain] */
const RUN_BY: Record<string, [string, string[]]> = {
  'bash scripts/setup.sh && docker-compose run --rm reprod repro': ['test/e2e/example-pipeline.test.ts', ["'run', '--rm', 'reprod', 'repro'"]],
  'bash scripts/setup.sh && docker-compose up -d daemon': ['test/e2e/example-pipeline.test.ts', ["'up', '-d', 'daemon'"]],
  'bash scripts/setup.sh && npm test': ['.ci/run', ['bash scripts/setup.sh', 'npm test']],
  'bash scripts/setup.sh': ['.ci/run', ['bash scripts/setup.sh']],
  'npm test': ['.ci/run', ['npm test']],
  'docker-compose run --rm reprod repro': ['test/e2e/example-pipeline.test.ts', ["'run', '--rm', 'reprod', 'repro'"]],
  'docker-compose run --rm reprod status --json': ['test/e2e/example-pipeline.test.ts', ["'run', '--rm', 'reprod', 'status', '--json'"]],
  'docker-compose up -d daemon': ['test/e2e/example-pipeline.test.ts', ["'up', '-d', 'daemon'"]],
  'docker-compose logs daemon': ['test/e2e/example-pipeline.test.ts', ["'logs', 'daemon'"]],
  'reprod -C path/to/ws daemon --port 9465 --debounce-ms 150': ['test/integration/app/daemon.test.ts', ["'-C', root, 'daemon', '--port'", "'--debounce-ms'"]],
  'docker-compose down': ['test/e2e/example-pipeline.test.ts', ["'down'"]],
  'reprod metrics show': ['test/integration/cli/compare-commands.conformance.test.ts', ["table('metrics', 'show')"]],
  'reprod metrics diff': ['test/integration/cli/compare-commands.conformance.test.ts', ["table('metrics', 'diff')"]],
  'reprod params diff': ['test/integration/cli/compare-commands.conformance.test.ts', ["table('params', 'diff')"]],
  'reprod plots show': ['test/integration/cli/compare-commands.conformance.test.ts', ["['plots', 'show']"]],
  'reprod plots diff HEAD': ['test/integration/cli/compare-commands.conformance.test.ts', ["['plots', 'diff', 'HEAD']"]],
  "reprod exp run -S train.C=0.01,0.1,1 -S 'train.model=choice(logistic_regression,random_forest)' -j 2": [
    'test/e2e/experiments.test.ts',
    ["'exp', 'run', '-S', 'train.C=0.01,0.1,1', '-S', 'train.model=choice(logistic_regression,random_forest)', '-j', '2'"],
  ],
  'reprod exp show --sort-by accuracy --sort-order desc': ['test/e2e/experiments.test.ts', ["'exp', 'show', '--sort-by', 'accuracy', '--sort-order', 'desc'"]],
  'reprod dag --md': ['test/integration/cli/compare-commands.conformance.test.ts', ["'dag', '--md'"]],
  'reprod status': ['test/integration/docs/own-project.test.ts', ["onPath('status')"]],
  'reprod repro': ['test/integration/docs/own-project.test.ts', ["onPath('repro')"]],
  'reprod daemon': ['test/integration/docs/own-project.test.ts', ["spawn('reprod', ['daemon'"]],
  'docker run --rm --network host -v /var/run/docker.sock:/var/run/docker.sock -v "$PWD:$PWD" -w "$PWD" reprod/reprod:latest status': [
    'test/integration/docs/own-project.test.ts',
    ['shownCommand(/^docker run /)'],
  ],
  'docker-compose run --rm reprod status': ['test/integration/docs/own-project.test.ts', ["['run', '--rm', 'reprod', 'status']"]],
  'reprod export airflow --out dag.py': ['test/integration/export/airflow-dag.test.ts', ["'export', 'airflow', '--out', 'dag.py'"]],
  'reprod export airflow --data remote --out dag.py': ['test/integration/export/airflow-dag.remote.test.ts', ["'export', 'airflow', '--data', 'remote'", "'--out', 'dag.py'"]],
  'reprod export k8s --namespace ml': ['test/integration/export/airflow-dag.remote.test.ts', ["'export', 'k8s'", "'--namespace', 'ml'"]],
  'reprod pull --run-cache': ['test/integration/export/airflow-dag.remote.test.ts', ["cli('pull', '--run-cache')"]],
  'reprod status --json': ['test/integration/export/airflow-dag.remote.test.ts', ["cli('status', '--json')"]],
  'reprod remote add -d store s3://bucket/path': ['test/integration/cli/remote-config.commands.test.ts', ["'remote', 'add', '-d', 'store', 's3://bucket/path'"]],
  'reprod remote modify store endpointurl https://s3.example.com': ['test/integration/cli/remote-config.commands.test.ts', ["'remote', 'modify', 'store', 'endpointurl', 'https://s3.example.com'"]],
  'reprod remote modify --local store access_key_id AK': ['test/integration/cli/remote-config.commands.test.ts', ["'remote', 'modify', '--local', 'store', 'access_key_id', 'AK'"]],
  'reprod remote modify --local store secret_access_key SK': ['test/integration/cli/remote-config.commands.test.ts', ["'remote', 'modify', '--local', 'store', 'secret_access_key', 'SK'"]],
  'reprod remote list': ['test/integration/cli/remote-config.commands.test.ts', ["'remote', 'list'"]],
  'reprod config -l --show-origin': ['test/integration/cli/remote-config.commands.test.ts', ["'config', '-l', '--show-origin'"]],
  'reprod remote add -d origin s3://dvc': ['test/integration/cli/remote-config.commands.test.ts', ["'remote', 'add', '-d', 'origin', 's3://dvc'"]],
  'reprod remote modify origin endpointurl https://dagshub.com/<owner>/<repo>.s3': ['test/integration/cli/remote-config.commands.test.ts', ["'remote', 'modify', 'origin', 'endpointurl', `https://dagshub.com/${owner}.s3`"]],
  'reprod remote modify --local origin access_key_id <token>': ['test/integration/cli/remote-config.commands.test.ts', ["'remote', 'modify', '--local', 'origin', 'access_key_id', token"]],
  'reprod remote modify --local origin secret_access_key <token>': ['test/integration/cli/remote-config.commands.test.ts', ["'remote', 'modify', '--local', 'origin', 'secret_access_key', token"]],
};

function shownCommands(): { file: string; command: string }[] {
  const files = ['README.md', ...readdirSync(path.join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const out: { file: string; command: string }[] = [];
  for (const file of files) {
    const text = readFileSync(path.join(REPO, file), 'utf8');
    for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
      for (const raw of (block[1] ?? '').split('\n')) {
        const command = raw.replace(/\s+#.*$/, '').trim();
        if (command && !command.startsWith('#')) out.push({ file, command });
      }
    }
  }
  return out;
}

describe('commands shown in the docs', () => {
  it('are each run by a test or by .ci/run', () => {
    const shown = shownCommands();
    expect(shown.length).toBeGreaterThan(3);
    const unlisted = shown.filter((c) => !(c.command in RUN_BY)).map((c) => `${c.file}: ${c.command}`);
    expect(unlisted, 'commands shown in the docs that no test runs').toEqual([]);
    for (const { command } of shown) {
      const [file, needles] = RUN_BY[command] as [string, string[]];
      const text = readFileSync(path.join(REPO, file), 'utf8');
      for (const n of needles) expect(text, `${command}: ${file} should contain ${n}`).toContain(n);
    }
  });
});
