/**
 * The daemon on a workspace with several dvc.yaml files, against the real
 * engine and real files: a dvc.yaml that appears in a new sub-folder is
 * picked up and its stages run (one in a busybox container, in its folder),
 * writing sub/dvc.lock; an edit under sub/ reruns the stages of both files
 * that depend on it. Waiting polls with a deadline for what the daemon
 * writes; it stands in for no logic.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDaemon } from '../../../src/app/daemon.js';
import type { Logger } from '../../../src/core/ports.js';
import { parseLockfile } from '../../../src/lock/lockfile.js';
import { busyboxImage, engine, reprodContainers } from '../../helpers/docker.js';
import { assertStatusFilesValid, tempDir, writeFiles } from '../../helpers/workspace.js';

let docker: Docker;
let image: string;

beforeAll(async () => {
  docker = await engine();
  image = await busyboxImage(docker);
});

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const read = (root: string, p: string): string | undefined => (existsSync(path.join(root, p)) ? readFileSync(path.join(root, p), 'utf8') : undefined);

function phase(root: string, stage: string): string | undefined {
  const text = read(root, `status/${stage}.yaml`);
  return text === undefined ? undefined : (parse(text) as { status?: { phase?: string } }).status?.phase;
}

async function waitFor<T>(what: string, probe: () => T | undefined | false, lines: string[], timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${lines.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 40));
  }
}

function keptLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const make = (b: Record<string, unknown>): Logger => {
    const at = (level: string) => (obj: object, msg?: string) => void lines.push(`${level} ${msg ?? ''} ${JSON.stringify({ ...b, ...obj })}`);
    return { debug: () => undefined, info: at('info'), warn: at('warn'), error: at('error'), child: (c) => make({ ...b, ...c }) };
  };
  return Object.assign(make({}), { lines });
}

const SUB_PIPELINE = [
  'stages:',
  '  inner:',
  '    cmd: wc -l < sin.txt > inner.txt',
  '    deps: [sin.txt]',
  '    outs: [inner.txt]',
  '  usetop:',
  '    cmd: cat ../top.txt sin.txt > both.txt',
  '    deps: [../top.txt, sin.txt]',
  '    outs: [both.txt]',
  '',
].join('\n');

describe('reprod daemon with nested dvc.yaml files', () => {
  it('picks up a dvc.yaml in a new folder, runs its stages in their folder, and follows edits across files', async () => {
    using ws = tempDir('reprod-daemon-nested-');
    writeFiles(ws.path, {
      '.dvc/config': '',
      'data/in.txt': 'alpha\n',
      'dvc.yaml': [
        'stages:',
        '  top:',
        '    cmd: tr a-z A-Z < data/in.txt > top.txt',
        '    deps: [data/in.txt]',
        '    outs: [top.txt]',
        '  report:',
        '    cmd: cat sub/inner.txt > report.txt',
        '    deps: [sub/inner.txt]',
        '    outs: [report.txt]',
        '',
      ].join('\n'),
      // the nested stage runs in a container, named by its address
      'manifests/stages.yaml': `apiVersion: reprod.dev/v1\nkind: Stage\nmetadata: {name: "sub/dvc.yaml:inner"}\nspec: {image: "${image}"}\n`,
    });
    const log = keptLogger();
    const ac = new AbortController();
    const done = runDaemon({ root: ws.path, runtime: 'auto', log, debounceMs: 50, http: null, tracking: false }, ac.signal);
    try {
      // report's dep does not exist yet: it fails, top runs
      await waitFor('top to run', () => read(ws.path, 'top.txt') === 'ALPHA\n' && phase(ws.path, 'top') === 'UpToDate', log.lines);

      writeFiles(ws.path, { 'sub/sin.txt': 'one\ntwo\n', 'sub/dvc.yaml': SUB_PIPELINE });
      await waitFor('the new pipeline to run', () => read(ws.path, 'sub/both.txt') === 'ALPHA\none\ntwo\n' && read(ws.path, 'report.txt') === '2\n', log.lines);
      await waitFor('sub/dvc.lock with both stages', () => parseLockfile(read(ws.path, 'sub/dvc.lock') ?? '').stages.size === 2, log.lines);
      const sub = parseLockfile(read(ws.path, 'sub/dvc.lock') ?? '');
      expect(sub.stages.get('inner')?.deps).toEqual([{ path: 'sin.txt', hash: 'md5', md5: md5('one\ntwo\n'), size: 8 }]);
      expect(sub.stages.get('usetop')?.deps[0]).toEqual({ path: '../top.txt', hash: 'md5', md5: md5('ALPHA\n'), size: 6 });
      // report's entry is committed after its output is written
      await waitFor('report in the root dvc.lock', () => parseLockfile(read(ws.path, 'dvc.lock') ?? '').stages.has('report'), log.lines);
      expect([...parseLockfile(read(ws.path, 'dvc.lock') ?? '').stages.keys()]).toEqual(['top', 'report']);
      await waitFor('the nested stage’s status', () => phase(ws.path, 'sub/dvc.yaml:inner') === 'UpToDate', log.lines);
      const inner = parse(read(ws.path, 'status/sub/dvc.yaml:inner.yaml') ?? '') as { spec: { runtime: { kind: string } } };
      expect(inner.spec.runtime.kind).toBe('docker');

      // an edit under sub/: inner, usetop and the root's report follow
      writeFiles(ws.path, { 'sub/sin.txt': 'one\ntwo\nthree\n' });
      await waitFor('the reruns', () => read(ws.path, 'report.txt') === '3\n' && read(ws.path, 'sub/both.txt') === 'ALPHA\none\ntwo\nthree\n', log.lines);
      await waitFor('sub/dvc.lock updated', () => parseLockfile(read(ws.path, 'sub/dvc.lock') ?? '').stages.get('inner')?.deps[0]?.md5 === md5('one\ntwo\nthree\n'), log.lines);

      // a dvc.yaml in a folder nothing watched led to before, two levels down
      writeFiles(ws.path, { 'extra/deep/dvc.yaml': 'stages:\n  mk:\n    cmd: echo made > made.txt\n    outs: [made.txt]\n' });
      await waitFor('the stage of extra/deep/dvc.yaml', () => read(ws.path, 'extra/deep/made.txt') === 'made\n' && phase(ws.path, 'extra/deep/dvc.yaml:mk') === 'UpToDate', log.lines);
      await waitFor('extra/deep/dvc.lock', () => parseLockfile(read(ws.path, 'extra/deep/dvc.lock') ?? '').stages.has('mk'), log.lines);

      // the file removed: its stages leave the pipeline, the root's report is stale again but its lock entry stays
      rmSync(path.join(ws.path, 'sub/dvc.yaml'));
      await waitFor('the pipeline without sub/', () => {
        const p = parse(read(ws.path, 'status/pipeline.yaml') ?? '') as { spec?: { stages?: string[] } };
        return p.spec?.stages?.join(',') === 'top,report,extra/deep/dvc.yaml:mk';
      }, log.lines);
    } finally {
      ac.abort();
      await done;
    }
    expect(await reprodContainers(docker, ws.path)).toEqual([]);
    assertStatusFilesValid(ws.path);
  });
});
