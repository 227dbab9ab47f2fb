// Which Debian mirror scripts/base-image.sh debootstraps from, read from apt
// source files laid out in a temporary folder (BASE_APT_ETC).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const script = fileURLToPath(new URL('../../../scripts/base-image.sh', import.meta.url));
const dirs: string[] = [];

/** An apt folder holding `files` (paths relative to it). */
async function aptEtc(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'reprod-apt-'));
  dirs.push(dir);
  await mkdir(join(dir, 'sources.list.d'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

async function printMirror(dir: string, env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await exec('bash', [script, '--print-mirror'], {
    env: { ...process.env, BASE_MIRROR: '', BASE_SUITE: '', ...env, BASE_APT_ETC: dir },
  });
  return stdout.trim();
}

afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('base-image.sh --print-mirror', () => {
  it('reads one-line sources, skipping deb-src, options and other suites', async () => {
    const dir = await aptEtc({
      'sources.list': [
        '# a comment',
        'deb-src http://src.invalid/debian bookworm main',
        'deb http://security.invalid/debian-security bookworm-security main',
        'deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] http://main.invalid/debian bookworm main contrib',
        'deb http://later.invalid/debian bookworm main',
        '',
      ].join('\n'),
    });
    expect(await printMirror(dir)).toBe('http://main.invalid/debian');
  });

  it('reads deb822 sources: first matching stanza, first URI, case-insensitive fields', async () => {
    const dir = await aptEtc({
      'sources.list.d/debian.sources': [
        'Types: deb',
        '# a comment inside a stanza',
        'URIs: http://security.invalid/debian-security',
        'Suites: bookworm-security',
        'Components: main',
        '',
        'Types: deb',
        'URIs: http://off.invalid/debian',
        'Suites: bookworm',
        'Enabled: no',
        '',
        'types: deb-src deb',
        'uris: http://first.invalid/debian http://second.invalid/debian',
        'suites: bookworm bookworm-updates',
        'components: main',
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      ].join('\n'),
      'sources.list.d/other.sources.disabled': 'Types: deb\nURIs: http://ignored.invalid/x\nSuites: bookworm\n',
    });
    expect(await printMirror(dir)).toBe('http://first.invalid/debian');
  });

  it('prefers one-line files, and falls back to deb822 when they lack the suite', async () => {
    const dir = await aptEtc({
      'sources.list': 'deb http://security.invalid/debian-security bookworm-security main\n',
      'sources.list.d/extra.list': 'deb http://list.invalid/debian trixie main\n',
      'sources.list.d/debian.sources': 'Types: deb\nURIs: http://deb822.invalid/debian\nSuites: bookworm\n',
    });
    expect(await printMirror(dir)).toBe('http://deb822.invalid/debian');
    expect(await printMirror(dir, { BASE_SUITE: 'trixie' })).toBe('http://list.invalid/debian');
  });

  it('takes BASE_MIRROR over the sources', async () => {
    const dir = await aptEtc({ 'sources.list': 'deb http://main.invalid/debian bookworm main\n' });
    expect(await printMirror(dir, { BASE_MIRROR: 'http://given.invalid/debian' })).toBe('http://given.invalid/debian');
  });

  it('fails with a remedy when no source serves the suite', async () => {
    const dir = await aptEtc({ 'sources.list': 'deb http://main.invalid/debian bullseye main\n' });
    await expect(printMirror(dir)).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('set BASE_MIRROR'),
    });
  });
});
