// The images `npm run images` makes, checked on the real engine. CI runs
// `npm run images` before the tests (.ci/run); these fail, never skip, when
// an image or the engine is missing.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { baseImage, mlBaseImage, nodeImage, reprodImage, stageImage } from '../../../scripts/image-names.js';

const exec = promisify(execFile);

async function docker(...args: string[]): Promise<string> {
  return (await exec('docker', args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
}

/** Runs `cmd` in `image` the way stage containers run: no network, no capabilities, not root. */
async function runLocked(image: string, ...cmd: string[]): Promise<string> {
  return docker(
    'run', '--rm', '--pull', 'never', '--network', 'none', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
    '--user', '1000:1000', image, ...cmd,
  );
}

describe('images made by npm run images', () => {
  it.each([baseImage, mlBaseImage, nodeImage, reprodImage])('%s exists', async (image) => {
    await expect(docker('image', 'inspect', '--format', '{{.Id}}', image)).resolves.toMatch(/^sha256:/);
  });

  it('each stage of the example pipeline has an image built on ml-base', async () => {
    const mlBaseId = (await docker('image', 'inspect', '--format', '{{.Id}}', mlBaseImage)).trim();
    for (const stage of ['ingest', 'preprocess', 'train', 'evaluate']) {
      const id = (await docker('image', 'inspect', '--format', '{{.Id}}', stageImage(stage))).trim();
      // The stage Dockerfiles add nothing to ml-base: the code comes from the workspace.
      expect(id, stage).toBe(mlBaseId);
    }
  });

  it('ml-base loads scikit-learn and a bundled dataset with no network, as a non-root user', async () => {
    const out = await runLocked(
      mlBaseImage,
      'python3', '-c',
      'import pandas, yaml; from sklearn.datasets import load_breast_cancer; print(load_breast_cancer().data.shape)',
    );
    expect(out.trim()).toBe('(569, 30)');
  });

  it('the Node image runs Node 20 or later, with npm', async () => {
    const out = await runLocked(nodeImage, 'sh', '-c', 'node --version && npm --version');
    const [node, npm] = out.trim().split('\n');
    expect(Number(/^v(\d+)\./.exec(node ?? '')?.[1])).toBeGreaterThanOrEqual(20);
    expect(npm).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("reprod's image resolves its runtime dependencies and reaches the engine through the mounted socket", async () => {
    const script = [
      "const { default: Docker } = await import('dockerode');",
      "await Promise.all(['ajv', 'commander', 'pino', 'xstate', 'yaml'].map((m) => import(m)));",
      'const version = await new Docker().version();',
      'console.log(version.ApiVersion);',
    ].join(' ');
    const out = await docker(
      'run', '--rm', '--pull', 'never', '--network', 'none', '-v', '/var/run/docker.sock:/var/run/docker.sock',
      '--entrypoint', 'node', reprodImage, '--input-type=module', '-e', script,
    );
    expect(out.trim()).toMatch(/^\d+\.\d+$/);
  });
});
