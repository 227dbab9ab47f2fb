import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../../../src/pipeline/manifests.js';

const README = path.resolve(import.meta.dirname, '../../../manifests/README.md');

describe('manifests/README.md', () => {
  it('shows manifests that validate', () => {
    const blocks = [...readFileSync(README, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    expect(blocks).toHaveLength(2);
    const parsed = parseManifests(blocks.map((text, i) => ({ path: `README-${i}.yaml`, text })));
    expect(parsed.stages.get('train')).toMatchObject({ build: { context: 'images/train' }, memoryBytes: 4 * 1024 ** 3, pidsLimit: 1024, network: 'none', credentials: ['mlflow'] });
    expect(parsed.pipeline.maxParallel).toBe(2);
  });
});
