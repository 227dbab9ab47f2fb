import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFORMANCE_ROOT, conformance, locateConformance } from '../../helpers/conformance.js';
import { tempDir } from '../../helpers/workspace.js';

describe('locating the conformance data', () => {
  it('is ../shared/conformance next to the repository, and finds what is there', () => {
    expect(CONFORMANCE_ROOT).toBe(path.resolve(import.meta.dirname, '../../../../shared/conformance'));
    expect(conformance('dvc')).toBe(path.join(CONFORMANCE_ROOT, 'dvc'));
  });

  it('fails naming the expected path when the folder itself is missing', () => {
    using ws = tempDir();
    const root = path.join(ws.path, 'shared', 'conformance');
    expect(() => locateConformance(root, 'dvc', 'a-linear-chain')).toThrow(
      `conformance data not found: expected ${path.join(root, 'dvc', 'a-linear-chain')}; the folder ${root} (../shared/conformance next to the repository) is missing`,
    );
  });

  it('fails naming the expected path when one case is missing', () => {
    using ws = tempDir();
    mkdirSync(path.join(ws.path, 'dvc'));
    expect(() => locateConformance(ws.path, 'dvc', 'no-such-case')).toThrow(
      `conformance data not found: expected ${path.join(ws.path, 'dvc', 'no-such-case')}; ${ws.path} holds no dvc/no-such-case`,
    );
  });
});
