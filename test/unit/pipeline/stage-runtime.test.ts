import { describe, expect, it } from 'vitest';
import type { Stage } from '../../../src/core/types.js';
import type { StageRuntimeSpec } from '../../../src/pipeline/manifests.js';
import { resolveStageRuntime } from '../../../src/pipeline/stage-runtime.js';

function stage(name: string, group = name): Stage {
  return { name, group, cmd: 'true', wdir: '.', deps: [], params: [], outs: [], frozen: false, alwaysChanged: false, source: { file: 'dvc.yaml' } };
}

describe('resolveStageRuntime', () => {
  const specs = (...list: Partial<StageRuntimeSpec>[]): Map<string, StageRuntimeSpec> =>
    new Map(list.map((s) => [s.name ?? '', { name: '', env: {}, source: { file: 'manifests/m.yaml', line: 3 }, ...s }]));
  const folders = (...groups: string[]) => (g: string) => groups.includes(g);

  it('runs on the host, and says why, with no folder and no manifest', () => {
    expect(resolveStageRuntime(stage('prepare'), new Map(), folders())).toEqual({
      kind: 'host',
      reason: 'runs on the host: no stages/prepare/Dockerfile and no manifest',
    });
  });

  it('builds from stages/<group>/ by convention, for every member of a foreach group', () => {
    const r = resolveStageRuntime(stage('gen@small', 'gen'), new Map(), folders('gen'));
    expect(r).toEqual({
      kind: 'container',
      image: { kind: 'build', group: 'gen', context: 'stages/gen', dockerfile: 'Dockerfile', args: {} },
      settings: { network: 'none', env: {} },
      reason: 'runs in the image built from stages/gen/ (convention)',
    });
  });

  it('prefers the entry of the stage name over the group, and applies it whole', () => {
    const s = specs({ name: 'gen', image: 'group-image', network: 'bridge' }, { name: 'gen@big', image: 'big-image', memoryBytes: 1 << 30 });
    const big = resolveStageRuntime(stage('gen@big', 'gen'), s, folders('gen'));
    expect(big).toMatchObject({ kind: 'container', image: { kind: 'image', name: 'big-image' }, settings: { network: 'none', memoryBytes: 1 << 30 } });
    expect(big.reason).toBe('runs in image big-image (manifests/m.yaml:3)');
    const small = resolveStageRuntime(stage('gen@small', 'gen'), s, folders('gen'));
    expect(small).toMatchObject({ image: { kind: 'image', name: 'group-image' }, settings: { network: 'bridge' } });
  });

  it('takes the image from the convention when the manifest only sets limits', () => {
    const r = resolveStageRuntime(stage('train'), specs({ name: 'train', cpus: 2, user: '0:0', env: { A: 'b' } }), folders('train'));
    expect(r).toMatchObject({
      kind: 'container',
      image: { kind: 'build', context: 'stages/train' },
      settings: { network: 'none', cpus: 2, user: '0:0', env: { A: 'b' } },
    });
    expect(r.manifest?.name).toBe('train');
  });

  it('builds from a manifest context', () => {
    const r = resolveStageRuntime(
      stage('train'),
      specs({ name: 'train', build: { context: 'images/train', dockerfile: 'gpu/Dockerfile', args: { X: '1' } } }),
      folders(),
    );
    expect(r).toMatchObject({ image: { kind: 'build', group: 'train', context: 'images/train', dockerfile: 'gpu/Dockerfile', args: { X: '1' } } });
    expect(r.reason).toBe('runs in the image built from images/train/ (manifests/m.yaml:3)');
  });

  it('forces the host with runtime: host, even with a stage folder', () => {
    const r = resolveStageRuntime(stage('train'), specs({ name: 'train', runtime: 'host' }), folders('train'));
    expect(r).toMatchObject({ kind: 'host', reason: 'runs on the host: its manifest says `runtime: host` (manifests/m.yaml:3)' });
  });

  it('runs on the host when a manifest names no image and there is no folder', () => {
    const r = resolveStageRuntime(stage('train'), specs({ name: 'train', retries: { limit: 2, backoffSeconds: 1 } }), folders());
    expect(r).toMatchObject({ kind: 'host', reason: 'runs on the host: no stages/train/Dockerfile, and its manifest (manifests/m.yaml:3) names no image' });
  });

  it('refuses runtime: docker with no image to be found', () => {
    expect(() => resolveStageRuntime(stage('train'), specs({ name: 'train', runtime: 'docker' }), folders())).toThrow(/names no image/);
  });
});
