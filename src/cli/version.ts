import { readFileSync } from 'node:fs';

/** reprod's version, from its package.json (two levels above both src/cli/ and dist/cli/). */
export function reprodVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const version = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined;
  if (typeof version !== 'string') throw new TypeError("reprod's package.json has no version");
  return version;
}
