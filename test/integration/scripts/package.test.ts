/**
 * What `npm pack` would ship: the LICENSE package.json names, the built CLI,
 * and no source maps (they would point at src/, which is not shipped).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(import.meta.dirname, '../../..');

describe('the package', () => {
  it('ships LICENSE (the license package.json names), bin and dist, and no source map', () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { license: string };
    expect(readFileSync(path.join(REPO, 'LICENSE'), 'utf8')).toMatch(pkg.license === 'Apache-2.0' ? /Apache License\s+Version 2\.0/ : new RegExp(pkg.license));
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const [packed] = JSON.parse(out) as { files: { path: string }[] }[];
    const files = (packed?.files ?? []).map((f) => f.path);
    expect(files).toContain('LICENSE');
    expect(files).toContain('bin/reprod.js');
    expect(files).toContain('dist/cli/main.js');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files.filter((f) => f.startsWith('src/'))).toEqual([]);
  });
});
