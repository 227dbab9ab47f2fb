import { describe, expect, it } from 'vitest';
import { k8sLabelValue, k8sMemory, k8sName, splitUser } from '../../../src/export/k8s-names.js';

describe('Kubernetes names', () => {
  it('a valid name stays as it is; others are made valid and keep a hash of the original, so two never collide', () => {
    expect(k8sName('train', 'reprod-demo-')).toBe('reprod-demo-train');
    const a = k8sName('grid@small-0.1');
    const b = k8sName('grid@small_0.1');
    expect(a).toMatch(/^grid-small-0-1-[0-9a-f]{8}$/);
    expect(b).toMatch(/^grid-small-0-1-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
    const long = k8sName('x'.repeat(100));
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('label values, memory quantities and numeric users', () => {
    expect(k8sLabelValue('grid@small-0.1')).toBe('grid_small-0.1');
    expect(k8sLabelValue('y'.repeat(80)).length).toBeLessThanOrEqual(63);
    expect(k8sMemory(512 * 1024 * 1024)).toBe('512Mi');
    expect(k8sMemory(1000)).toBe('1000');
    expect(splitUser('1000:100')).toEqual({ uid: 1000, gid: 100 });
    expect(splitUser('1000')).toEqual({ uid: 1000, gid: 1000 });
    expect(splitUser('nobody')).toBeUndefined();
    expect(splitUser(undefined)).toBeUndefined();
  });
});
