import { readFileSync } from 'node:fs';

/** reprod's version, from the package.json it ships with (dist/app/ and src/app/ both sit two folders below it). */
export function reprodVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
